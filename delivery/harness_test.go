package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/channels/registry"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/internal/pgtest"
	"carillon/internal/testclock"
	"carillon/internal/testlog"
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
	receipts atomic.Int64
}

type harnessOpts struct {
	cfg     delivery.Config
	sandbox string // extra TOML for the aliyun sandbox, e.g. perm_fail_rate = 1.0
	aliyun  string // extra TOML for the aliyun provider itself, e.g. timeout = "300ms"
	noStart bool
	// renderer replaces testRenderer; it may be set after the database exists.
	renderer func(db *pgtest.DB) delivery.Renderer
}

// newHarness: real Postgres, real River, real adapters against their sandboxes,
// which push receipts to the adapters' own parsers and into ApplyReceipts.
func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	h := &harness{ctx: context.Background(), db: pgtest.New(t), clock: testclock.New(testclock.Base())} // 10:00 in Shanghai
	var err error
	h.store, err = contacts.NewStore(h.db.Pool, contacts.Config{Logger: testlog.New(t)})
	require.NoError(t, err)

	var svc atomic.Pointer[delivery.Service]
	var reg atomic.Pointer[channels.Registry]
	mux := http.NewServeMux()
	mux.HandleFunc("/hooks/{name}/receipts", func(w http.ResponseWriter, r *http.Request) {
		p, ok := reg.Load().Provider(r.PathValue("name"))
		if !ok || p.Receipts == nil {
			http.NotFound(w, r)
			return
		}
		channels.ReceiptHandler(p.Receipts, func(ctx context.Context, rs []channels.Receipt) error {
			_, err := svc.Load().ApplyReceipts(ctx, rs)
			h.receipts.Add(int64(len(rs)))
			return err
		}, testlog.New(t)).ServeHTTP(w, r)
	})
	hooks := httptest.NewServer(mux)
	t.Cleanup(hooks.Close)

	cfgText := fmt.Sprintf(`
[[provider]]
name = "ali"
provider = "aliyun"
endpoint = "sandbox"
key_id = "harness-key"
webhook_secret_env = "HOOK"
sign_name = "Carillon"
priority = 1
%[3]s
  [provider.sandbox]
  receipt_url = "%[1]s/hooks/ali/receipts?token=t0ken"
  %[2]s

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
  receipt_url = "%[1]s/hooks/oa/receipts?token=t0ken"

[[provider]]
name = "wecom"
provider = "wecom"
endpoint = "sandbox"
app_id = "1000002"
`, hooks.URL, strings.ReplaceAll(o.sandbox, ";", "\n  "), o.aliyun)
	ccfg, err := channels.DecodeTOML(cfgText)
	require.NoError(t, err)
	h.built, err = registry.Build(h.ctx, ccfg, registry.Deps{Pool: h.db.Pool, Logger: testlog.New(t), Getenv: func(k string) string {
		return map[string]string{"HOOK": "t0ken"}[k]
	}})
	require.NoError(t, err)
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.built.Stop(c)
	})
	reg.Store(h.built.Registry)

	cfg := o.cfg
	cfg.Logger = testlog.New(t)
	if cfg.Now == nil {
		cfg.Now = h.clock.Now
	}
	var rd delivery.Renderer = testRenderer{}
	if o.renderer != nil {
		rd = o.renderer(h.db)
	}
	s, err := delivery.New(h.db.Pool, cfg, delivery.Deps{Registry: h.built.Registry, Renderer: rd})
	require.NoError(t, err)
	svc.Store(s)
	h.svc = s

	workers := river.NewWorkers()
	river.AddWorker(workers, s.Worker(h.store))
	h.river, err = river.NewClient(riverpgxv5.New(h.db.Pool), &river.Config{
		Logger:            testlog.New(t),
		Queues:            map[string]river.QueueConfig{delivery.DefaultQueue: {MaxWorkers: 10}},
		Workers:           workers,
		FetchPollInterval: 50 * time.Millisecond,
		FetchCooldown:     10 * time.Millisecond,
		TestOnly:          true,
		Test:              river.TestConfig{Time: h.clock},
	})
	require.NoError(t, err)
	if !o.noStart {
		h.start(t)
	}
	h.seed(t)
	return h
}

func (h *harness) start(t *testing.T) {
	require.NoError(t, h.river.Start(h.ctx))
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = h.river.Stop(c)
	})
}

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
