package care_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/care"
	"carillon/channels"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/internal/pgtest"
)

// noEnqueue is an Enqueuer for tests that plan nothing.
type noEnqueue struct{}

func (noEnqueue) Enqueue(context.Context, pgx.Tx, []delivery.Planned) (delivery.EnqueueResult, error) {
	return delivery.EnqueueResult{}, nil
}

func TestCareRulesAreListedAndChangedWithHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	p, err := care.New(db.Pool, noEnqueue{}, care.Config{})
	require.NoError(t, err)
	rules, err := p.Rules(ctx)
	require.NoError(t, err)
	byKey := map[string]care.Rule{}
	for _, r := range rules {
		if r.Kind == care.KindExtension {
			continue // other packages' rules (the managers' digest)
		}
		byKey[r.Key] = r
		require.True(t, r.Enabled, "care works out of the box: %s", r.Key)
	}
	require.Len(t, byKey, 12)
	require.Equal(t, care.KindBirthday, byKey["birthday"].Kind)
	require.Equal(t, care.KindFestival, byKey["festival.mid_autumn"].Kind)
	dm := byKey["deposit_maturity"]
	require.Equal(t, care.KindDateField, dm.Kind)
	require.Equal(t, -7, dm.OffsetDays)
	require.Equal(t, "09:00", dm.SendTime)

	off := false
	bad := "every morning"
	_, err = p.UpdateRule(ctx, audit.Actor{Name: "test"}, "birthday", care.RuleChange{Schedule: &bad})
	require.ErrorIs(t, err, care.ErrBadSchedule)
	spec := "CRON_TZ=Asia/Shanghai 30 0 * * *"
	r, err := p.UpdateRule(ctx, audit.Actor{Name: "test"}, "birthday", care.RuleChange{Enabled: &off, Schedule: &spec})
	require.NoError(t, err)
	require.False(t, r.Enabled)
	require.Equal(t, spec, r.Schedule)
	_, err = p.UpdateRule(ctx, audit.Actor{Name: "test"}, "nope", care.RuleChange{Enabled: &off})
	require.ErrorIs(t, err, care.ErrRuleNotFound)

	recs, _, err := audit.List(ctx, db.Pool, audit.Filter{ObjectType: "care_rule", ObjectID: "birthday"})
	require.NoError(t, err)
	require.Len(t, recs, 1, "the bad schedule changed nothing; the good change is in the history")
	require.Contains(t, string(recs[0].Changes), `"enabled"`)

	// Channels, send time and template are checked and kept in the history.
	sms := []channels.Channel{channels.SMS}
	at := "10:30"
	r, err = p.UpdateRule(ctx, audit.Actor{Name: "test"}, "festival.qixi", care.RuleChange{Channels: &sms, SendTime: &at})
	require.NoError(t, err)
	require.Equal(t, sms, r.Channels)
	require.Equal(t, "10:30", r.SendTime)
	late := "25:00"
	_, err = p.UpdateRule(ctx, audit.Actor{Name: "test"}, "festival.qixi", care.RuleChange{SendTime: &late})
	require.ErrorIs(t, err, care.ErrBadRule)
	fax := []channels.Channel{"fax"}
	_, err = p.UpdateRule(ctx, audit.Actor{Name: "test"}, "festival.qixi", care.RuleChange{Channels: &fax})
	require.ErrorContains(t, err, `"fax" is not a customer channel`)
	nope := "no_such_template"
	_, err = p.UpdateRule(ctx, audit.Actor{Name: "test"}, "festival.qixi", care.RuleChange{Template: &nope})
	require.ErrorContains(t, err, `template "no_such_template" does not exist`)
	off7 := -3
	_, err = p.UpdateRule(ctx, audit.Actor{Name: "test"}, "festival.qixi", care.RuleChange{OffsetDays: &off7})
	require.ErrorContains(t, err, "date-field rules only")
	recs, _, err = audit.List(ctx, db.Pool, audit.Filter{ObjectType: "care_rule", ObjectID: "festival.qixi"})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	require.Contains(t, string(recs[0].Changes), `"send_time"`)
}

func TestCreateDateRule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	p, err := care.New(db.Pool, noEnqueue{}, care.Config{})
	require.NoError(t, err)
	_, err = p.CreateDateRule(ctx, audit.Actor{Name: "test"}, care.NewDateRule{Key: "Loan Due", Field: "loan-due", OffsetDays: 999, Channels: []channels.Channel{"fax"}})
	require.ErrorIs(t, err, care.ErrBadRule)
	for _, want := range []string{`key "Loan Due"`, `field "loan-due"`, "template: required", "offset_days 999", `"fax"`} {
		require.ErrorContains(t, err, want)
	}
	r, err := p.CreateDateRule(ctx, audit.Actor{Name: "test"}, care.NewDateRule{Key: "loan_due", Field: "loan_due", OffsetDays: -3, Template: "deposit_maturity"})
	require.NoError(t, err)
	require.Equal(t, care.KindDateField, r.Kind)
	require.True(t, r.Enabled)
	require.Equal(t, care.DefaultNoticeChannels(), r.Channels)
	_, err = p.CreateDateRule(ctx, audit.Actor{Name: "test"}, care.NewDateRule{Key: "loan_due", Field: "loan_due", Template: "deposit_maturity"})
	require.ErrorIs(t, err, care.ErrRuleExists)
	recs, _, err := audit.List(ctx, db.Pool, audit.Filter{ObjectType: "care_rule", ObjectID: "loan_due"})
	require.NoError(t, err)
	require.Len(t, recs, 1)
}

func TestConfiguredFestivalsGetTheirRules(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	p, err := care.New(db.Pool, noEnqueue{}, care.Config{Festivals: calendar.Config{Add: []string{calendar.KeyLaba},
		Custom: []calendar.CustomFestival{{Key: "bank_day", Name: "行庆日", Month: 6, Day: 18}}}})
	require.NoError(t, err)
	require.NoError(t, p.EnsureFestivalRules(ctx))
	require.NoError(t, p.EnsureFestivalRules(ctx), "a second time changes nothing")
	for _, key := range []string{"festival.laba", "festival.bank_day"} {
		r, err := p.Rule(ctx, key)
		require.NoError(t, err, key)
		require.True(t, r.Enabled)
		require.Equal(t, care.KindFestival, r.Kind)
	}
	off := false
	_, err = p.UpdateRule(ctx, audit.Actor{Name: "test"}, "festival.laba", care.RuleChange{Enabled: &off})
	require.NoError(t, err)
	require.NoError(t, p.EnsureFestivalRules(ctx))
	r, err := p.Rule(ctx, "festival.laba")
	require.NoError(t, err)
	require.False(t, r.Enabled, "a rule switched off stays off")
}

// Greetings are care, notices service: the migrated rules say so, a yearly
// date rule (an anniversary) defaults to care, and the planned messages carry
// their rule's purpose.
func TestRulesCarryTheirPurpose(t *testing.T) {
	t.Parallel()
	b := setup(t, "", care.Config{})
	for key, want := range map[string]channels.Purpose{"birthday": channels.PurposeCare, "festival.spring_festival": channels.PurposeCare,
		"deposit_maturity": channels.PurposeService} {
		r, err := b.planner.Rule(b.ctx, key)
		require.NoError(t, err)
		require.Equal(t, want, r.Purpose, key)
	}
	r, err := b.planner.CreateDateRule(b.ctx, audit.Actor{Name: "test"}, care.NewDateRule{Key: "opened", Field: "opened_on", Yearly: true, Template: "birthday"})
	require.NoError(t, err)
	require.Equal(t, channels.PurposeCare, r.Purpose)
	_, err = b.planner.UpdateRule(b.ctx, audit.Actor{Name: "test"}, "opened", care.RuleChange{Purpose: ptrTo(channels.PurposeMarketing)})
	require.ErrorIs(t, err, care.ErrBadRule, "a care rule never markets")
	r, err = b.planner.UpdateRule(b.ctx, audit.Actor{Name: "test"}, "opened", care.RuleChange{Purpose: ptrTo(channels.PurposeService)})
	require.NoError(t, err)
	require.Equal(t, channels.PurposeService, r.Purpose)
}

func ptrTo[T any](v T) *T { return &v }
