package campaigns_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/campaigns"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/apptest"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/pgtest"
	"carillon/internal/testclock"
	"carillon/templates"
)

// bundle is what a campaigns test needs: a migrated database, the stores, users
// of each role and the service.
type bundle struct {
	ctx       context.Context
	db        *pgtest.DB
	contacts  *contacts.Store
	templates *templates.Store
	delivery  *delivery.Service
	svc       *campaigns.Service
	ids       *identity.Store
	users     map[string]campaigns.By
	// clock is the world's one clock (every service's and River's), running
	// from a working Monday at 10:00 in Shanghai.
	clock *testclock.Clock
	world *apptest.World
}

// templateKey is the marketing template every test campaign sends: SMS and
// email variants, no WeChat (marketing cannot go by template message).
const templateKey = apptest.CampaignTemplate

func ptr[T any](v T) *T { return &v }

type options struct {
	delivery delivery.Config
	cfg      campaigns.Config
	// providers, run: the world's providers and running River (setupLive).
	providers string
	run       bool
}

// setup builds the test world on a clock running from testclock.Base, saves the
// campaign template and creates a user of each role.
func setup(t *testing.T, o options) *bundle {
	t.Helper()
	clk := testclock.Running(testclock.Base())
	w := apptest.New(t, apptest.Options{Clock: clk, Providers: o.providers, Delivery: o.delivery, Campaigns: o.cfg, Run: o.run})
	w.SaveCampaignTemplate(t)
	b := &bundle{ctx: w.Ctx, db: w.DB, contacts: w.Contacts, templates: w.Templates, delivery: w.Delivery, svc: w.Campaigns, ids: w.Identity, users: map[string]campaigns.By{}, clock: clk, world: w}
	b.user(t, "mk", identity.RoleMarketer)
	b.user(t, "mk2", identity.RoleMarketer)
	b.user(t, "ap", identity.RoleApprover)
	b.user(t, "both", identity.RoleMarketer, identity.RoleApprover)
	b.user(t, "admin", identity.RoleAdmin)
	return b
}

// user creates a user and remembers who they act as.
func (b *bundle) user(t *testing.T, login string, roles ...identity.Role) campaigns.By {
	t.Helper()
	u, err := b.ids.CreateUser(b.ctx, audit.Actor{Name: "test"}, identity.NewUser{Login: login, DisplayName: login, Roles: roles})
	require.NoError(t, err)
	id := u.ID
	by := campaigns.By{Actor: audit.Actor{Name: "api:" + login, UserID: &id}, Roles: roles}
	b.users[login] = by
	return by
}

// addContacts creates n active contacts C0001… with a phone each (consent for
// SMS marketing) and tags, starting at number from.
func (b *bundle) addContacts(t *testing.T, from, n int, tweak func(i int, in *contacts.Input)) []int64 {
	t.Helper()
	var ids []int64
	for i := from; i < from+n; i++ {
		in := contacts.Input{ExternalID: ptr(fmt.Sprintf("C%04d", i)), Name: ptr(fmt.Sprintf("客户%d", i)), Gender: ptr("female"),
			Phone: ptr(fmt.Sprintf("1380000%04d", i)), Tier: ptr("A"), Tags: &[]string{"wealth"}, Consents: map[string]bool{"sms": true, "email": true}}
		if tweak != nil {
			tweak(i, &in)
		}
		c, err := b.contacts.Create(b.ctx, audit.Actor{Name: "test"}, in)
		require.NoError(t, err)
		ids = append(ids, c.ID)
	}
	return ids
}

// draft creates a campaign by the marketer "mk".
func (b *bundle) draft(t *testing.T, in campaigns.Input) campaigns.Campaign {
	t.Helper()
	if in.Name == nil {
		in.Name = ptr("Q1 wealth")
	}
	if in.Expression == nil && in.Segment == nil {
		in.Expression = ptr(`"wealth" in tags`)
	}
	if in.Template == nil {
		in.Template = ptr(templateKey)
	}
	if in.Channels == nil {
		in.Channels = &[]string{"sms"}
	}
	if in.Vars == nil {
		in.Vars = map[string]any{"product": "稳健理财"}
	}
	c, err := b.svc.Create(b.ctx, b.users["mk"], in)
	require.NoError(t, err)
	return c
}

// approved creates, submits (as mk) and approves (as ap) a campaign.
func (b *bundle) approved(t *testing.T, in campaigns.Input) campaigns.Campaign {
	t.Helper()
	c := b.draft(t, in)
	c, err := b.svc.Submit(b.ctx, b.users["mk"], c.ID)
	require.NoError(t, err)
	c, err = b.svc.Approve(b.ctx, b.users["ap"], c.ID, c.Version)
	require.NoError(t, err)
	return c
}

func itoa(n int64) string { return fmt.Sprint(n) }
