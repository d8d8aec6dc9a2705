package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	mail "github.com/wneessen/go-mail"

	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/pgdev"
)

// Defaults of `bench email`.
const (
	DefaultEmailMessages    = 20_000
	DefaultEmailConnections = 10
	// benchEmailWindow is the campaign's own send window; the clock of the run
	// is put at benchEmailLocalHour in the recipients' zone, inside it and
	// inside delivery's default marketing window.
	benchEmailWindow    = "09:00-20:00"
	benchEmailLocalHour = 10
)

// EmailDetail is what `bench email` reports beside the rates: the medians of
// the runs. CPU is this process's user+system time (the SMTP sink runs in it
// too, on both sides); Postgres's is the whole server's from /proc when the
// server runs on this machine (nil: not measured).
type EmailDetail struct {
	Connections                  int      `json:"connections"`
	CPUMicrosPerMessage          float64  `json:"cpu_us_per_message"`
	BaselineCPUMicrosPerMessage  float64  `json:"baseline_cpu_us_per_message"`
	SinkBytesPerMessage          float64  `json:"sink_bytes_per_message"`
	BaselineSinkBytesPerMessage  float64  `json:"baseline_sink_bytes_per_message"`
	PostgresCPUMicrosPerMessage  *float64 `json:"postgres_cpu_us_per_message,omitempty"`
	PostgresIdleMicrosPerMessage *float64 `json:"postgres_cpu_us_per_message_during_baseline,omitempty"`
	PostgresXactsPerMessage      float64  `json:"postgres_xacts_per_message"`
	PostgresRowsPerMessage       float64  `json:"postgres_rows_written_per_message"`
	// MessagesSent is the messages the outbox holds as sent at the end of the
	// runs, SinkAccepted the mails the sink accepted from them (the baselines'
	// not counted), over every run: equal when no message went out twice.
	MessagesSent int      `json:"messages_sent"`
	SinkAccepted int64    `json:"sink_accepted"`
	Clock        string   `json:"clock"`
	Notes        []string `json:"notes"`
}

// emailRun is one run's measurements.
type emailRun struct {
	rate, baseRate       float64
	cpu, baseCPU         float64 // µs per message
	bytes, baseBytes     float64
	pgCPU, pgIdle        float64 // µs per message, -1: not measured
	xacts, rows          float64
	localStart, location string
	sent                 int   // messages the outbox holds as sent
	sinkMails            int64 // mails the sink accepted from the campaign
}

// benchEmail measures the user's path for email: a campaign created and
// submitted by a marketer, approved by an approver and started through
// campaigns.Service, its messages claimed, rendered (links tracked), sent over
// connections pooled SMTP connections and recorded with their timeline events
// — start call to the last message accepted by an SMTP sink in this process
// that counts and discards. The baseline, in the same run to the same sink:
// the same number of messages of the same bytes (one the campaign sent,
// pre-rendered) over the same number of connections by a bare go-mail loop.
func benchEmail(ctx context.Context, e *env, srv pgdev.Server, size, runs, conns int) (*Figure, error) {
	if conns < 1 {
		return nil, fmt.Errorf("--connections must be at least 1")
	}
	f := &Figure{Unit: "msgs/s", BaselineName: "bare go-mail loop msgs/s", Size: size}
	var rs []emailRun
	_, err := eachRun(ctx, e, srv, f, "email", runs, func(pool *pgxpool.Pool) (float64, float64, error) {
		r, err := emailOnce(ctx, e, pool, size, conns, time.Now())
		if err != nil {
			return 0, 0, err
		}
		rs = append(rs, r)
		return r.rate, r.baseRate, nil
	})
	if err != nil {
		return nil, err
	}
	med := func(get func(emailRun) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = get(r)
		}
		return median(xs)
	}
	d := &EmailDetail{Connections: conns,
		CPUMicrosPerMessage:         med(func(r emailRun) float64 { return r.cpu }),
		BaselineCPUMicrosPerMessage: med(func(r emailRun) float64 { return r.baseCPU }),
		SinkBytesPerMessage:         med(func(r emailRun) float64 { return r.bytes }),
		BaselineSinkBytesPerMessage: med(func(r emailRun) float64 { return r.baseBytes }),
		PostgresXactsPerMessage:     med(func(r emailRun) float64 { return r.xacts }),
		PostgresRowsPerMessage:      med(func(r emailRun) float64 { return r.rows }),
		Clock:                       rs[0].localStart + " " + rs[0].location,
	}
	for _, r := range rs {
		d.MessagesSent += r.sent
		d.SinkAccepted += r.sinkMails
	}
	if pg := med(func(r emailRun) float64 { return r.pgCPU }); pg >= 0 {
		idle := med(func(r emailRun) float64 { return r.pgIdle })
		d.PostgresCPUMicrosPerMessage, d.PostgresIdleMicrosPerMessage = &pg, &idle
	}
	d.Notes = []string{
		fmt.Sprintf("时段 window: 活动时段 %s 与默认营销时段 %02d:%02d-%02d:%02d 均生效，运行时钟置于收件人时区 %s；"+
			"the campaign's window %s and delivery's default marketing window are both on, the run's clock is put at %s in the recipients' zone",
			benchEmailWindow, delivery.DefaultMarketingWindow.Start/60, delivery.DefaultMarketingWindow.Start%60,
			delivery.DefaultMarketingWindow.End/60, delivery.DefaultMarketingWindow.End%60, d.Clock, benchEmailWindow, d.Clock),
		fmt.Sprintf("频次 caps: 默认频次上限（%d 天内 %d 条）生效并逐条检查，每位客户本次只收 1 条；"+
			"the default frequency cap (%d in %d days) is on and checked for every message; each contact gets one",
			int(delivery.DefaultFrequencyCapIn.Hours()/24), delivery.DefaultFrequencyCap,
			delivery.DefaultFrequencyCap, int(delivery.DefaultFrequencyCapIn.Hours()/24)),
	}
	f.Email = d
	return f, nil
}

// emailOnce runs one campaign of size messages and then the bare loop, on pool's
// fresh database; the run's clock is put back from wall (the real time when
// the run begins) to benchEmailLocalHour.
func emailOnce(ctx context.Context, e *env, pool *pgxpool.Pool, size, conns int, wall time.Time) (emailRun, error) {
	var r emailRun
	sink, err := startSMTPSink()
	if err != nil {
		return r, err
	}
	defer sink.stop(context.WithoutCancel(ctx))

	// The provider an operator configures, pointed at the sink.
	built, err := startProviders(ctx, pool, channels.ProviderConfig{Name: "mail", Provider: channels.KindSMTP, Endpoint: sink.addr(), TLS: "none", Auth: "none",
		From: "offers@bank.example", Rate: 100000, Pool: conns})
	if err != nil {
		return r, err
	}
	defer built.Stop(context.WithoutCancel(ctx))

	// Quiet hours and caps stay on; the clock is inside the window.
	loc, err := time.LoadLocation(contacts.DefaultTimeZone)
	if err != nil {
		return r, err
	}
	offset := windowOffset(wall, loc)
	now := func() time.Time { return time.Now().Add(offset) }
	r.localStart, r.location = now().In(loc).Format("15:04"), loc.String()

	b, err := newBenchCampaign(ctx, e, pool, size, built.Registry,
		delivery.Config{JobBatch: 50, SendConcurrency: conns, Now: now})
	if err != nil {
		return r, err
	}
	river.AddWorker(b.workers, b.svc.Worker(b.store))
	window := benchEmailWindow
	c, err := b.approved(ctx, "email", &window)
	if err != nil {
		return r, err
	}
	// The workers keep the real clock, not the run's: River's rescuer reads the
	// real clock whatever TestConfig.Time says, so a job begun at the run's time
	// (up to a day back) would look stuck at once, be rescued while it still
	// sends, and its messages in sending be sent again by the rescued job. The
	// run's clock is behind the real one, so what it schedules is due for them.
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: e.logger, Workers: b.workers, JobTimeout: 10 * time.Minute,
		Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}, delivery.DefaultQueue: {MaxWorkers: 100}}})
	if err != nil {
		return r, err
	}
	pg0, err := pgCounters(ctx, pool)
	if err != nil {
		return r, err
	}
	cpu0, pgcpu0 := processCPU(), postgresCPU()
	if err := rc.Start(ctx); err != nil {
		return r, err
	}
	stopRiver := func() { _ = rc.Stop(context.WithoutCancel(ctx)) }
	defer stopRiver()
	start := time.Now()
	if _, err := b.camps.Start(ctx, b.marketer, c.ID); err != nil {
		return r, err
	}
	deadline := start.Add(30 * time.Minute)
	var last time.Duration
	progress, done := e.progress("messages", int64(size))
	for {
		n, _ := sink.distinct() // a message accepted twice is not two messages' progress
		progress(n)
		if last == 0 && n >= int64(size) {
			last = time.Since(start)
		}
		p, err := b.svc.Progress(ctx)
		if err != nil {
			done()
			return r, err
		}
		open := p.Unsent
		if last > 0 && open == 0 {
			break
		}
		if time.Now().After(deadline) {
			done()
			return r, fmt.Errorf("email: %d of %d accepted after 30 minutes, %d open", n, size, open)
		}
		time.Sleep(50 * time.Millisecond)
	}
	done()
	cpu1, pgcpu1 := processCPU(), postgresCPU()
	stopRiver()
	pg1, err := pgCounters(ctx, pool)
	if err != nil {
		return r, err
	}
	sum, err := b.svc.Summary(ctx, true)
	if err != nil {
		return r, err
	}
	sent := countOutbox(sum, channels.Email, delivery.StatusSent, delivery.StatusDelivered)
	events, err := b.store.CountEvents(ctx, "message.sent")
	if err != nil {
		return r, err
	}
	r.sent, r.sinkMails = sent, sink.count()
	distinct, dups := sink.distinct()
	if dups > 0 {
		return r, fmt.Errorf("email: the sink accepted %d mails of %d messages: %d sent more than once (%s); %d of %d messages sent",
			r.sinkMails, distinct, dups, strings.Join(sink.twice(5), ", "), sent, size)
	}
	if sent != size || events < size || r.sinkMails != int64(size) {
		return r, fmt.Errorf("email: %d of %d messages sent, %d accepted by the sink, %d timeline events", sent, size, r.sinkMails, events)
	}
	n := float64(size)
	r.rate = n / last.Seconds()
	r.cpu = (cpu1 - cpu0).Seconds() * 1e6 / n
	r.bytes = float64(sink.bytes()) / n
	r.xacts, r.rows = float64(pg1.xacts-pg0.xacts)/n, float64(pg1.rows-pg0.rows)/n
	r.pgCPU, r.pgIdle = -1, -1
	if pgcpu0 >= 0 && pgcpu1 >= 0 {
		r.pgCPU = (pgcpu1 - pgcpu0).Seconds() * 1e6 / n
	}
	fmt.Fprintf(e.stderr, "bench email: %d accepted by the sink in %s (%.0f msgs/s)\n", size, last.Round(time.Millisecond), r.rate)

	// The baseline: one message as the campaign sent it, size times.
	sample := sink.takeSample()
	if len(sample) == 0 {
		return r, errors.New("email: the sink kept no sample message")
	}
	sink.reset()
	cpu0, pgcpu0 = processCPU(), postgresCPU()
	took, err := bareGoMail(ctx, sink.addr(), sample, size, conns)
	if err != nil {
		return r, err
	}
	cpu1, pgcpu1 = processCPU(), postgresCPU()
	if sink.count() != int64(size) {
		return r, fmt.Errorf("email baseline: the sink accepted %d of %d", sink.count(), size)
	}
	r.baseRate = n / took.Seconds()
	r.baseCPU = (cpu1 - cpu0).Seconds() * 1e6 / n
	r.baseBytes = float64(sink.bytes()) / n
	if r.pgCPU >= 0 && pgcpu0 >= 0 && pgcpu1 >= 0 {
		r.pgIdle = (pgcpu1 - pgcpu0).Seconds() * 1e6 / n
	}
	fmt.Fprintf(e.stderr, "bench email: bare go-mail loop %d in %s (%.0f msgs/s)\n", size, took.Round(time.Millisecond), r.baseRate)
	return r, nil
}

// windowOffset is how far to move the clock back from now so that it reads
// benchEmailLocalHour:00 in loc (today's, or yesterday's when that is still
// ahead): backwards, so that everything written by the database's clock is
// already due.
func windowOffset(now time.Time, loc *time.Location) time.Duration {
	l := now.In(loc)
	at := time.Date(l.Year(), l.Month(), l.Day(), benchEmailLocalHour, 0, 0, 0, loc)
	if at.After(now) {
		at = time.Date(l.Year(), l.Month(), l.Day()-1, benchEmailLocalHour, 0, 0, 0, loc)
	}
	return at.Sub(now)
}

// bareGoMail sends size copies of raw to addr over conns go-mail connections
// (MAIL, RCPT, DATA per message, as the email adapter does), dialled inside the
// timing as the adapter's pool dials lazily.
func bareGoMail(ctx context.Context, addr string, raw []byte, size, conns int) (time.Duration, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	p, _ := strconv.Atoi(port)
	client, err := mail.NewClient(host, mail.WithPort(p), mail.WithTLSPolicy(mail.NoTLS), mail.WithoutNoop(), mail.WithTimeout(time.Minute))
	if err != nil {
		return 0, err
	}
	var next atomic.Int64
	errs := make(chan error, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := client.DialToSMTPClientWithContext(ctx)
			if err != nil {
				errs <- err
				return
			}
			defer client.CloseWithSMTPClient(c)
			for {
				i := next.Add(1)
				if i > int64(size) {
					return
				}
				if err := c.Mail("bounce+" + strconv.FormatInt(i, 10) + "@bank.example"); err != nil {
					errs <- err
					return
				}
				if err := c.Rcpt("c" + strconv.FormatInt(i, 10) + "@example.com"); err != nil {
					errs <- err
					return
				}
				w, err := c.Data()
				if err == nil {
					_, err = w.Write(raw)
					if cerr := w.Close(); err == nil {
						err = cerr
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return 0, fmt.Errorf("bare go-mail loop: %w", err)
	}
	return took, nil
}

// smtpSink is a go-smtp server on loopback that counts the mails and bytes it
// accepts and discards them, keeping the first one as a sample. It tells mails
// from messages: a mail's envelope sender is its message's VERP return path
// (bounce+<message id>@…), so a message accepted twice is counted once in
// distinct and once in dups.
type smtpSink struct {
	srv    *smtp.Server
	ln     net.Listener
	msgs   atomic.Int64
	nbytes atomic.Int64
	mu     sync.Mutex
	sample []byte
	seen   map[string]int // mails accepted per envelope sender
	dups   int64          // mails of a sender seen before
	done   chan struct{}
}

func startSMTPSink() (*smtpSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtp sink: listen: %w", err)
	}
	s := &smtpSink{ln: ln, seen: map[string]int{}, done: make(chan struct{})}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	s.srv.Domain = "sink.carillon.test"
	s.srv.MaxMessageBytes = 10 << 20
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

func (s *smtpSink) addr() string { return s.ln.Addr().String() }
func (s *smtpSink) count() int64 { return s.msgs.Load() }
func (s *smtpSink) bytes() int64 { return s.nbytes.Load() }

// distinct is the number of messages (envelope senders) accepted at least
// once; duplicates the mails beyond the first of their message.
func (s *smtpSink) distinct() (messages, duplicates int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.seen)), s.dups
}

// twice names up to n messages accepted more than once, for an error.
func (s *smtpSink) twice(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for from, k := range s.seen {
		if k > 1 && len(out) < n {
			out = append(out, fmt.Sprintf("%s×%d", from, k))
		}
	}
	slices.Sort(out)
	return out
}

func (s *smtpSink) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs.Store(0)
	s.nbytes.Store(0)
	s.seen, s.dups = map[string]int{}, 0
}
func (s *smtpSink) stop(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if s.srv.Shutdown(sctx) != nil {
		_ = s.srv.Close()
	}
	<-s.done
}

func (s *smtpSink) takeSample() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sample
}

// sinkSession is one SMTP connection; from is the current transaction's
// envelope sender.
type sinkSession struct {
	s    *smtpSink
	from string
}

func (ss *sinkSession) Reset()                                      { ss.from = "" }
func (*sinkSession) Logout() error                                  { return nil }
func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error { ss.from = from; return nil }
func (*sinkSession) Rcpt(string, *smtp.RcptOptions) error           { return nil }
func (ss *sinkSession) Data(r io.Reader) error {
	s := ss.s
	s.mu.Lock()
	keep := s.sample == nil
	s.mu.Unlock()
	var n int64
	if keep {
		raw, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		n = int64(len(raw))
		s.mu.Lock()
		if s.sample == nil {
			s.sample = raw
		}
		s.mu.Unlock()
	} else {
		var err error
		if n, err = io.Copy(io.Discard, r); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.seen[ss.from]++
	if s.seen[ss.from] > 1 {
		s.dups++
	}
	s.mu.Unlock()
	s.nbytes.Add(n)
	s.msgs.Add(1)
	return nil
}

// processCPU is this process's user and system time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat's times.
const clockTicks = 100

// postgresCPU is the CPU time of the Postgres server on this machine so far:
// every postgres process's user and system time, and the postmaster's reaped
// children's (backends that ended). -1 when no postgres process is visible.
// It is the whole server's, other databases' work included.
func postgresCPU() time.Duration {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var ticks int64
	found := false
	for _, d := range dirs {
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil || strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		// Fields after the command's closing parenthesis: state is field 3;
		// ppid 4, utime 14, stime 15, cutime 16, cstime 17.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 {
			continue
		}
		fs := strings.Fields(string(stat[i+1:]))
		if len(fs) < 15 {
			continue
		}
		num := func(k int) int64 { v, _ := strconv.ParseInt(fs[k-3], 10, 64); return v }
		ticks += num(14) + num(15)
		ppid, _ := os.ReadFile(filepath.Join("/proc", strconv.FormatInt(num(4), 10), "comm"))
		if strings.TrimSpace(string(ppid)) != "postgres" { // the postmaster
			ticks += num(16) + num(17)
		}
		found = true
	}
	if !found {
		return -1
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

type pgCount struct{ xacts, rows int64 }

// pgCounters reads this database's transactions and rows written from
// pg_stat_database after closing the pool's connections, whose backends flush
// their pending statistics when they end.
func pgCounters(ctx context.Context, pool *pgxpool.Pool) (pgCount, error) {
	var c pgCount
	pool.Reset()
	for range 50 {
		var others int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&others); err != nil {
			return c, err
		}
		if others == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, _ = pool.Exec(ctx, `SELECT pg_stat_clear_snapshot()`)
	err := pool.QueryRow(ctx, `SELECT xact_commit + xact_rollback, tup_inserted + tup_updated + tup_deleted
		FROM pg_stat_database WHERE datname = current_database()`).Scan(&c.xacts, &c.rows)
	return c, err
}

// writeEmailDetail prints `bench email`'s figures beside the table's line.
func writeEmailDetail(w io.Writer, f *Figure) {
	d := f.Email
	fmt.Fprintf(w, "\n邮件（用户路径）email, the user's path: %d 条 messages × %d 次 runs, %d 个 SMTP 连接 connections, 进程内 SMTP 接收端 in-process SMTP sink\n",
		f.Size, len(f.Runs), d.Connections)
	fmt.Fprintf(w, "  Carillon 活动 campaign (Create/Submit/Approve/Start): %.0f msgs/s, CPU %.0f µs/msg, %.0f bytes/msg\n", f.Value, d.CPUMicrosPerMessage, d.SinkBytesPerMessage)
	fmt.Fprintf(w, "  基线 baseline (bare go-mail loop, same sink):          %.0f msgs/s, CPU %.0f µs/msg, %.0f bytes/msg\n", f.Baseline, d.BaselineCPUMicrosPerMessage, d.BaselineSinkBytesPerMessage)
	fmt.Fprintf(w, "  比值 ratio (Carillon / baseline): %.3f\n", f.Ratio)
	fmt.Fprintf(w, "  接收端收到 sink accepted: %d 封 mails / 已发送 messages sent: %d\n", d.SinkAccepted, d.MessagesSent)
	fmt.Fprintf(w, "  CPU 为本进程（含接收端）user+system CPU is this process's, the sink included\n")
	if d.PostgresCPUMicrosPerMessage != nil {
		fmt.Fprintf(w, "  Postgres CPU（整个服务器 whole server）: %.0f µs/msg；基线期间（即其他负载）while the bare loop ran, i.e. other load: %.0f µs/msg\n",
			*d.PostgresCPUMicrosPerMessage, *d.PostgresIdleMicrosPerMessage)
	} else {
		fmt.Fprintf(w, "  Postgres CPU: 未测量 not measured (服务器不在本机 the server is not on this machine)\n")
	}
	fmt.Fprintf(w, "  Postgres 本库 this database: %.1f 事务 transactions/msg, %.1f 行写入 rows written/msg\n", d.PostgresXactsPerMessage, d.PostgresRowsPerMessage)
	for _, n := range d.Notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
}
