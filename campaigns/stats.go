package campaigns

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/delivery"
)

// Stats is a campaign's delivery funnel, per run and in total.
type Stats struct {
	CampaignID int64      `json:"campaign_id"`
	Total      Funnel     `json:"total"`
	Runs       []RunStats `json:"runs"`
}

// RunStats is one run's funnel.
type RunStats struct {
	RunID    int64     `json:"run_id"`
	FireAt   time.Time `json:"fire_at"`
	Status   RunStatus `json:"status"`
	Audience int64     `json:"audience"` // contacts matched at the snapshot
	Funnel
}

// Funnel counts what became of a run's recipients, by channel and in total.
type Funnel struct {
	// Targeted is the recipients (one per address) snapshotted.
	Targeted int64 `json:"targeted"`
	// Written is the recipients whose message is in the outbox (test sends and
	// messages superseded at a resume are not counted).
	Written   int64           `json:"written"`
	All       ChannelFunnel   `json:"all"`
	ByChannel []ChannelFunnel `json:"by_channel"`
}

// ChannelFunnel counts the messages of one channel (or all). A message is
// counted on the channel it went out on, or, when it never did, the first it
// was planned for. Fallbacks (a next channel tried after a permanent failure)
// are counted on their own channel and in Fallbacks.
type ChannelFunnel struct {
	Channel   string `json:"channel"`
	Messages  int64  `json:"messages"`
	Fallbacks int64  `json:"fallbacks"`
	Queued    int64  `json:"queued"` // waiting (queued or being sent)
	Held      int64  `json:"held"`   // held by a pause not yet resumed
	Sent      int64  `json:"sent"`   // handed to a provider (sent, delivered, or failed after sending)
	Delivered int64  `json:"delivered"`
	Failed    int64  `json:"failed"`
	// Suppressed counts messages the send policy stopped, by reason: no_consent,
	// frequency_cap, opted_out (a suppressed address: unsubscribe, bounce,
	// complaint), no_address, outside_hours, no_channel (no provider or template
	// variant could carry it).
	Suppressed   int64            `json:"suppressed"`
	SuppressedBy map[string]int64 `json:"suppressed_by"`
	// Cancelled counts messages stopped before any provider got them (the
	// campaign cancelled or ended, the contact erased or no longer active).
	Cancelled int64 `json:"cancelled"`
	// Expired counts, of the cancelled, messages not sent by the campaign's end.
	Expired      int64 `json:"expired"`
	Opened       int64 `json:"opened"`       // email: opened at least once
	Clicked      int64 `json:"clicked"`      // email: a tracked link followed
	Unsubscribed int64 `json:"unsubscribed"` // marketing consent on the channel revoked within 7 days of the send
	Rates        Rates `json:"rates"`
}

// Rates are ratios of the funnel's counts (0 when the base is 0).
type Rates struct {
	Delivery    float64 `json:"delivery"`    // delivered / sent
	Failure     float64 `json:"failure"`     // failed / sent
	Suppression float64 `json:"suppression"` // suppressed / messages
	Open        float64 `json:"open"`        // opened / delivered
	Click       float64 `json:"click"`       // clicked / delivered
	Unsubscribe float64 `json:"unsubscribe"` // unsubscribed / sent
}

// Stats returns a campaign's funnel per run and in total, from delivery's
// Funnel: the outbox, the timeline (opens, clicks, why a message was
// suppressed) and consents. Messages superseded at a resume are left out.
func (s *Service) Stats(ctx context.Context, id int64) (Stats, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{CampaignID: c.ID, Runs: []RunStats{}}
	rows, err := s.pool.Query(ctx, `SELECT id, fire_at, status, COALESCE(audience, 0), COALESCE(recipients, 0), cursor FROM campaign_runs WHERE campaign_id = $1 ORDER BY id`, id)
	if err != nil {
		return st, fmt.Errorf("campaign %d stats: %w", id, err)
	}
	runs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (RunStats, error) {
		var rs RunStats
		err := r.Scan(&rs.RunID, &rs.FireAt, &rs.Status, &rs.Audience, &rs.Targeted, &rs.Written)
		return rs, err
	})
	if err != nil {
		return st, err
	}
	ids := make([]string, len(runs))
	chans := map[int64]map[string]*ChannelFunnel{}
	for i := range runs {
		ids[i] = strconv.FormatInt(runs[i].RunID, 10)
		chans[runs[i].RunID] = map[string]*ChannelFunnel{}
	}
	total := map[string]*ChannelFunnel{}
	var groups []delivery.FunnelGroup
	if len(ids) > 0 { // a campaign never run has no messages to count
		if err := s.needs(); err != nil {
			return st, err
		}
		if groups, err = s.deps.Delivery.Funnel(ctx, SourceRun, ids); err != nil {
			return st, fmt.Errorf("campaign %d stats: %w", id, err)
		}
	}
	for _, g := range groups {
		runID, err := strconv.ParseInt(g.SourceID, 10, 64)
		if err != nil || chans[runID] == nil {
			continue // a run created since the runs were read
		}
		class := g.Class
		if g.Status == delivery.StatusCancelled {
			switch g.Class {
			case ReasonResent:
				continue // superseded: held by a pause and written again
			case ReasonPaused:
				class = "held"
			case delivery.ReasonExpired:
				class = "expired"
			default:
				class = ""
			}
		}
		for _, f := range []*ChannelFunnel{funnelOf(chans[runID], g.Channel), funnelOf(chans[runID], "all"), funnelOf(total, g.Channel), funnelOf(total, "all")} {
			f.add(g.Status, class, g.Fallback, g.Messages, g.Opened, g.Clicked, g.Unsubscribed, g.Handed)
		}
	}
	for i := range runs {
		r := &runs[i]
		r.All, r.ByChannel = split(chans[r.RunID], c.Channels)
		// Each written recipient has one current message (a fallback is extra).
		r.Written = r.All.Messages - r.All.Fallbacks
		st.Total.Targeted += r.Targeted
		st.Total.Written += r.Written
	}
	st.Total.All, st.Total.ByChannel = split(total, c.Channels)
	st.Runs = runs
	return st, nil
}

func funnelOf(m map[string]*ChannelFunnel, ch string) *ChannelFunnel {
	f, ok := m[ch]
	if !ok {
		f = &ChannelFunnel{Channel: ch, SuppressedBy: map[string]int64{}}
		m[ch] = f
	}
	return f
}

func (f *ChannelFunnel) add(status delivery.Status, class string, fallback bool, n, opened, clicked, unsub, handed int64) {
	f.Messages += n
	if fallback {
		f.Fallbacks += n
	}
	// The steps as delivery reads the status; Sent here is every message handed
	// to a provider (handed), whatever its status now, and a cancellation is
	// told apart by its class.
	var t delivery.Tally
	t.Add(status, n)
	f.Queued += t.Queued
	f.Delivered += t.Delivered
	f.Failed += t.Failed
	f.Suppressed += t.Suppressed
	if t.Suppressed > 0 {
		f.SuppressedBy[class] += n
	}
	switch {
	case t.Cancelled == 0:
	case class == "held":
		f.Held += n
	case class == "expired":
		f.Cancelled += n
		f.Expired += n
	default:
		f.Cancelled += n
	}
	f.Sent += handed
	f.Opened += opened
	f.Clicked += clicked
	f.Unsubscribed += unsub
}

// split returns the "all" funnel and the channels' in the campaign's order
// (others after), each with its rates.
func split(m map[string]*ChannelFunnel, order []string) (ChannelFunnel, []ChannelFunnel) {
	all := funnelOf(m, "all")
	all.rates()
	out := []ChannelFunnel{}
	seen := map[string]bool{"all": true}
	for _, ch := range order {
		seen[ch] = true
		f := funnelOf(m, ch)
		f.rates()
		out = append(out, *f)
	}
	var rest []string
	for ch := range m {
		if !seen[ch] {
			rest = append(rest, ch)
		}
	}
	sort.Strings(rest)
	for _, ch := range rest {
		m[ch].rates()
		out = append(out, *m[ch])
	}
	return *all, out
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return round4(float64(a) / float64(b))
}

func round4(f float64) float64 { return float64(int64(f*10000+0.5)) / 10000 }

func (f *ChannelFunnel) rates() {
	f.Rates = Rates{
		Delivery: ratio(f.Delivered, f.Sent), Failure: ratio(f.Failed, f.Sent), Suppression: ratio(f.Suppressed, f.Messages),
		Open: ratio(f.Opened, f.Delivered), Click: ratio(f.Clicked, f.Delivered), Unsubscribe: ratio(f.Unsubscribed, f.Sent),
	}
}

// suppressionClasses are the CSV's suppressed_<reason> columns.
var suppressionClasses = []string{"no_consent", "frequency_cap", "opted_out", "no_address", "outside_hours", "no_channel"}

// WriteCSV writes the funnel as CSV: one row per run and channel (and "all"),
// then the campaign's totals (run "all").
func (st Stats) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	head := []string{"run", "fire_at", "channel", "targeted", "messages", "fallbacks", "queued", "held", "sent", "delivered", "failed", "suppressed"}
	for _, c := range suppressionClasses {
		head = append(head, "suppressed_"+c)
	}
	head = append(head, "cancelled", "opened", "clicked", "unsubscribed", "delivery_rate", "open_rate", "click_rate", "unsubscribe_rate", "expired")
	if err := cw.Write(head); err != nil {
		return err
	}
	row := func(run, at string, targeted int64, f ChannelFunnel) error {
		i := strconv.FormatInt
		fl := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
		rec := []string{run, at, f.Channel, i(targeted, 10), i(f.Messages, 10), i(f.Fallbacks, 10), i(f.Queued, 10), i(f.Held, 10), i(f.Sent, 10),
			i(f.Delivered, 10), i(f.Failed, 10), i(f.Suppressed, 10)}
		for _, c := range suppressionClasses {
			rec = append(rec, i(f.SuppressedBy[c], 10))
		}
		rec = append(rec, i(f.Cancelled, 10), i(f.Opened, 10), i(f.Clicked, 10), i(f.Unsubscribed, 10),
			fl(f.Rates.Delivery), fl(f.Rates.Open), fl(f.Rates.Click), fl(f.Rates.Unsubscribe), i(f.Expired, 10))
		return cw.Write(rec)
	}
	for _, r := range st.Runs {
		run, at := strconv.FormatInt(r.RunID, 10), r.FireAt.UTC().Format(time.RFC3339)
		if err := row(run, at, r.Targeted, r.All); err != nil {
			return err
		}
		for _, f := range r.ByChannel {
			if err := row(run, at, 0, f); err != nil {
				return err
			}
		}
	}
	if err := row("all", "", st.Total.Targeted, st.Total.All); err != nil {
		return err
	}
	for _, f := range st.Total.ByChannel {
		if err := row("all", "", 0, f); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
