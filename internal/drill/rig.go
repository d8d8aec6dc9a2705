package drill

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/calendar"
	"carillon/campaigns"
	"carillon/channels"
	"carillon/channels/sandbox"
	"carillon/contacts"
	"carillon/internal/app"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/pgdev"
	"carillon/migrations"
	"carillon/templates"
)

// The drill's rig: real `carillon serve` processes started from the binary,
// the providers' sandboxes in the drill's own process (so a killed server
// loses nothing the provider received), small proxies in front of them (an
// outage, per-node counts), a receipt relay that keeps what the provider
// pushes while the server is down (as a provider retries its callbacks), and
// a database of the drill's own.

const (
	drillTemplate     = "drill.offer"
	drillHookEnv      = "CARILLON_DRILL_HOOK"
	drillSecretEnv    = "CARILLON_DRILL_PROVIDER_SECRET"
	drillRescueAfter  = "5s"
	drillReadyTimeout = 90 * time.Second
)

// rig is one drill's world. close releases all of it.
type rig struct {
	getenv  func(string) string
	dir     string // logs and the configuration; kept when the drill fails
	bin     string
	pool    *pgxpool.Pool
	svc     *app.Services // the services on pool, as the servers wire them; the drills check through them
	dbURL   string
	dropDB  func()
	hook    string // the webhook token the server checks
	relay   *relay
	nodes   []*node
	closers []func()
}

func newRig(ctx context.Context, opts Options, name string) (*rig, error) {
	dir, err := os.MkdirTemp("", "carillon-drill-"+name+"-")
	if err != nil {
		return nil, err
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	r := &rig{getenv: opts.Getenv, dir: dir, bin: opts.Bin, hook: hex.EncodeToString(b)}
	if r.relay, err = startRelay(ctx); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	r.closers = append(r.closers, r.relay.close)
	return r, nil
}

// close stops every node and sandbox and drops the database; the directory of
// logs is removed unless keep.
func (r *rig) close(keep bool) {
	for _, n := range r.nodes {
		n.stop()
	}
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
	if r.pool != nil {
		r.pool.Close()
	}
	if r.dropDB != nil {
		r.dropDB()
	}
	if !keep {
		_ = os.RemoveAll(r.dir)
	}
}

// openSharedDB makes a database of the drill's own on the server other
// commands use (DATABASE_URL, 127.0.0.1:5432 or the private cluster), dropped
// at the end.
func (r *rig) openSharedDB(ctx context.Context) error {
	srv, err := pgdev.Find(ctx, pgdev.Config{Env: r.getenv, Database: "postgres"})
	if err != nil {
		return err
	}
	url, _, drop, err := app.ScratchDB(ctx, srv, "carillon_drill")
	if err != nil {
		return err
	}
	r.dropDB = drop
	return r.openPool(ctx, url)
}

// openPool opens the drill's pool on url and migrates the database.
func (r *rig) openPool(ctx context.Context, dbURL string) error {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return err
	}
	cfg.MaxConns = 4
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "carillon-drill"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	r.pool, r.dbURL = pool, dbURL
	if _, err := migrations.Up(ctx, pool, nil); err != nil {
		return fmt.Errorf("migrate the drill's database: %w", err)
	}
	if _, err := templates.InstallBuiltins(ctx, pool); err != nil {
		return fmt.Errorf("install built-in templates: %w", err)
	}
	if r.svc, err = app.NewServices(pool, app.ServicesConfig{}); err != nil {
		return err
	}
	return nil
}

// ---------------------------------------------------------------- providers

// startAliyun starts an Aliyun SMS sandbox in this process pushing receipts to
// the relay. Its recorder keeps counts only (a million recipients fit).
func (r *rig) startAliyun(ctx context.Context, name string, b channels.SandboxConfig) (*sandbox.Aliyun, error) {
	b.ReceiptURL = r.relay.url() + "/hooks/aliyun/" + name + "/receipts?token=" + r.hook
	s, err := sandbox.StartAliyun(ctx, sandbox.Options{Name: name, Behavior: b, KeyID: "drill-" + name, Secret: channels.DefaultSandboxSecret})
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { stopSandbox(s.Stop) })
	return s, nil
}

func (r *rig) startTencent(ctx context.Context, name string, b channels.SandboxConfig) (*sandbox.Tencent, error) {
	b.ReceiptURL = r.relay.url() + "/hooks/tencent/" + name + "/receipts?token=" + r.hook
	s, err := sandbox.StartTencent(ctx, sandbox.Options{Name: name, Behavior: b, KeyID: "drill-" + name, Secret: channels.DefaultSandboxSecret})
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, func() { stopSandbox(s.Stop) })
	return s, nil
}

func stopSandbox(stop func(context.Context)) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stop(ctx)
}

// proxy stands between a server and a sandbox: it counts what passes, and
// answers 503 to everything while an outage lasts.
type proxy struct {
	srv      *http.Server
	ln       net.Listener
	outage   atomic.Bool
	passed   atomic.Int64
	refused  atomic.Int64
	outageAt atomic.Int64 // unix nanos of the first 503
}

func (r *rig) startProxy(target string) (*proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = nil
	p.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if p.outage.Load() {
			p.refused.Add(1)
			p.outageAt.CompareAndSwap(0, time.Now().UnixNano())
			_, _ = io.Copy(io.Discard, req.Body)
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		p.passed.Add(1)
		rp.ServeHTTP(w, req)
	})}
	go func() { _ = p.srv.Serve(ln) }()
	r.closers = append(r.closers, func() { _ = p.srv.Close() })
	return p, nil
}

func (p *proxy) url() string { return "http://" + p.ln.Addr().String() }

// relay takes the receipts a sandbox pushes, answers at once, and forwards
// them to a running server, retrying until one takes them: a provider retries
// its callbacks, and a receipt must not be lost because the server was down.
type relay struct {
	srv       *http.Server
	ln        net.Listener
	mu        sync.Mutex
	targets   []string // server base URLs
	next      int
	queue     chan relayed
	wg        sync.WaitGroup
	cancel    context.CancelFunc
	taken     atomic.Int64
	forwarded atomic.Int64
	retried   atomic.Int64
}

type relayed struct {
	path, ctype string
	body        []byte
	n           int64 // pushes it carries
}

func startRelay(ctx context.Context) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("drill: receipt relay: %w", err)
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rl := &relay{ln: ln, queue: make(chan relayed, 1<<16), cancel: cancel}
	rl.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(io.LimitReader(req.Body, 8<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rl.taken.Add(1)
		select {
		case rl.queue <- relayed{path: req.URL.RequestURI(), ctype: req.Header.Get("Content-Type"), body: body, n: 1}:
		case <-req.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"code":0,"msg":"接收成功"}`))
	})}
	go func() { _ = rl.srv.Serve(ln) }()
	hc := &http.Client{Timeout: 10 * time.Second}
	for range 4 {
		rl.wg.Add(1)
		go func() {
			defer rl.wg.Done()
			for {
				select {
				case <-rctx.Done():
					return
				case it := <-rl.queue:
					for _, b := range rl.coalesce(it) {
						rl.forward(rctx, hc, b)
					}
				}
			}
		}()
	}
	return rl, nil
}

func (rl *relay) url() string { return "http://" + rl.ln.Addr().String() }

// setTargets names the servers receipts go to (round robin, skipping one that
// does not answer).
func (rl *relay) setTargets(ts ...string) {
	rl.mu.Lock()
	rl.targets = ts
	rl.mu.Unlock()
}

func (rl *relay) target() string {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if len(rl.targets) == 0 {
		return ""
	}
	rl.next++
	return rl.targets[rl.next%len(rl.targets)]
}

// relayBatch is how many pushes the relay forwards as one: after an outage
// the provider's backlog goes out in large batches, as a provider's retries do.
const relayBatch = 20

// coalesce takes the pushes queued behind first (up to relayBatch) and joins
// the JSON arrays pushed to one URL into one array.
func (rl *relay) coalesce(first relayed) []relayed {
	items := []relayed{first}
more:
	for len(items) < relayBatch {
		select {
		case it := <-rl.queue:
			items = append(items, it)
		default:
			break more
		}
	}
	var out []relayed
	joined := map[string]int{} // path → index in out of its JSON array
	for _, it := range items {
		body := bytes.TrimSpace(it.body)
		isArray := len(body) >= 2 && body[0] == '[' && body[len(body)-1] == ']'
		i, ok := joined[it.path]
		if !isArray || !ok {
			out = append(out, relayed{path: it.path, ctype: it.ctype, body: body, n: it.n})
			if isArray {
				joined[it.path] = len(out) - 1
			}
			continue
		}
		prev := out[i].body
		if len(prev) == 2 { // []
			out[i].body = body
		} else if len(body) > 2 {
			merged := make([]byte, 0, len(prev)+len(body))
			merged = append(merged, prev[:len(prev)-1]...)
			merged = append(merged, ',')
			merged = append(merged, body[1:]...)
			out[i].body = merged
		}
		out[i].n += it.n
	}
	return out
}

func (rl *relay) forward(ctx context.Context, hc *http.Client, it relayed) {
	for {
		if t := rl.target(); t != "" {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, t+it.path, bytes.NewReader(it.body))
			if err == nil {
				req.Header.Set("Content-Type", it.ctype)
				resp, err := hc.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode/100 == 2 {
						rl.forwarded.Add(it.n)
						return
					}
				}
			}
		}
		rl.retried.Add(1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// pending is how many pushes wait to be forwarded.
func (rl *relay) pending() int64 { return rl.taken.Load() - rl.forwarded.Load() }

func (rl *relay) close() {
	rl.cancel()
	_ = rl.srv.Close()
	rl.wg.Wait()
}

// ---------------------------------------------------------------- servers

// node is one `carillon serve` process.
type node struct {
	name    string
	addr    string
	cmd     *exec.Cmd
	log     *os.File
	logPath string
	exited  chan struct{}
	err     error
}

// drillDeliveryWorkers is each node's deliver workers: few enough that two
// nodes and a drill stay well within a shared server's 100 connections (each
// node's pool holds at most 40).
const drillDeliveryWorkers = 10

// serverConfig is the configuration file of a node: quiet hours and caps off
// (a drill runs at any hour), the providers given as TOML.
func serverConfig(addr, deliveryExtra, providers string) string {
	return fmt.Sprintf(`[server]
public_url = "http://%s"

[delivery]
marketing_hours = "always"
service_hours = "always"
frequency_cap = -1
workers = %d
%s

[bank]
name = "Carillon银行"
hotline = "95000"

%s`, addr, drillDeliveryWorkers, deliveryExtra, providers)
}

// aliyunProvider is a provider entry pointing at endpoint (a sandbox or a
// proxy in front of one).
func aliyunProvider(name, endpoint string, priority int) string {
	return fmt.Sprintf(`[[channels.provider]]
name = %q
provider = "aliyun"
endpoint = %q
key_id = "drill-%s"
secret_env = %q
webhook_secret_env = %q
sign_name = "Carillon银行"
rate = 100000
priority = %d
timeout = "5s"

`, name, endpoint, name, drillSecretEnv, drillHookEnv, priority)
}

func tencentProvider(name, endpoint string, priority int) string {
	return fmt.Sprintf(`[[channels.provider]]
name = %q
provider = "tencent"
endpoint = %q
key_id = "drill-%s"
secret_env = %q
webhook_secret_env = %q
app_id = "1400000000"
sign_name = "Carillon银行"
rate = 100000
priority = %d
timeout = "5s"

`, name, endpoint, name, drillSecretEnv, drillHookEnv, priority)
}

// freeAddr returns a loopback address with a port free at the moment.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// newNode writes a node's configuration; start runs it.
func (r *rig) newNode(name, config string, addr string) (*node, error) {
	path := filepath.Join(r.dir, name+".toml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		return nil, err
	}
	n := &node{name: name, addr: addr, logPath: filepath.Join(r.dir, name+".log")}
	r.nodes = append(r.nodes, n)
	return n, nil
}

// start runs `carillon serve` and waits until it answers /readyz.
func (r *rig) start(ctx context.Context, n *node) error {
	log, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "--- drill: %s starts %s\n", time.Now().Format(time.RFC3339Nano), n.name)
	cmd := exec.Command(r.bin, "serve")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+r.dbURL,
		"CARILLON_CONFIG="+filepath.Join(r.dir, n.name+".toml"),
		"CARILLON_ADDR="+n.addr,
		"CARILLON_OPS_ADDR=",
		"CARILLON_RESCUE_STUCK_JOBS_AFTER="+drillRescueAfter,
		"CARILLON_LOG_LEVEL=warn",
		drillHookEnv+"="+r.hook,
		drillSecretEnv+"="+channels.DefaultSandboxSecret,
	)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s (%s serve): %w", n.name, r.bin, err)
	}
	n.cmd, n.log, n.exited, n.err = cmd, log, make(chan struct{}), nil
	go func(done chan struct{}) {
		n.err = cmd.Wait()
		log.Close()
		close(done)
	}(n.exited)
	return n.waitReady(ctx, drillReadyTimeout)
}

// waitReady polls /readyz until it answers 200.
func (n *node) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-n.exited:
			return fmt.Errorf("%s exited before it was ready (%v); log: %s", n.name, n.err, n.logPath)
		default:
		}
		resp, err := hc.Get("http://" + n.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s; log: %s", n.name, timeout, n.logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (n *node) running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (n *node) kill() {
	if !n.running() {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
}

// stop asks the node to stop (SIGTERM), then kills it after 20 s.
func (n *node) stop() {
	if !n.running() {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(20 * time.Second):
		n.kill()
	}
}

func (n *node) base() string { return "http://" + n.addr }

// ---------------------------------------------------------------- load

// loadContacts imports n contacts, each with a mobile number of its own and
// SMS marketing consent, tagged "drill"; birthdays of every hundredth fall on
// birthdayToday.
func (r *rig) loadContacts(ctx context.Context, n int, birthdayToday calendar.Date) error {
	store := r.svc.Contacts
	var b bytes.Buffer
	b.WriteString("external_id,name,gender,phone,birthday,tags,consent_sms\n")
	for i := range n {
		bday := ""
		if i%100 == 0 {
			bday = fmt.Sprintf("1980-%02d-%02d", birthdayToday.Month, birthdayToday.Day)
		}
		fmt.Fprintf(&b, "D%07d,客户%d,%s,139%08d,%s,drill,yes\n", i, i, []string{"female", "male"}[i%2], i, bday)
	}
	rep, err := store.ImportContacts(ctx, &b, contacts.ImportOptions{Actor: audit.Actor{Name: "drill"}, SourceName: "drill contacts"})
	if err != nil {
		return fmt.Errorf("import the drill's contacts: %w", err)
	}
	if rep.Inserted != n {
		return fmt.Errorf("import the drill's contacts: %d of %d inserted, %d failed (first: %v)", rep.Inserted, n, rep.Failed, firstErr(rep))
	}
	return nil
}

// campaignLoad is an approved campaign to every drill contact by SMS: made by
// a marketer, approved by an approver (maker-checker), through campaigns' Go
// API on the drill's database. Starting it writes the run and its fan-out job;
// the servers' River workers do the rest.
type campaignLoad struct {
	svc      *campaigns.Service
	marketer campaigns.By
	id       int64
}

func (r *rig) prepareCampaign(ctx context.Context, name string) (*campaignLoad, error) {
	ts, svc, ids := r.svc.Templates, r.svc.Campaigns, r.svc.Identity
	actor := audit.Actor{Name: "drill"}
	if _, _, err := ts.Save(ctx, actor, templates.Definition{Key: drillTemplate, Purpose: templates.Marketing, Source: templates.SourceCampaign, DefaultLocale: "zh-CN",
		Variables: []templates.Variable{{Name: "product", Type: templates.String, Required: true, Label: "产品", LabelEN: "Product", Sample: "稳健理财"}},
		Variants: []templates.Variant{{Channel: templates.SMS, Locale: "zh-CN", SMS: &templates.SMSVariant{SignName: "Carillon银行",
			Text: "{{.Contact.Salutation}}，{{.Campaign.product}}今日上线。拒收请回复R",
			Providers: map[string]templates.ProviderTemplate{
				templates.ProviderAliyun:  {Code: "SMS_900001", Params: map[string]string{"name": "{{.Contact.Salutation}}", "product": "{{.Campaign.product}}"}},
				templates.ProviderTencent: {Code: "900001", Params: map[string]string{"1": "{{.Contact.Salutation}}", "2": "{{.Campaign.product}}"}},
			}}}}}, templates.SaveOptions{Activate: true}); err != nil {
		return nil, fmt.Errorf("save the drill's template: %w", err)
	}
	if _, err := app.SandboxCodes(ctx, ts, actor); err != nil {
		return nil, err
	}
	user := func(login string, role identity.Role) (campaigns.By, error) {
		u, err := ids.CreateUser(ctx, actor, identity.NewUser{Login: login, DisplayName: login, Roles: []identity.Role{role}})
		if err != nil {
			return campaigns.By{}, fmt.Errorf("create user %s: %w", login, err)
		}
		id := u.ID
		return campaigns.By{Actor: audit.Actor{Name: "drill:" + login, UserID: &id}, Roles: []identity.Role{role}}, nil
	}
	mk, err := user("drill-marketer", identity.RoleMarketer)
	if err != nil {
		return nil, err
	}
	ap, err := user("drill-approver", identity.RoleApprover)
	if err != nil {
		return nil, err
	}
	expr, tmpl, product := `"drill" in tags`, drillTemplate, "稳健理财"
	c, err := svc.Create(ctx, mk, campaigns.Input{Name: &name, Expression: &expr, Template: &tmpl, Channels: &[]string{"sms"},
		Vars: map[string]any{"product": product}})
	if err != nil {
		return nil, fmt.Errorf("create the drill's campaign: %w", err)
	}
	if c, err = svc.Submit(ctx, mk, c.ID); err != nil {
		return nil, fmt.Errorf("submit the drill's campaign: %w", err)
	}
	if c, err = svc.Approve(ctx, ap, c.ID, c.Version); err != nil {
		return nil, fmt.Errorf("approve the drill's campaign: %w", err)
	}
	return &campaignLoad{svc: svc, marketer: mk, id: c.ID}, nil
}

// start starts the campaign and returns its run's id.
func (l *campaignLoad) start(ctx context.Context) (int64, error) {
	if _, err := l.svc.Start(ctx, l.marketer, l.id); err != nil {
		return 0, fmt.Errorf("start the drill's campaign: %w", err)
	}
	return l.svc.LatestRun(ctx, l.id)
}

// runCounts is what became of a run's messages.
type runCounts struct {
	written, final, delivered, open int
	recipients                      int
}

func readRun(ctx context.Context, svc *app.Services, run int64) (runCounts, error) {
	var c runCounts
	var err error
	if c.recipients, err = svc.Campaigns.RunRecipients(ctx, run); err != nil {
		return c, err
	}
	t, err := svc.Delivery.SourceTally(ctx, campaigns.SourceRun, runKey(run))
	c.written, c.final, c.delivered = t.Written, t.Final, t.Delivered
	c.open = c.written - c.final
	return c, err
}

// waitRun waits until the run has written a message for every recipient and
// each message is in a final state (its receipt applied).
func waitRun(ctx context.Context, svc *app.Services, run int64, timeout time.Duration, progress func(runCounts)) (runCounts, error) {
	deadline := time.Now().Add(timeout)
	var last runCounts
	for {
		c, err := readRun(ctx, svc, run)
		if err == nil {
			last = c
			if progress != nil {
				progress(c)
			}
			if c.recipients > 0 && c.written == c.recipients && c.open == 0 {
				return c, nil
			}
		}
		if time.Now().After(deadline) {
			return last, fmt.Errorf("after %s the run has %d of %d recipients' messages written, %d not final", timeout, last.written, last.recipients, last.open)
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// waitAccepted waits until the provider accepted at least n messages.
func waitAccepted(ctx context.Context, rec *sandbox.Recorder, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for rec.Count() < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("the provider accepted %d messages in %s, waiting for %d", rec.Count(), timeout, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// ---------------------------------------------------------------- checks

// reached compares the run's messages with what the providers accepted:
// messages no provider ever got, and sends beyond the first per message.
type reached struct {
	missing, duplicates, duplicated int
	missingExample                  int64
	dupIDs                          []int64
}

func compareWithProviders(ctx context.Context, svc *app.Services, run int64, recs ...*sandbox.Recorder) (reached, error) {
	var out reached
	msgs, err := svc.Delivery.SourceMessages(ctx, campaigns.SourceRun, runKey(run), "")
	if err != nil {
		return out, err
	}
	for _, m := range msgs {
		id := m.ID
		key := fmt.Sprint(id)
		n := 0
		for _, rec := range recs {
			n += rec.SendsOf(key)
		}
		if n == 0 {
			if out.missing == 0 {
				out.missingExample = id
			}
			out.missing++
		}
		if n > 1 {
			out.duplicates += n - 1
			out.duplicated++
			out.dupIDs = append(out.dupIDs, id)
		}
	}
	return out, nil
}

// flaggedInTimeline returns how many of ids have a timeline event that says
// the message may have gone twice.
func flaggedInTimeline(ctx context.Context, svc *app.Services, ids []int64) (int, error) {
	return svc.Contacts.MaybeDuplicateMessages(ctx, ids)
}

// finalEventsPerMessage counts the run's messages whose timeline holds other
// than exactly one final event (delivered, failed, suppressed, cancelled).
func finalEventsPerMessage(ctx context.Context, svc *app.Services, run int64) (wrong int, err error) {
	msgs, err := svc.Delivery.SourceMessages(ctx, campaigns.SourceRun, runKey(run), "")
	if err != nil {
		return 0, err
	}
	var ids, contactIDs []int64
	for _, m := range msgs {
		if m.ContactID != 0 {
			ids, contactIDs = append(ids, m.ID), append(contactIDs, m.ContactID)
		}
	}
	return svc.Contacts.MessagesWithoutOneFinalEvent(ctx, ids, contactIDs)
}

// attempts returns the most attempts any message of the run took and the
// number of messages that took more than one.
func attempts(ctx context.Context, svc *app.Services, run int64) (maxAttempts, retried int, mean float64, err error) {
	t, err := svc.Delivery.SourceTally(ctx, campaigns.SourceRun, runKey(run))
	return t.MaxAttempts, t.Retried, t.MeanAttempts, err
}

// byProvider counts the run's messages by the provider that carried them.
func byProvider(ctx context.Context, svc *app.Services, run int64) (map[string]int, error) {
	return svc.Delivery.SourceByProvider(ctx, campaigns.SourceRun, runKey(run))
}

// Today is the day in Asia/Shanghai, the zone the drill's care rule runs in.
func Today() calendar.Date {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	return calendar.DateOf(time.Now().In(loc))
}

// ErrFailed is what a drill run whose invariant broke ends with.
var ErrFailed = errors.New("an invariant broke")

// CheckBinary checks that bin runs and says it is carillon.
func CheckBinary(ctx context.Context, bin string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "version").Output()
	if err != nil {
		return fmt.Errorf("drill: %s version: %w (build it with make build and pass --bin bin/carillon)", bin, err)
	}
	if !strings.HasPrefix(string(out), "carillon") {
		return fmt.Errorf("drill: %s is not carillon (its version says %q); pass --bin bin/carillon", bin, strings.TrimSpace(string(out)))
	}
	return nil
}

// runKey is a run's id as the outbox's source_id.
func runKey(run int64) string { return strconv.FormatInt(run, 10) }

// oneNodeRun is the start both the crash and the db-restart drills make: size
// contacts, an approved campaign, the Aliyun sandbox (10 ms latency) in the
// drill's process, one server node pointed at it, and the campaign started.
// It returns the node, the sandbox's recorder, the run and when it started.
func (r *rig) oneNodeRun(ctx context.Context, size int, name string) (*node, *sandbox.Recorder, int64, time.Time, error) {
	if err := r.loadContacts(ctx, size, Today()); err != nil {
		return nil, nil, 0, time.Time{}, err
	}
	load, err := r.prepareCampaign(ctx, name)
	if err != nil {
		return nil, nil, 0, time.Time{}, err
	}
	ali, err := r.startAliyun(ctx, "ali", channels.SandboxConfig{Latency: channels.Duration(10 * time.Millisecond)})
	if err != nil {
		return nil, nil, 0, time.Time{}, err
	}
	rec := ali.Recorder()
	rec.KeepContent(false)
	addr, err := freeAddr()
	if err != nil {
		return nil, nil, 0, time.Time{}, err
	}
	n, err := r.newNode("node", serverConfig(addr, "", aliyunProvider("ali", ali.URL(), 1)), addr)
	if err != nil {
		return nil, nil, 0, time.Time{}, err
	}
	if err := r.start(ctx, n); err != nil {
		return nil, nil, 0, time.Time{}, err
	}
	r.relay.setTargets(n.base())
	run, err := load.start(ctx)
	if err != nil {
		return nil, nil, 0, time.Time{}, err
	}
	return n, rec, run, time.Now(), nil
}

// firstErr is the first error of an import report, for a message.
func firstErr(rep *contacts.ImportReport) any {
	if len(rep.Errors) > 0 {
		return rep.Errors[0]
	}
	return nil
}
