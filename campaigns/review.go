package campaigns

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/campaigns/segment"
	"carillon/channels"
	"carillon/contacts"
	"carillon/templates"
)

// Review is what the approver sees before approving: who the campaign reaches,
// what they get, and what it costs. It is made when the campaign is submitted.
type Review struct {
	At      time.Time `json:"at"`
	Version int       `json:"version"` // the campaign version reviewed
	// TemplateVersion is the template version the samples were rendered with:
	// the approved campaign's messages are pinned to it, whatever is activated
	// later.
	TemplateVersion int `json:"template_version"`
	// Vars are the campaign's variables as its messages carry them (its own
	// values, the declared defaults for those it left out): what the samples show.
	Vars map[string]any `json:"vars,omitempty"`
	// Audience is the active, unerased contacts the segment matches.
	Audience int64 `json:"audience"`
	// Recipients is one per address: contacts who share the address their
	// message goes to (a family's phone) count once.
	Recipients int64             `json:"recipients"`
	ByChannel  []ChannelAudience `json:"by_channel"`
	// NoAddress counts recipients with no address on any chosen channel (they are
	// targeted and counted as suppressed, reason no_channel).
	NoAddress int64      `json:"no_address"`
	Samples   []Sample   `json:"samples"`
	Cost      Cost       `json:"cost"`
	Warnings  []string   `json:"warnings,omitempty"`
	Segments  []SMSParts `json:"sms_parts,omitempty"`
}

// ChannelAudience is how many recipients a channel is first for.
type ChannelAudience struct {
	Channel    string `json:"channel"`
	Recipients int64  `json:"recipients"`
}

// Sample is one contact's message on one channel, rendered.
type Sample struct {
	Channel   string              `json:"channel"`
	Contact   string              `json:"contact"` // external id
	ContactID int64               `json:"contact_id"`
	Erased    bool                `json:"erased,omitempty"` // the contact was erased since: the text is gone
	Locale    string              `json:"locale"`
	Subject   string              `json:"subject,omitempty"`
	Text      string              `json:"text,omitempty"`
	HTML      string              `json:"html,omitempty"`
	SMSParts  *templates.Segments `json:"sms_parts,omitempty"`
	Error     string              `json:"error,omitempty"`
}

// SMSParts is the parts an SMS sample takes.
type SMSParts struct {
	Contact string `json:"contact"`
	Parts   int    `json:"parts"`
}

// Cost is the estimated cost of one run.
type Cost struct {
	Currency string     `json:"currency"`
	Total    float64    `json:"total"`
	Lines    []CostLine `json:"lines"`
	// Alternatives price the SMS part by each other priced provider.
	Alternatives []CostLine `json:"alternatives,omitempty"`
	Budget       *Budget    `json:"budget,omitempty"`
}

// CostLine is one channel's (or provider's) share.
type CostLine struct {
	Channel   string  `json:"channel"`
	Provider  string  `json:"provider,omitempty"`
	Messages  int64   `json:"messages"`
	Parts     float64 `json:"parts_per_message,omitempty"` // SMS: the samples' mean
	UnitPrice float64 `json:"unit_price"`
	Amount    float64 `json:"amount"`
}

// Budget compares the estimate with the monthly budget.
type Budget struct {
	Monthly   float64 `json:"monthly"`
	Committed float64 `json:"committed"` // estimates of the month's other approved campaigns
	Remaining float64 `json:"remaining"` // after this campaign
	Over      bool    `json:"over"`
}

// recipientsSQL selects a segment's recipients, one per address, as
// contacts.RecipientsSQL describes ($1: the channels in order; $2: the run's
// salt for the address hash; the segment's arguments follow, from $3 or later).
// A contact with no address on any channel is its own recipient (delivery
// suppresses it, reason no_channel, so it is counted).
func recipientsSQL(where string) string { return contacts.RecipientsSQL(where) }

// review counts, renders and prices a campaign.
func (s *Service) review(ctx context.Context, c Campaign) (Review, error) {
	r := Review{At: s.now(), Version: c.Version, Samples: []Sample{}}
	tv, err := s.deps.Templates.Active(ctx, c.Template)
	if err != nil {
		return r, fmt.Errorf("review: template %s: %w", c.Template, err)
	}
	r.TemplateVersion = tv.Version
	// The samples render with the campaign's own values (and the declared
	// defaults), never the template's samples; a required one missing stops here.
	if c.Vars, err = varsOf(tv, c.Vars); err != nil {
		return r, err
	}
	r.Vars = c.Vars
	seg, err := segment.Compile(c.Segment)
	if err == nil {
		err = s.segments.Check(ctx, seg)
	}
	if err != nil {
		return r, invalid(fieldErr("segment", "%s", err.Error()))
	}
	where, args := s.segments.Audience(seg, 3)
	q := recipientsSQL(where) + `
SELECT (SELECT count(*) FROM matched), o.channel, o.no_address, count(*) FROM one o GROUP BY o.channel, o.no_address`
	rows, err := s.pool.Query(ctx, q, append([]any{c.Channels, []byte{}}, args...)...)
	if err != nil {
		return r, fmt.Errorf("count audience: %w", err)
	}
	by := map[string]int64{}
	for rows.Next() {
		var ch string
		var noAddr bool
		var n int64
		if err := rows.Scan(&r.Audience, &ch, &noAddr, &n); err != nil {
			rows.Close()
			return r, err
		}
		r.Recipients += n
		if noAddr {
			r.NoAddress += n
		} else {
			by[ch] += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return r, fmt.Errorf("count audience: %w", err)
	}
	for _, ch := range c.Channels {
		r.ByChannel = append(r.ByChannel, ChannelAudience{Channel: ch, Recipients: by[ch]})
	}
	if r.Audience == 0 {
		r.Warnings = append(r.Warnings, "the segment matches no active contact")
	}

	sample, err := s.segments.Sample(ctx, seg, s.cfg.Samples)
	if err != nil {
		return r, err
	}
	var mids []int64
	for _, ct := range sample {
		mids = append(mids, ct.ManagerID)
	}
	managers, err := s.deps.Contacts.ManagersByID(ctx, mids)
	if err != nil {
		return r, err
	}
	// The campaign's values must render within the template limits on every
	// channel: for the template's sample contact (the segment may match no one
	// yet) and for each sampled one. One that cannot is refused here, before
	// anyone approves it, rather than failing message by message.
	for _, ch := range c.Channels {
		sc := contacts.SampleContact(tv.DefaultLocale)
		if _, err := s.deps.Templates.RenderVersion(ctx, tv, templates.Channel(ch), sc.Locale, s.vars(c, sc, nil)); errors.Is(err, templates.ErrRenderLimit) {
			return r, renderLimit(err)
		}
	}
	smsKind, smsProvider := s.primarySMS()
	var partsSum, partsN float64
	for _, ch := range c.Channels {
		for _, ct := range sample {
			sm, parts, err := s.renderSample(ctx, c, r.TemplateVersion, templates.Channel(ch), ct, managers, smsKind)
			if errors.Is(err, templates.ErrNoVariant) {
				r.Warnings = append(r.Warnings, fmt.Sprintf("template %s has no %s variant: recipients whose first channel is %s go by the next channel", c.Template, ch, ch))
				break
			}
			if errors.Is(err, templates.ErrRenderLimit) {
				return r, renderLimit(err)
			}
			if err != nil {
				sm.Error = err.Error()
			}
			r.Samples = append(r.Samples, sm)
			if parts > 0 {
				partsSum += float64(parts)
				partsN++
				r.Segments = append(r.Segments, SMSParts{Contact: ct.ExternalID, Parts: parts})
			}
		}
	}
	meanParts := 1.0
	if partsN > 0 {
		meanParts = partsSum / partsN
	}
	r.Cost = s.price(by, meanParts, smsProvider)
	if b := s.cfg.Pricing.MonthlyBudget; b > 0 {
		committed, err := s.committed(ctx, c.ID)
		if err != nil {
			return r, err
		}
		r.Cost.Budget = &Budget{Monthly: b, Committed: round2(committed), Remaining: round2(b - committed - r.Cost.Total)}
		r.Cost.Budget.Over = r.Cost.Budget.Remaining < 0
		if r.Cost.Budget.Over {
			r.Warnings = append(r.Warnings, fmt.Sprintf("over the monthly budget by %.2f %s", -r.Cost.Budget.Remaining, r.Cost.Currency))
		}
	}
	return r, nil
}

// renderLimit is a campaign refused because its template cannot render within
// the template limits; the error names the template, version, channel, locale
// and limit.
func renderLimit(err error) error {
	return invalid(fieldErr("template", "cannot render within the template limits: %s / 模板无法在渲染上限内完成，请修改模板或活动变量", err.Error()))
}

// primarySMS is the kind and name of the SMS provider marketing goes through first.
func (s *Service) primarySMS() (kind, name string) {
	if s.deps.Registry != nil {
		if ps := s.deps.Registry.For(channels.SMS, channels.PurposeMarketing); len(ps) > 0 {
			return ps[0].Kind, ps[0].Name
		}
	}
	if len(s.cfg.SMSProviders) > 0 {
		return s.cfg.SMSProviders[0].Kind, s.cfg.SMSProviders[0].Name
	}
	names := make([]string, 0, len(s.cfg.Pricing.SMS))
	for n := range s.cfg.Pricing.SMS {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 0 {
		return "", names[0]
	}
	return "", ""
}

func (s *Service) renderSample(ctx context.Context, c Campaign, version int, ch templates.Channel, ct contacts.Contact, managers map[int64]contacts.Manager, smsKind string) (Sample, int, error) {
	locale := ct.Locale
	sm := Sample{Channel: string(ch), Contact: ct.ExternalID, ContactID: ct.ID, Locale: locale}
	vars := s.vars(c, ct, managers)
	out, err := s.deps.Templates.Render(ctx, c.Template, version, ch, locale, vars)
	if err != nil {
		return sm, 0, err
	}
	sm.Locale = out.Locale
	parts := 0
	switch {
	case out.SMS != nil:
		sm.Text, parts = out.SMS.Text, out.SMS.Segments.Parts
		seg := out.SMS.Segments
		if smsKind == "twilio" {
			sm.Text, parts, seg = out.SMS.Body, out.SMS.BodySegments.Parts, out.SMS.BodySegments
		}
		sm.SMSParts = &seg
	case out.Email != nil:
		sm.Subject, sm.Text, sm.HTML = out.Email.Subject, out.Email.Text, out.Email.HTML
	case out.WeChat != nil:
		keys := make([]string, 0, len(out.WeChat.Data))
		for k := range out.WeChat.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for i, k := range keys {
			if i > 0 {
				sm.Text += " / "
			}
			sm.Text += k + ": " + out.WeChat.Data[k]
		}
	}
	return sm, parts, nil
}

// vars are a campaign message's template variables for a contact.
func (s *Service) vars(c Campaign, ct contacts.Contact, managers map[int64]contacts.Manager) templates.Vars {
	v := templates.Vars{"Contact": templates.ContactVars(ct.ForTemplate(), ct.Locale), "Campaign": c.Vars, "Bank": s.cfg.Bank.Vars()}
	if m, ok := managers[ct.ManagerID]; ok {
		v["Manager"] = templates.ManagerVars(m.ForTemplate())
	}
	return v
}

func (s *Service) price(by map[string]int64, meanParts float64, smsProvider string) Cost {
	p := s.cfg.Pricing
	cost := Cost{Currency: p.Currency, Lines: []CostLine{}}
	if n := by["sms"]; n > 0 {
		unit := p.SMS[smsProvider]
		l := CostLine{Channel: "sms", Provider: smsProvider, Messages: n, Parts: round2(meanParts), UnitPrice: unit, Amount: round2(float64(n) * math.Ceil(meanParts*100) / 100 * unit)}
		cost.Lines = append(cost.Lines, l)
		names := make([]string, 0, len(p.SMS))
		for name := range p.SMS {
			if name != smsProvider {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			cost.Alternatives = append(cost.Alternatives, CostLine{Channel: "sms", Provider: name, Messages: n, Parts: round2(meanParts),
				UnitPrice: p.SMS[name], Amount: round2(float64(n) * math.Ceil(meanParts*100) / 100 * p.SMS[name])})
		}
	}
	if n := by["email"]; n > 0 {
		cost.Lines = append(cost.Lines, CostLine{Channel: "email", Messages: n, UnitPrice: p.Email, Amount: round2(float64(n) * p.Email)})
	}
	if n := by["wechat"]; n > 0 {
		cost.Lines = append(cost.Lines, CostLine{Channel: "wechat", Messages: n, UnitPrice: p.WeChat, Amount: round2(float64(n) * p.WeChat)})
	}
	for _, l := range cost.Lines {
		cost.Total += l.Amount
	}
	cost.Total = round2(cost.Total)
	return cost
}

// committed sums the estimates of the other campaigns approved this month (in
// the segment store's zone).
func (s *Service) committed(ctx context.Context, except int64) (float64, error) {
	today := s.segments.Today()
	start := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, today.Location())
	var sum float64
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(sum((review -> 'cost' ->> 'total')::numeric), 0)::float8 FROM campaigns
		WHERE id <> $1 AND approved_at >= $2 AND approved_at < $3 AND status = ANY($4)`,
		except, start, start.AddDate(0, 1, 0), strs(approvedStatuses)).Scan(&sum)
	if err != nil {
		return 0, fmt.Errorf("committed budget: %w", err)
	}
	return sum, nil
}

// round2 rounds money to cents, half away from zero, forgiving the binary
// representation of decimal prices (5 × 0.045 is 0.225, not 0.22).
func round2(f float64) float64 { return math.Round((f+math.Copysign(1e-9, f))*100) / 100 }

// ErasedColumns implements contacts.Eraser: the rendered samples of campaign
// reviews (they hold the contact's name).
func (s *Service) ErasedColumns() []string { return []string{"campaigns.review"} }

// EraseContact implements contacts.Eraser: an erased contact's rendered
// samples are removed from campaign reviews, the other samples kept. Register
// the service with contacts.Store.RegisterEraser.
func (s *Service) EraseContact(ctx context.Context, tx pgx.Tx, e contacts.Erasure) error {
	contactID := e.ContactID
	_, err := tx.Exec(ctx, `UPDATE campaigns SET review = jsonb_set(review, '{samples}', (
		SELECT COALESCE(jsonb_agg(CASE WHEN (x ->> 'contact_id')::bigint = $1 THEN (x - 'subject' - 'text' - 'html') || '{"erased": true}' ELSE x END ORDER BY i), '[]')
		FROM jsonb_array_elements(review -> 'samples') WITH ORDINALITY AS e(x, i)))
		WHERE review IS NOT NULL AND review -> 'samples' @> jsonb_build_array(jsonb_build_object('contact_id', $1::bigint))`, contactID)
	if err != nil {
		return fmt.Errorf("erase contact %d from campaign reviews: %w", contactID, err)
	}
	return nil
}

// SectionCampaigns is the export section of the campaign runs that targeted a contact.
const SectionCampaigns = "campaigns"

// ExportContact implements contacts.Exporter: the campaign runs whose
// audience held the contact, with the channel.
func (s *Service) ExportContact(ctx context.Context, q contacts.Querier, c contacts.Contact) ([]contacts.Section, error) {
	contactID := c.ID
	sec, err := contacts.QuerySection(ctx, q, SectionCampaigns, map[string]string{"campaign_id": "活动编号", "campaign": "活动",
		"run_id": "批次", "fire_at": "时间", "channel": "渠道"},
		`SELECT c.id AS campaign_id, c.name AS campaign, r.id AS run_id, r.fire_at, cr.channel
		FROM campaign_recipients cr JOIN campaign_runs r ON r.id = cr.run_id JOIN campaigns c ON c.id = r.campaign_id
		WHERE cr.contact_id = $1 ORDER BY r.fire_at, r.id`, contactID)
	if err != nil {
		return nil, err
	}
	return []contacts.Section{sec}, nil
}

// PreviewInput is a campaign's content as its author types it.
type PreviewInput struct {
	Template string
	Vars     map[string]any
	Channels []string         // in order; empty: every channel the template has
	Contact  contacts.Contact // whom it is rendered for (a sample of the segment)
}

// Preview is what a campaign's message would be for one contact, per channel,
// rendered exactly as the review and the run render it: with the campaign's own
// values and the template's declared defaults, never the template's samples.
// Problems lists what stops the campaign from being submitted (a required
// variable missing, a value of the wrong type, an undeclared one); the text is
// rendered all the same, a missing value empty, so its author sees both.
type Preview struct {
	TemplateVersion int                   `json:"template_version"`
	Vars            map[string]any        `json:"vars"`
	Rendered        []templates.Rendered  `json:"rendered"`
	Problems        []contacts.FieldError `json:"problems,omitempty"`
}

// Preview renders a campaign's content for one contact with the active version
// of its template.
func (s *Service) Preview(ctx context.Context, in PreviewInput) (Preview, error) {
	if err := s.needs(); err != nil {
		return Preview{}, err
	}
	tv, err := s.deps.Templates.Active(ctx, in.Template)
	if err != nil {
		return Preview{}, err
	}
	p := Preview{TemplateVersion: tv.Version, Rendered: []templates.Rendered{}}
	cv, err := varsOf(tv, in.Vars)
	var ve *contacts.ValidationError
	switch {
	case errors.As(err, &ve):
		p.Problems = ve.Fields
	case err != nil:
		return p, err
	}
	p.Vars = cv
	managers, err := s.deps.Contacts.ManagersByID(ctx, []int64{in.Contact.ManagerID})
	if err != nil {
		return p, err
	}
	chans := in.Channels
	if len(chans) == 0 {
		for _, ch := range templates.Channels() {
			chans = append(chans, string(ch))
		}
	}
	c := Campaign{Template: in.Template, Vars: cv}
	for _, ch := range chans {
		out, err := s.deps.Templates.RenderVersion(ctx, tv, templates.Channel(ch), in.Contact.Locale, s.vars(c, in.Contact, managers))
		if errors.Is(err, templates.ErrNoVariant) {
			continue
		}
		if err != nil {
			return p, err
		}
		p.Rendered = append(p.Rendered, out)
	}
	return p, nil
}
