package campaigns_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/campaigns"
	"carillon/contacts"
	"carillon/internal/audit"
	"carillon/templates"
)

func fieldMessages(t *testing.T, err error) map[string]string {
	t.Helper()
	var ve *contacts.ValidationError
	require.True(t, errors.As(err, &ve), "want a validation error, got %v", err)
	out := map[string]string{}
	for _, f := range ve.Fields {
		out[f.Field] += f.Message
	}
	return out
}

func TestBadInputIsRefusedAndNothingIsSaved(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	mk := b.users["mk"]
	_, err := b.svc.Create(b.ctx, mk, campaigns.Input{Name: ptr("x"), Expression: ptr("teir == \"A\""), Template: ptr(templateKey), Channels: &[]string{"sms"}})
	msgs := fieldMessages(t, err)
	require.Contains(t, msgs["segment"], `1:1: unknown field "teir" (did you mean "tier"?)`)
	require.Contains(t, msgs["segment"], "known fields: age")

	_, err = b.svc.Create(b.ctx, mk, campaigns.Input{Name: ptr("x"), Expression: ptr("true"), Template: ptr(templateKey), Channels: &[]string{"wechat"}})
	require.Contains(t, fieldMessages(t, err)["template"], "has no variant for any of the channels wechat")

	_, err = b.svc.Create(b.ctx, mk, campaigns.Input{Name: ptr("x"), Expression: ptr("true"), Template: ptr("birthday"), Channels: &[]string{"sms"}})
	require.Contains(t, fieldMessages(t, err)["template"], "is a service template")

	_, err = b.svc.Create(b.ctx, mk, campaigns.Input{Name: ptr("x"), Expression: ptr("true"), Template: ptr(templateKey), Channels: &[]string{"sms"},
		Schedule: &campaigns.Schedule{Kind: "cron", Cron: "CRON_TZ=Asia/Shanghai 0 25 * * *"}, Window: ptr("20:00-09:00"), Throttle: ptr(-1)})
	msgs = fieldMessages(t, err)
	require.Contains(t, msgs["schedule.cron"], "does not parse")
	require.Contains(t, msgs["window"], "not a window of the day")
	require.Contains(t, msgs["throttle"], "messages per second")

	_, err = b.svc.Create(b.ctx, mk, campaigns.Input{Name: ptr("x"), Segment: ptr("no such"), Template: ptr(templateKey), Channels: &[]string{"sms", "sms"}})
	msgs = fieldMessages(t, err)
	require.Contains(t, msgs["segment"], `no saved segment named "no such"`)
	require.Contains(t, msgs["channels"], "distinct channels")

	_, err = b.svc.Create(b.ctx, b.users["ap"], campaigns.Input{Name: ptr("x"), Expression: ptr("true"), Template: ptr(templateKey), Channels: &[]string{"sms"}})
	require.ErrorIs(t, err, campaigns.ErrForbidden)

	list, _, err := b.svc.List(b.ctx, campaigns.ListFilter{})
	require.NoError(t, err)
	require.Empty(t, list)
}

func TestLifecycleWithMakerChecker(t *testing.T) {
	t.Parallel()
	b := setup(t, options{cfg: campaigns.Config{Pricing: campaigns.Pricing{SMS: map[string]float64{"ali": 0.045, "tx": 0.04}, MonthlyBudget: 0.2}}})
	b.addContacts(t, 1, 5, nil)
	mk, mk2, ap, both := b.users["mk"], b.users["mk2"], b.users["ap"], b.users["both"]

	c := b.draft(t, campaigns.Input{Channels: &[]string{"sms", "email"}})
	require.Equal(t, campaigns.StatusDraft, c.Status)
	require.Equal(t, 1, c.Version)
	_, err := b.svc.Approve(b.ctx, ap, c.ID, 0)
	require.ErrorIs(t, err, campaigns.ErrState, "a draft is not approved")

	c, err = b.svc.Submit(b.ctx, mk, c.ID)
	require.NoError(t, err)
	require.Equal(t, campaigns.StatusSubmitted, c.Status)
	r := c.Review
	require.NotNil(t, r)
	require.EqualValues(t, 5, r.Audience)
	require.EqualValues(t, 5, r.Recipients)
	require.Equal(t, []campaigns.ChannelAudience{{Channel: "sms", Recipients: 5}, {Channel: "email", Recipients: 0}}, r.ByChannel)
	// Three samples per channel, rendered for real contacts.
	var sms, email int
	for _, s := range r.Samples {
		require.Empty(t, s.Error)
		switch s.Channel {
		case "sms":
			sms++
			require.Contains(t, s.Text, "【示例银行】客女士，")
			require.Contains(t, s.Text, "稳健理财上线")
			require.Equal(t, 1, s.SMSParts.Parts)
		case "email":
			email++
			require.Equal(t, "稳健理财", s.Subject)
		}
	}
	require.Equal(t, 3, sms)
	require.Equal(t, 3, email)
	// 5 SMS of one part at the first priced provider (no registry: by name).
	require.Equal(t, "CNY", r.Cost.Currency)
	require.Equal(t, 0.23, r.Cost.Total) // 5 × 0.045, to the cent
	require.Equal(t, "ali", r.Cost.Lines[0].Provider)
	require.Len(t, r.Cost.Alternatives, 1)
	require.NotNil(t, r.Cost.Budget)
	require.True(t, r.Cost.Budget.Over)
	require.Contains(t, strings.Join(r.Warnings, "\n"), "over the monthly budget")

	// Maker-checker: a marketer cannot approve; nor can an approver who made it.
	_, err = b.svc.Approve(b.ctx, mk, c.ID, 0)
	require.ErrorIs(t, err, campaigns.ErrForbidden)
	own, err := b.svc.Create(b.ctx, both, campaigns.Input{Name: ptr("mine"), Expression: ptr("true"), Template: ptr(templateKey), Channels: &[]string{"sms"},
		Vars: map[string]any{"product": "稳健理财"}})
	require.NoError(t, err)
	_, err = b.svc.Submit(b.ctx, both, own.ID)
	require.NoError(t, err)
	_, err = b.svc.Approve(b.ctx, both, own.ID, 0)
	require.ErrorIs(t, err, campaigns.ErrForbidden)
	require.Contains(t, err.Error(), "a second person must approve it")

	// Rejection needs a reason, and sends it back.
	_, err = b.svc.Reject(b.ctx, ap, c.ID, " ")
	require.Contains(t, fieldMessages(t, err)["reason"], "needs a reason")
	c, err = b.svc.Reject(b.ctx, ap, c.ID, "say which fund")
	require.NoError(t, err)
	require.Equal(t, campaigns.StatusRejected, c.Status)
	require.Equal(t, "say which fund", c.RejectedReason)

	// Another marketer edits (back to draft), submits; the approver approves
	// the version reviewed, not a stale one.
	c, err = b.svc.Update(b.ctx, mk2, c.ID, campaigns.Input{Vars: map[string]any{"product": "稳健理财 2027Q1"}})
	require.NoError(t, err)
	require.Equal(t, campaigns.StatusDraft, c.Status)
	require.Equal(t, 2, c.Version)
	require.Nil(t, c.Review)
	c, err = b.svc.Submit(b.ctx, mk2, c.ID)
	require.NoError(t, err)
	_, err = b.svc.Approve(b.ctx, ap, c.ID, 1)
	require.ErrorIs(t, err, campaigns.ErrStale)
	c, err = b.svc.Approve(b.ctx, ap, c.ID, 2)
	require.NoError(t, err)
	require.Equal(t, campaigns.StatusApproved, c.Status)
	require.Equal(t, "api:ap", c.ApprovedBy)
	require.Equal(t, 2, *c.ApprovedVersion)

	// Any edit after approval returns it to draft, approval gone.
	c, err = b.svc.Update(b.ctx, mk, c.ID, campaigns.Input{Notes: ptr("typo fixed")})
	require.NoError(t, err)
	require.Equal(t, campaigns.StatusDraft, c.Status)
	require.Equal(t, 3, c.Version)
	require.Nil(t, c.ApprovedAt)
	require.Empty(t, c.ApprovedBy)

	// An approver who edited it is an author too.
	c, err = b.svc.Submit(b.ctx, mk, c.ID)
	require.NoError(t, err)
	_, err = b.svc.Update(b.ctx, both, c.ID, campaigns.Input{Notes: ptr("edited by both")})
	require.NoError(t, err)
	_, err = b.svc.Submit(b.ctx, mk, c.ID)
	require.NoError(t, err)
	_, err = b.svc.Approve(b.ctx, both, c.ID, 0)
	require.ErrorIs(t, err, campaigns.ErrForbidden)

	// Every step is in the history with who did it.
	h, err := b.svc.History(b.ctx, c.ID)
	require.NoError(t, err)
	var steps []string
	for _, e := range h {
		steps = append(steps, e.Action+":"+e.Actor+":"+e.From+">"+e.To)
	}
	require.Equal(t, []string{
		"create:api:mk:>draft", "submit:api:mk:draft>submitted", "reject:api:ap:submitted>rejected",
		"edit:api:mk2:rejected>draft", "submit:api:mk2:draft>submitted", "approve:api:ap:submitted>approved",
		"edit:api:mk:approved>draft", "submit:api:mk:draft>submitted", "edit:api:both:submitted>draft", "submit:api:mk:draft>submitted",
	}, steps)
	require.Equal(t, "say which fund", h[2].Reason)
	var audits int
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM audit_log WHERE object_type = 'campaign' AND object_id = $1`, itoa(c.ID)).Scan(&audits))
	require.Equal(t, len(h), audits)

	res, err := b.svc.Cancel(b.ctx, mk, c.ID, "not this quarter")
	require.NoError(t, err)
	require.Equal(t, campaigns.StatusCancelled, res.Campaign.Status)
	require.Zero(t, res.RunID)
	_, err = b.svc.Update(b.ctx, mk, c.ID, campaigns.Input{Notes: ptr("again")})
	require.ErrorIs(t, err, campaigns.ErrState)
}

// Family members who share a phone number are one recipient.
func TestReviewCountsOneRecipientPerAddress(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.addContacts(t, 1, 3, func(i int, in *contacts.Input) { in.Phone = ptr("13900000000") })
	b.addContacts(t, 4, 1, func(i int, in *contacts.Input) { in.Phone = nil; in.Email = ptr("c4@example.com") })
	b.addContacts(t, 5, 1, func(i int, in *contacts.Input) { in.Phone = nil })
	c := b.draft(t, campaigns.Input{Channels: &[]string{"sms", "email"}})
	c, err := b.svc.Submit(b.ctx, b.users["mk"], c.ID)
	require.NoError(t, err)
	require.EqualValues(t, 5, c.Review.Audience)
	require.EqualValues(t, 3, c.Review.Recipients)
	require.Equal(t, []campaigns.ChannelAudience{{Channel: "sms", Recipients: 1}, {Channel: "email", Recipients: 1}}, c.Review.ByChannel)
	require.EqualValues(t, 1, c.Review.NoAddress)
}

func TestTestSend(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.addContacts(t, 1, 2, func(i int, in *contacts.Input) {
		if i == 1 {
			in.Tags = &[]string{"wealth", campaigns.TestContactTag}
		}
	})
	c := b.draft(t, campaigns.Input{})
	// A customer is never a test send's target: it skips consent and approval.
	_, err := b.svc.TestSend(b.ctx, b.users["mk"], c.ID, "C0002", "")
	require.Contains(t, fieldMessages(t, err)["contact"], "not a test contact")
	res, err := b.svc.TestSend(b.ctx, b.users["mk"], c.ID, "C0001", "")
	require.NoError(t, err)
	m, err := b.delivery.Get(b.ctx, res.MessageID)
	require.NoError(t, err)
	require.Equal(t, "campaign_test", m.Source)
	require.Equal(t, itoa(c.ID), m.SourceID)
	require.Equal(t, templateKey, m.Template)
	_, err = b.svc.TestSend(b.ctx, b.users["mk"], c.ID, "NOPE", "")
	require.Contains(t, fieldMessages(t, err)["contact"], "NOPE")
	_, err = b.svc.TestSend(b.ctx, b.users["mk"], c.ID, "C0001", "wechat")
	require.Contains(t, fieldMessages(t, err)["channel"], "not one of the campaign's channels")
	var test bool
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT test FROM messages WHERE id = $1`, res.MessageID).Scan(&test))
	require.True(t, test)
}

// An erased contact's rendered samples leave the reviews that showed them.
func TestErasureRemovesSamples(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.contacts.RegisterEraser(b.svc)
	ids := b.addContacts(t, 1, 2, nil)
	c := b.draft(t, campaigns.Input{Channels: &[]string{"sms", "email"}})
	c, err := b.svc.Submit(b.ctx, b.users["mk"], c.ID)
	require.NoError(t, err)
	require.Len(t, c.Review.Samples, 4)
	require.NoError(t, b.contacts.Erase(b.ctx, audit.Actor{Name: "test"}, ids[0]))
	c, err = b.svc.Get(b.ctx, c.ID)
	require.NoError(t, err)
	require.Len(t, c.Review.Samples, 4)
	for _, s := range c.Review.Samples {
		if s.ContactID == ids[0] {
			require.True(t, s.Erased)
			require.Empty(t, s.Text+s.Subject+s.HTML)
		} else {
			require.False(t, s.Erased)
			require.NotEmpty(t, s.Text)
		}
	}
}

// A run whose audience grew past the limit and past what was reviewed waits for
// a second approval: an approver who is not an author resumes it.
func TestSecondApprovalWhenTheAudienceGrew(t *testing.T) {
	t.Parallel()
	b := setup(t, options{cfg: campaigns.Config{SecondApprovalAbove: 2}})
	b.addContacts(t, 1, 2, nil)
	c := b.approved(t, campaigns.Input{})
	require.EqualValues(t, 2, c.Review.Recipients)
	b.addContacts(t, 3, 3, nil) // imported after the approval
	_, err := b.svc.Start(b.ctx, b.users["mk"], c.ID)
	require.NoError(t, err)
	// Work the run's first step (the snapshot) as its job would.
	require.NoError(t, b.svc.WorkRunForTest(b.ctx, c.ID))
	c, err = b.svc.Get(b.ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, campaigns.StatusPaused, c.Status)
	h, err := b.svc.History(b.ctx, c.ID)
	require.NoError(t, err)
	last := h[len(h)-1]
	require.Equal(t, "second_approval_needed", last.Action)
	require.Contains(t, last.Reason, "5 recipients, more than the 2 reviewed")
	_, err = b.svc.Resume(b.ctx, b.users["mk"], c.ID)
	require.ErrorIs(t, err, campaigns.ErrForbidden)
	c, err = b.svc.Resume(b.ctx, b.users["ap"], c.ID)
	require.NoError(t, err)
	require.Equal(t, campaigns.StatusRunning, c.Status)
}

// The tick gives each open run one more fan-out job per period, so a run whose
// job was lost goes on; never more than one per period.
func TestTickWatchesOpenRuns(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.addContacts(t, 1, 1, nil)
	c := b.approved(t, campaigns.Input{})
	_, err := b.svc.Start(b.ctx, b.users["mk"], c.ID)
	require.NoError(t, err)
	jobs := func() int {
		var n int
		require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM river_job WHERE kind = 'campaigns.run'`).Scan(&n))
		return n
	}
	require.Equal(t, 1, jobs())
	require.NoError(t, b.svc.Tick(b.ctx, b.clock.Now()))
	require.Equal(t, 2, jobs())
	require.NoError(t, b.svc.Tick(b.ctx, b.clock.Now()))
	require.Equal(t, 2, jobs())
}

// What reaches a customer is what was approved: the template declares its
// variables; a campaign that leaves a required one empty (or gives one of the
// wrong type, or one the template does not declare) is not submitted, approved,
// test-sent or started; the review, the previews and the messages carry the
// campaign's own values with the declared defaults, never the template's samples.
func TestCampaignVariablesAreCheckedAndNeverSampled(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.addContacts(t, 1, 2, func(i int, in *contacts.Input) { in.Tags = &[]string{"wealth", "test"} })
	def := templates.Definition{Key: "campaign.rate", Purpose: templates.Marketing, Source: templates.SourceCampaign, DefaultLocale: "zh-CN",
		Variables: []templates.Variable{
			{Name: "product", Type: templates.String, Required: true, Sample: "样例产品"},
			{Name: "rate", Type: templates.Number, Default: 2.5, Sample: 9.99},
		},
		Variants: []templates.Variant{{Channel: templates.SMS, Locale: "zh-CN", SMS: &templates.SMSVariant{SignName: "示例银行",
			Text: "{{.Contact.Salutation}}，{{.Campaign.product}}年化{{.Campaign.rate}}%。拒收请回复R"}}}}
	_, _, err := b.templates.Save(b.ctx, audit.Actor{Name: "test"}, def, templates.SaveOptions{Activate: true})
	require.NoError(t, err)
	mk := b.users["mk"]

	// Left empty: the preview shows the problem and no sample value; submit refuses.
	c := b.draft(t, campaigns.Input{Template: ptr("campaign.rate"), Vars: map[string]any{}})
	ct, err := b.contacts.GetByExternalID(b.ctx, "C0001")
	require.NoError(t, err)
	pv, err := b.svc.Preview(b.ctx, campaigns.PreviewInput{Template: "campaign.rate", Vars: map[string]any{}, Contact: ct})
	require.NoError(t, err)
	require.Len(t, pv.Problems, 1)
	require.Equal(t, "vars.product", pv.Problems[0].Field)
	require.Len(t, pv.Rendered, 1)
	require.Equal(t, "【示例银行】客女士，年化2.5%。拒收请回复R", pv.Rendered[0].SMS.Text, "the campaign's values (none) and the default, never the samples")
	_, err = b.svc.Submit(b.ctx, mk, c.ID)
	require.Contains(t, fieldMessages(t, err)["vars.product"], "product is required")
	_, err = b.svc.TestSend(b.ctx, mk, c.ID, "C0001", "")
	require.Contains(t, fieldMessages(t, err)["vars.product"], "product is required")

	// Of the wrong type, or not declared: refused, each named.
	_, err = b.svc.Update(b.ctx, mk, c.ID, campaigns.Input{Vars: map[string]any{"product": "稳健理财", "rate": "high", "rat": 1}})
	require.NoError(t, err)
	_, err = b.svc.Submit(b.ctx, mk, c.ID)
	msgs := fieldMessages(t, err)
	require.Contains(t, msgs["vars.rate"], "must be a number")
	require.Contains(t, msgs["vars.rat"], `did you mean "rate"?`)

	// Right: the review renders the campaign's value and the declared default.
	c, err = b.svc.Get(b.ctx, c.ID)
	require.NoError(t, err)
	_, err = b.svc.Update(b.ctx, mk, c.ID, campaigns.Input{Vars: map[string]any{"product": "稳健理财"}})
	require.NoError(t, err)
	c, err = b.svc.Submit(b.ctx, mk, c.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"product": "稳健理财", "rate": 2.5}, c.Review.Vars)
	for _, s := range c.Review.Samples {
		require.Contains(t, s.Text, "稳健理财年化2.5%")
		require.NotContains(t, s.Text, "样例")
		require.NotContains(t, s.Text, "9.99")
	}

	// A campaign whose values went missing after its review is neither approved
	// nor started.
	_, err = b.db.Pool.Exec(b.ctx, `UPDATE campaigns SET vars = '{}' WHERE id = $1`, c.ID)
	require.NoError(t, err)
	_, err = b.svc.Approve(b.ctx, b.users["ap"], c.ID, c.Version)
	require.Contains(t, fieldMessages(t, err)["vars.product"], "product is required")
	_, err = b.db.Pool.Exec(b.ctx, `UPDATE campaigns SET vars = '{"product": "稳健理财"}' WHERE id = $1`, c.ID)
	require.NoError(t, err)
	c, err = b.svc.Approve(b.ctx, b.users["ap"], c.ID, c.Version)
	require.NoError(t, err)
	_, err = b.db.Pool.Exec(b.ctx, `UPDATE campaigns SET vars = '{"product": 7}' WHERE id = $1`, c.ID)
	require.NoError(t, err)
	_, err = b.svc.Start(b.ctx, mk, c.ID)
	require.Contains(t, fieldMessages(t, err)["vars.product"], "must be text")

	// Started with its values, the messages carry them and the default.
	_, err = b.db.Pool.Exec(b.ctx, `UPDATE campaigns SET vars = '{"product": "稳健理财"}' WHERE id = $1`, c.ID)
	require.NoError(t, err)
	res, err := b.svc.TestSend(b.ctx, mk, c.ID, "C0001", "")
	require.NoError(t, err)
	var vars map[string]any
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT vars->'Campaign' FROM messages WHERE id = $1`, res.MessageID).Scan(&vars))
	require.Equal(t, map[string]any{"product": "稳健理财", "rate": 2.5}, vars)
}

// A campaign whose template cannot render within the template limits with its
// values is refused at submit, the error naming the template and the limit;
// within them it is submitted.
func TestSubmitRefusesATemplateOverTheRenderLimits(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.addContacts(t, 1, 2, nil)
	def := templates.Definition{Key: "campaign.note", Purpose: templates.Marketing, Source: templates.SourceCampaign, DefaultLocale: "zh-CN",
		Variables: []templates.Variable{{Name: "note", Type: templates.String, Required: true, Sample: "短讯"}},
		Variants: []templates.Variant{{Channel: templates.Email, Locale: "zh-CN", Email: &templates.EmailVariant{Subject: "通知",
			HTML: "<p>{{.Contact.Salutation}}</p>{{range 20000}}<p>{{$.Campaign.note}}</p>{{end}}"}}}}
	_, _, err := b.templates.Save(b.ctx, audit.Actor{Name: "test"}, def, templates.SaveOptions{Activate: true})
	require.NoError(t, err, "the sample note fits")
	mk := b.users["mk"]

	c := b.draft(t, campaigns.Input{Template: ptr("campaign.note"), Channels: &[]string{"email"}, Vars: map[string]any{"note": strings.Repeat("说明", 20)}})
	_, err = b.svc.Submit(b.ctx, mk, c.ID)
	msg := fieldMessages(t, err)["template"]
	require.Contains(t, msg, "cannot render within the template limits")
	require.Contains(t, msg, "template campaign.note v1 (email, zh-CN) email.zh-CN.html: renders more than 524288 bytes")
	require.Contains(t, msg, "渲染上限")
	c, err = b.svc.Get(b.ctx, c.ID)
	require.NoError(t, err)
	require.Equal(t, campaigns.StatusDraft, c.Status)

	// The segment matching no one does not let it through.
	_, err = b.svc.Update(b.ctx, mk, c.ID, campaigns.Input{Expression: ptr(`"nobody" in tags`)})
	require.NoError(t, err)
	_, err = b.svc.Submit(b.ctx, mk, c.ID)
	require.Contains(t, fieldMessages(t, err)["template"], "renders more than 524288 bytes")

	_, err = b.svc.Update(b.ctx, mk, c.ID, campaigns.Input{Expression: ptr(`"wealth" in tags`), Vars: map[string]any{"note": "短"}})
	require.NoError(t, err)
	c, err = b.svc.Submit(b.ctx, mk, c.ID)
	require.NoError(t, err)
	require.Equal(t, campaigns.StatusSubmitted, c.Status)
}
