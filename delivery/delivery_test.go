package delivery_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/internal/pgtest"
	"carillon/internal/testclock"
	"carillon/templates"
)

func TestEnqueuedMessageIsDeliveredAndItsReceiptReachesTheTimeline(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	c1 := h.contact(t, "C1")
	res := h.enqueue(t, planned("t:1", c1.ID, channels.PurposeService, channels.SMS))
	require.Len(t, res.IDs, 1)
	h.waitFor(t, res.IDs[0], "delivered")
	// A receipt can be applied before the worker records its send: order may vary.
	require.ElementsMatch(t, []string{"message.sent", "message.delivered"}, h.kinds(t, c1.ID))
	require.Equal(t, 1, h.built.Sandboxes["ali"].Recorder().SendsOf(itoa(res.IDs[0])))

	again := h.enqueue(t, planned("t:1", c1.ID, channels.PurposeService, channels.SMS))
	require.Empty(t, again.IDs)
	require.Equal(t, []string{"t:1"}, again.Duplicates, "planning twice inserts nothing")
}

func TestPolicyAtSendTime(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	c1, c2, c3, c4 := h.contact(t, "C1"), h.contact(t, "C2"), h.contact(t, "C3"), h.contact(t, "C4")
	cases := []struct {
		name    string
		p       delivery.Planned
		status  string
		reason  string
		channel string
	}{
		{"marketing with consent", planned("p:1", c1.ID, channels.PurposeMarketing, channels.SMS), "delivered", "", "sms"},
		{"marketing without sms consent falls to email", planned("p:2", c4.ID, channels.PurposeMarketing, channels.SMS, channels.Email), "sent", "", "email"},
		{"no consent anywhere", planned("p:3", c2.ID, channels.PurposeMarketing, channels.SMS, channels.Email), "suppressed", "no_channel", ""},
		{"service needs no consent", planned("p:4", c2.ID, channels.PurposeService, channels.SMS), "delivered", "", "sms"},
		{"deceased contact", planned("p:5", c3.ID, channels.PurposeService, channels.SMS), "cancelled", "contact_deceased", ""},
		{"wechat carries no marketing", planned("p:6", c4.ID, channels.PurposeMarketing, channels.WeChat), "suppressed", "no_channel", ""},
		{"no template variant falls through", func() delivery.Planned {
			p := planned("p:7", c4.ID, channels.PurposeService, channels.WeChat, channels.Email)
			p.TemplateKey = "no_wechat"
			return p
		}(), "sent", "", "email"},
	}
	ids := map[string]int64{}
	for _, tc := range cases {
		res := h.enqueue(t, tc.p)
		require.Len(t, res.IDs, 1, tc.name)
		ids[tc.name] = res.IDs[0]
	}
	for _, tc := range cases {
		m := h.waitFor(t, ids[tc.name], tc.status)
		require.Equal(t, tc.reason, m.Reason, tc.name)
		require.Equal(t, tc.channel, m.Channel, tc.name)
	}
	// Each outcome is in the timeline with its reason.
	page := h.kinds(t, c2.ID)
	require.Contains(t, page, "message.suppressed")
}

func TestFrequencyCapAcrossSources(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{cfg: delivery.Config{FrequencyCap: 2}})
	c1 := h.contact(t, "C1")
	var ids []int64
	for i, src := range []string{"campaign:1", "campaign:2", "campaign:3"} {
		p := planned("cap:"+src, c1.ID, channels.PurposeMarketing, channels.SMS)
		p.Source = src
		res := h.enqueue(t, p)
		ids = append(ids, res.IDs...)
		h.waitFor(t, res.IDs[0], "delivered", "suppressed")
		_ = i
	}
	require.Equal(t, "delivered", h.message(t, ids[0]).Status)
	require.Equal(t, "delivered", h.message(t, ids[1]).Status)
	third := h.message(t, ids[2])
	require.Equal(t, "suppressed", third.Status)
	require.Equal(t, "frequency_cap", third.Reason)
}

func TestQuietHoursDeferToTheWindowOpening(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	h.clock.Set(testclock.Date(2026, 11, 30, 13, 30, 0, time.UTC)) // 21:30 in Shanghai, 08:30 in New York
	c1, c5 := h.contact(t, "C1"), h.contact(t, "C5")
	sh := h.enqueue(t, planned("q:1", c1.ID, channels.PurposeMarketing, channels.SMS))
	ny := h.enqueue(t, planned("q:2", c5.ID, channels.PurposeService, channels.SMS))
	require.Equal(t, "quiet_hours", waitReason(t, h, sh.IDs[0]))
	var sendAt time.Time
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT send_at FROM messages WHERE id = $1`, sh.IDs[0]).Scan(&sendAt))
	require.Equal(t, testclock.Date(2026, 12, 1, 1, 0, 0, time.UTC), sendAt.UTC(), "09:00 next morning in Shanghai")
	h.waitFor(t, ny.IDs[0], "delivered") // 08:30 in New York is inside service hours (08:00–21:00)
}

func waitReason(t *testing.T, h *harness, id int64) string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := h.message(t, id)
		if m.Status != "sending" && (m.Reason != "" || m.Status != "queued") {
			return m.Reason
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPlannersNoteReachesTheTimeline(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	c1 := h.contact(t, "C1")
	p := planned("note:1", c1.ID, channels.PurposeService, channels.SMS)
	p.Vars = map[string]any{delivery.NoteVar: "lunar 30th greeted on the 29th"}
	res := h.enqueue(t, p)
	require.Len(t, res.IDs, 1)
	h.waitFor(t, res.IDs[0], "delivered")
	var notes []string
	rows, err := h.db.Pool.Query(h.ctx, `SELECT data->>'note' FROM contact_events WHERE contact_id = $1 AND kind = 'message.sent'`, c1.ID)
	require.NoError(t, err)
	for rows.Next() {
		var n *string
		require.NoError(t, rows.Scan(&n))
		require.NotNil(t, n, "the sent event carries the note")
		notes = append(notes, *n)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"lunar 30th greeted on the 29th"}, notes)
}

// A short job timeout (a deployment rescuing stuck jobs after seconds) still
// sends: the margin kept for recording shrinks with the job's time.
func TestShortJobTimeoutStillSends(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{cfg: delivery.Config{JobTimeout: 3 * time.Second}})
	c1 := h.contact(t, "C1")
	res := h.enqueue(t, planned("short:1", c1.ID, channels.PurposeService, channels.SMS))
	require.Len(t, res.IDs, 1)
	h.waitFor(t, res.IDs[0], "delivered")
}

// The cap counts what reached the customer within the window by its send
// time: a message queued long ago and sent yesterday counts, and so does a
// fallback sent after its parent failed (once for the chain).
func TestFrequencyCapCountsBySendTimeAndFallbacks(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{cfg: delivery.Config{FrequencyCap: 1}})
	now := h.clock.Now()
	insert := func(key string, contact int64, status string, created, sent time.Time, parent *int64) int64 {
		var id int64
		require.NoError(t, h.db.Pool.QueryRow(h.ctx, `INSERT INTO messages (dedupe_key, contact_id, source, purpose, template_key, channels, channel, status,
			send_at, created_at, updated_at, sent_at, parent_id) VALUES ($1, $2, 'campaign_run', 'marketing', 'birthday', '{sms}', 'sms', $3, $4, $4, $5, $5, $6)
			RETURNING id`, key, contact, status, created, sent, parent).Scan(&id))
		return id
	}
	// Only C1 takes marketing SMS in the harness: each case clears C1's past
	// messages, writes its own, then sends one new message.
	c1 := h.contact(t, "C1")
	cases := []struct {
		name string
		past func()
		want string
	}{
		{"created ten days ago, sent yesterday", func() {
			insert("old:1", c1.ID, "delivered", now.Add(-240*time.Hour), now.Add(-24*time.Hour), nil)
		}, "suppressed"},
		{"WeChat failed, its SMS fallback delivered", func() {
			root := insert("chain:1", c1.ID, "failed", now.Add(-24*time.Hour), now.Add(-24*time.Hour), nil)
			insert("chain:1:fallback", c1.ID, "delivered", now.Add(-24*time.Hour), now.Add(-23*time.Hour), &root)
		}, "suppressed"},
		{"sent nine days ago, outside the window", func() {
			insert("old:3", c1.ID, "delivered", now.Add(-216*time.Hour), now.Add(-216*time.Hour), nil)
		}, "delivered"},
	}
	for i, c := range cases {
		_, err := h.db.Pool.Exec(h.ctx, `DELETE FROM messages WHERE contact_id = $1 AND status <> 'suppressed'`, c1.ID)
		require.NoError(t, err)
		c.past()
		res := h.enqueue(t, planned(fmt.Sprintf("capnew:%d", i), c1.ID, channels.PurposeMarketing, channels.SMS))
		require.Len(t, res.IDs, 1)
		m := h.waitFor(t, res.IDs[0], "delivered", "suppressed")
		require.Equal(t, c.want, m.Status, "%s: %s", c.name, m.Reason)
		if c.want == "suppressed" {
			require.Equal(t, "frequency_cap", m.Reason, c.name)
		}
	}
}

// A message pinned to a template version is rendered with that version even
// after another is activated (a campaign's approved text), and its fallback
// keeps the pin.
func TestPinnedTemplateVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{})
	c1 := h.contact(t, "C1")
	var active int
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT active_version FROM templates WHERE key = 'birthday'`).Scan(&active))
	p := planned("pin:1", c1.ID, channels.PurposeService, channels.SMS)
	p.TemplateVersion = active
	res := h.enqueue(t, p)
	require.Len(t, res.IDs, 1)
	var pinned int
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT template_version FROM messages WHERE id = $1`, res.IDs[0]).Scan(&pinned))
	require.Equal(t, active, pinned)
	h.waitFor(t, res.IDs[0], "delivered")
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT template_version FROM messages WHERE id = $1`, res.IDs[0]).Scan(&pinned))
	require.Equal(t, active, pinned, "rendered with the pinned version")

	bad := planned("pin:2", c1.ID, channels.PurposeService, channels.SMS)
	bad.TemplateVersion = 999
	res = h.enqueue(t, bad)
	m := h.waitFor(t, res.IDs[0], "failed", "suppressed")
	require.NotEqual(t, "delivered", m.Status, "a version that does not exist is never replaced by the active one")
}

// The template renderer renders a pinned version, not the active one.
func TestTemplateRendererRendersThePinnedVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	st, err := templates.NewStore(db.Pool, templates.Config{})
	require.NoError(t, err)
	def := templates.Definition{Key: "offer", Purpose: templates.Service, Source: templates.SourceCampaign, DefaultLocale: "zh-CN",
		Variants: []templates.Variant{{Channel: templates.Email, Locale: "zh-CN", Email: &templates.EmailVariant{Subject: "first", HTML: "<p>first text</p>"}}}}
	v1, _, err := st.Save(ctx, audit.Actor{Name: "test"}, def, templates.SaveOptions{Activate: true})
	require.NoError(t, err)
	def.Variants[0].Email = &templates.EmailVariant{Subject: "second", HTML: "<p>second text</p>"}
	_, _, err = st.Save(ctx, audit.Actor{Name: "test"}, def, templates.SaveOptions{Activate: true})
	require.NoError(t, err)
	r := delivery.TemplateRenderer(st)
	got, err := r.Render(ctx, delivery.RenderRequest{TemplateKey: "offer", TemplateVersion: v1.Version, Channel: channels.Email, Locale: "zh-CN"})
	require.NoError(t, err)
	require.Equal(t, "first", got.Subject)
	require.Equal(t, v1.Version, got.Version)
	got, err = r.Render(ctx, delivery.RenderRequest{TemplateKey: "offer", Channel: channels.Email, Locale: "zh-CN"})
	require.NoError(t, err)
	require.Equal(t, "second", got.Subject, "unpinned: the active version")
	_, err = r.Render(ctx, delivery.RenderRequest{TemplateKey: "offer", TemplateVersion: 9, Channel: channels.Email, Locale: "zh-CN"})
	require.Error(t, err)
}
