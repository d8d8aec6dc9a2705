package delivery_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/channels/registry"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/apptest"
	"carillon/internal/audit"
	"carillon/internal/pgtest"
	"carillon/internal/testclock"
	"carillon/templates"
)

// testRenderer renders every template as a short text, a mainland SMS template or
// a WeChat template message; templates named no_<channel> have no variant there.
type testRenderer struct{}

func (testRenderer) Render(_ context.Context, req delivery.RenderRequest) (delivery.Rendered, error) {
	if req.TemplateKey == "no_"+string(req.Channel) {
		return delivery.Rendered{}, delivery.ErrNoVariant
	}
	name := ""
	if req.Contact != nil {
		name = req.Contact.Name
	}
	r := delivery.Rendered{Version: 1, Subject: "Carillon", Text: fmt.Sprintf("%s: hello %s", req.TemplateKey, name)}
	if req.TemplateVersion > 1 {
		return delivery.Rendered{}, fmt.Errorf("template %s has no version %d", req.TemplateKey, req.TemplateVersion)
	}
	switch {
	case req.Channel == channels.SMS && (req.ProviderKind == "aliyun" || req.ProviderKind == "tencent"):
		r.Template = &channels.ProviderTemplate{Code: "SMS_100", Params: []channels.TemplateParam{{Name: "name", Value: name}}}
	case req.Channel == channels.WeChat:
		r.WeChat = &channels.WeChatPayload{TemplateID: "tpl-1", Fields: []channels.WeChatField{{Key: "thing1", Value: "生日快乐"}}}
	}
	return r, nil
}

type harness struct {
	ctx      context.Context
	db       *pgtest.DB
	store    *contacts.Store
	svc      *delivery.Service
	built    *registry.Built
	river    *river.Client[pgx.Tx]
	clock    *testclock.Clock // the world's one clock: the services' and River's
	receipts *atomic.Int64    // the receipts the hooks applied
	w        *apptest.World
}

type harnessOpts struct {
	cfg     delivery.Config
	sandbox string // extra TOML for the aliyun sandbox, e.g. perm_fail_rate = 1.0
	aliyun  string // extra TOML for the aliyun provider itself, e.g. timeout = "300ms"
	noStart bool
	// renderer replaces testRenderer; it may be set after the database exists.
	renderer func(db *pgtest.DB) delivery.Renderer
}

// harnessProviders are the harness's providers, each behind its sandbox: aliyun
// SMS and WeChat OA push receipts to the world's hooks.
const harnessProviders = `
[[provider]]
name = "ali"
provider = "aliyun"
endpoint = "sandbox"
key_id = "harness-key"
webhook_secret_env = "HOOK"
sign_name = "Carillon"
priority = 1
%[2]s
  [provider.sandbox]
  %[3]s
  %[1]s

[[provider]]
name = "mail"
provider = "smtp"
endpoint = "sandbox"
from = "care@bank.example"
webhook_secret_env = "HOOK"

[[provider]]
name = "oa"
provider = "wechat_oa"
endpoint = "sandbox"
webhook_secret_env = "HOOK"
  [provider.sandbox]
  %[4]s

[[provider]]
name = "wecom"
provider = "wecom"
endpoint = "sandbox"
app_id = "1000002"
`

// newHarness: the test world (real Postgres, real River, real adapters against
// their sandboxes, which push receipts to the adapters' own parsers and into
// ApplyReceipts) with testRenderer, a clock standing at testclock.Base (10:00 in
// Shanghai) and the seeded contacts.
func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	render := func(*pgtest.DB, *templates.Store) delivery.Renderer { return testRenderer{} }
	if o.renderer != nil {
		render = func(db *pgtest.DB, _ *templates.Store) delivery.Renderer { return o.renderer(db) }
	}
	w := apptest.New(t, apptest.Options{
		Providers: fmt.Sprintf(harnessProviders, strings.ReplaceAll(o.sandbox, ";", "\n  "), o.aliyun,
			apptest.ReceiptURL("ali"), apptest.ReceiptURL("oa")),
		Delivery: o.cfg,
		Renderer: render,
		Run:      true,
		NoStart:  o.noStart,
	})
	h := &harness{ctx: w.Ctx, db: w.DB, store: w.Contacts, svc: w.Delivery, built: w.Built, river: w.River, clock: w.Clock, receipts: &w.Receipts, w: w}
	h.seed(t)
	return h
}

func (h *harness) start(*testing.T) { h.w.Start() }

// seed imports a manager and five contacts: C1 with every channel and marketing
// consent on sms and email; C2 with a phone only and no consent; C3 deceased; C4
// with an openid and email only; C5 in New York.
func (h *harness) seed(t *testing.T) {
	_, err := h.store.ImportManagers(h.ctx, strings.NewReader("code,name,email,wecom_userid\nM1,王芳,wang@bank.example,wangfang\n"), contacts.ImportOptions{Actor: audit.Actor{Name: "test"}})
	require.NoError(t, err)
	rep, err := h.store.ImportContacts(h.ctx, strings.NewReader(
		"external_id,name,phone,email,wechat_openid,status,timezone,manager,consent_sms,consent_email\n"+
			"C1,张伟,13812345671,c1@example.com,oAbCdEfGhIjKlMnOpQrStUvWxYz1,active,,M1,yes,yes\n"+
			"C2,李娜,13812345672,,,active,,M1,,\n"+
			"C3,王强,13812345673,,,deceased,,M1,yes,\n"+
			"C4,Emily Chen,,c4@example.com,oAbCdEfGhIjKlMnOpQrStUvWxYz4,active,,M1,,yes\n"+
			"C5,James Lee,+12125550101,c5@example.com,,active,America/New_York,M1,yes,yes\n"),
		contacts.ImportOptions{Actor: audit.Actor{Name: "test"}})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
}

func (h *harness) contact(t *testing.T, ext string) contacts.Contact {
	c, err := h.store.GetByExternalID(h.ctx, ext)
	require.NoError(t, err)
	return c
}

func (h *harness) enqueue(t *testing.T, ps ...delivery.Planned) delivery.EnqueueResult {
	t.Helper()
	var res delivery.EnqueueResult
	require.NoError(t, pgx.BeginFunc(h.ctx, h.db.Pool, func(tx pgx.Tx) error {
		var err error
		res, err = h.svc.Enqueue(h.ctx, tx, ps)
		return err
	}))
	return res
}

type msgRow struct {
	Status, Reason, Channel string
	ParentID                *int64
}

func (h *harness) message(t *testing.T, id int64) msgRow {
	var m msgRow
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT status, reason, COALESCE(channel, ''), parent_id FROM messages WHERE id = $1`, id).
		Scan(&m.Status, &m.Reason, &m.Channel, &m.ParentID))
	return m
}

// waitFor polls until the message reaches one of statuses and its send is recorded.
func (h *harness) waitFor(t *testing.T, id int64, statuses ...string) msgRow {
	t.Helper()
	return h.wait(t, id, true, statuses...)
}

// wait is waitFor; recordedToo says whether to wait for the worker's record as well.
func (h *harness) wait(t *testing.T, id int64, recordedToo bool, statuses ...string) msgRow {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		m := h.message(t, id)
		// A receipt can make a message delivered before the worker has recorded its
		// send (channel, provider): wait for both.
		recorded := !recordedToo || m.Channel != "" || (m.Status != "sent" && m.Status != "delivered")
		for _, s := range statuses {
			if m.Status == s && recorded {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %d is %s (%s), not %v", id, m.Status, m.Reason, statuses)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) kinds(t *testing.T, contactID int64) []string {
	page, err := h.store.Timeline(h.ctx, contactID, contacts.TimelineFilter{Kind: "message.", Limit: 100})
	require.NoError(t, err)
	var out []string
	for i := len(page.Items) - 1; i >= 0; i-- {
		out = append(out, page.Items[i].Kind)
	}
	return out
}

func planned(key string, contactID int64, purpose channels.Purpose, chans ...channels.Channel) delivery.Planned {
	return delivery.Planned{DedupeKey: key, ContactID: contactID, Source: "test", Purpose: purpose, TemplateKey: "greeting", Channels: chans}
}

// scheduledJob waits until exactly one deliver job waits in River's scheduled
// state and returns it.
func (h *harness) scheduledJob(t *testing.T) *rivertype.JobRow {
	t.Helper()
	var job *rivertype.JobRow
	require.Eventually(t, func() bool {
		res, err := h.river.JobList(h.ctx, river.NewJobListParams().Kinds(delivery.DeliverArgs{}.Kind()).States(rivertype.JobStateScheduled))
		require.NoError(t, err)
		if len(res.Jobs) != 1 {
			return false
		}
		job = res.Jobs[0]
		return true
	}, 20*time.Second, 20*time.Millisecond, "one deliver job waits to be scheduled")
	return job
}

// release moves the world's clock to the job's scheduled time and hands the job to
// River's workers at once: what River's scheduler does on its next pass (every
// 5 s, by the same clock).
func (h *harness) release(t *testing.T, job *rivertype.JobRow) {
	t.Helper()
	if job.ScheduledAt.After(h.clock.Now()) {
		h.clock.Set(job.ScheduledAt)
	}
	_, err := h.river.JobRetry(h.ctx, job.ID)
	require.NoError(t, err)
}
