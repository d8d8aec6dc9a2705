package campaigns_test

import (
	"bytes"
	"encoding/csv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"carillon/campaigns"
	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
)

// The funnel adds up: every recipient is one message, counted once as sent,
// suppressed (with its reason), queued, held or cancelled; opens, clicks and
// unsubscribes come from the timeline and consents.
func TestStatsAddUp(t *testing.T) {
	t.Parallel()
	l := setupLive(t, campaigns.Config{})
	l.addContacts(t, 1, 4, nil)                              // SMS with consent: sent, then delivered by receipt
	l.addContacts(t, 5, 1, func(i int, in *contacts.Input) { // no SMS consent: goes by email
		in.Consents = map[string]bool{"email": true}
		in.Email = ptr("c5@example.com")
	})
	l.addContacts(t, 6, 1, func(i int, in *contacts.Input) { in.Phone = nil })    // no address
	l.addContacts(t, 7, 1, func(i int, in *contacts.Input) { in.Consents = nil }) // no consent
	l.addContacts(t, 8, 1, nil)                                                   // opted out: address suppressed
	_, err := l.db.Pool.Exec(l.ctx, `INSERT INTO suppressions (channel, address, reason, source) VALUES ('sms', '+8613800000008', 'unsubscribe', 'test')`)
	require.NoError(t, err)
	c9 := l.addContacts(t, 9, 1, nil)[0] // over the frequency cap
	require.NoError(t, pgx.BeginFunc(l.ctx, l.db.Pool, func(tx pgx.Tx) error {
		_, err := l.delivery.Enqueue(l.ctx, tx, []delivery.Planned{
			{DedupeKey: "earlier:1", ContactID: c9, Source: "test", Purpose: "marketing", TemplateKey: templateKey, Channels: toCh("sms"), SendAt: l.clock.Now().Add(time.Hour)},
			{DedupeKey: "earlier:2", ContactID: c9, Source: "test", Purpose: "marketing", TemplateKey: templateKey, Channels: toCh("sms"), SendAt: l.clock.Now().Add(time.Hour)},
		})
		if err != nil {
			return err
		}
		_, err = tx.Exec(l.ctx, `UPDATE messages SET status = 'sent' WHERE source = 'test'`)
		return err
	}))

	c := l.approved(t, campaigns.Input{Channels: &[]string{"sms", "email"}})
	_, err = l.svc.Start(l.ctx, l.users["mk"], c.ID)
	require.NoError(t, err)
	l.waitStatus(t, c.ID, campaigns.StatusCompleted)
	// Receipts make the SMS delivered.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		require.NoError(t, l.db.Pool.QueryRow(l.ctx, `SELECT count(*) FROM messages WHERE source = 'campaign_run' AND status = 'delivered'`).Scan(&n))
		if n == 4 {
			break
		}
		require.True(t, time.Now().Before(deadline), "%d delivered", n)
		time.Sleep(50 * time.Millisecond)
	}
	var email int64
	require.NoError(t, l.db.Pool.QueryRow(l.ctx, `SELECT id FROM messages WHERE source = 'campaign_run' AND channel = 'email'`).Scan(&email))
	links := l.delivery.Links()
	require.NoError(t, l.delivery.Opened(l.ctx, links.Token(delivery.LinkOpen, email)))
	require.NoError(t, l.delivery.Opened(l.ctx, links.Token(delivery.LinkOpen, email)))
	_, err = l.delivery.Clicked(l.ctx, links.TokenAt(delivery.LinkClick, email, 0))
	require.NoError(t, err)
	require.NoError(t, l.delivery.Unsubscribe(l.ctx, l.contacts, links.Token(delivery.LinkUnsubscribe, email)))

	st, err := l.svc.Stats(l.ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, st.Runs, 1)
	all := st.Total.All
	require.EqualValues(t, 9, st.Total.Targeted)
	require.EqualValues(t, 9, st.Total.Written)
	require.EqualValues(t, 9, all.Messages)
	require.EqualValues(t, 5, all.Sent)
	require.EqualValues(t, 4, all.Delivered)
	require.EqualValues(t, 4, all.Suppressed)
	require.Equal(t, map[string]int64{"no_address": 1, "no_consent": 1, "opted_out": 1, "frequency_cap": 1}, all.SuppressedBy)
	require.EqualValues(t, 1, all.Opened)
	require.EqualValues(t, 1, all.Clicked)
	require.EqualValues(t, 1, all.Unsubscribed)
	require.Equal(t, all.Messages, all.Queued+all.Held+all.Sent+all.Suppressed+all.Cancelled, "every message counted once")
	require.Equal(t, 0.8, all.Rates.Delivery)
	require.Equal(t, 0.2, all.Rates.Unsubscribe)
	require.Len(t, st.Total.ByChannel, 2)
	sms, mail := st.Total.ByChannel[0], st.Total.ByChannel[1]
	require.Equal(t, "sms", sms.Channel)
	require.EqualValues(t, 8, sms.Messages)
	require.EqualValues(t, 4, sms.Delivered)
	require.Equal(t, 1.0, sms.Rates.Delivery)
	require.Equal(t, "email", mail.Channel)
	require.EqualValues(t, 1, mail.Sent)
	require.Equal(t, all, st.Runs[0].All)

	var buf bytes.Buffer
	require.NoError(t, st.WriteCSV(&buf))
	recs, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 1+3+3) // header, the run (all, sms, email), the total (all, sms, email)
	head := recs[0]
	col := func(name string) int {
		for i, h := range head {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	require.Equal(t, "all", recs[4][col("run")])
	require.Equal(t, "9", recs[4][col("targeted")])
	require.Equal(t, "1", recs[4][col("suppressed_opted_out")])
	require.Equal(t, "0.8000", recs[4][col("delivery_rate")])
}

func toCh(cs ...string) []channels.Channel {
	out := make([]channels.Channel, len(cs))
	for i, c := range cs {
		out[i] = channels.Channel(c)
	}
	return out
}
