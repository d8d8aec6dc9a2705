package server

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carillon_http_requests_total", Help: "HTTP requests by route and status."}, []string{"route", "status"}),
		latency:  prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "carillon_http_request_seconds", Help: "HTTP request latency by route.", Buckets: prometheus.DefBuckets}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (m *httpMetrics) wrap(logger *slog.Logger, route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		took := time.Since(start)
		m.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		m.latency.WithLabelValues(route).Observe(took.Seconds())
		logger.DebugContext(r.Context(), "request", slog.String("route", route), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Duration("took", took))
	})
}

// dbCollector reports table sizes and River's job counts at scrape time.
type dbCollector struct {
	pool      *pgxpool.Pool
	logger    *slog.Logger
	contacts  *prometheus.Desc
	jobs      *prometheus.Desc
	messages  *prometheus.Desc
	unmatched *prometheus.Desc
}

func newDBCollector(pool *pgxpool.Pool, logger *slog.Logger) *dbCollector {
	return &dbCollector{
		pool:      pool,
		logger:    logger,
		contacts:  prometheus.NewDesc("carillon_contacts", "Contacts by status.", []string{"status"}, nil),
		jobs:      prometheus.NewDesc("carillon_river_jobs", "River jobs by state.", []string{"state"}, nil),
		messages:  prometheus.NewDesc("carillon_outbox_messages", "Outbox messages waiting or being sent, by status.", []string{"status"}, nil),
		unmatched: prometheus.NewDesc("carillon_unmatched_receipts", "Receipts kept that matched no message (yet).", []string{"scope"}, nil),
	}
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.contacts
	ch <- c.jobs
	ch <- c.messages
	ch <- c.unmatched
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// Every label is reported, zero included, so dashboards see a series from the start.
	for _, q := range []struct {
		desc   *prometheus.Desc
		sql    string
		labels []string
	}{
		{c.contacts, `SELECT status, count(*) FROM contacts GROUP BY status`, []string{"active", "dormant", "closed", "deceased"}},
		{c.jobs, `SELECT state::text, count(*) FROM river_job GROUP BY state`,
			[]string{"available", "cancelled", "completed", "discarded", "pending", "retryable", "running", "scheduled"}},
		// Open messages only: the partial index answers it; final ones are counted by
		// carillon_messages_total as they happen.
		{c.messages, `SELECT status, count(*) FROM messages WHERE status IN ('queued', 'sending') GROUP BY status`,
			[]string{"queued", "sending"}},
		{c.unmatched, `SELECT 'all', count(*) FROM receipts WHERE NOT applied`, []string{"all"}},
	} {
		counts := map[string]int64{}
		rows, err := c.pool.Query(ctx, q.sql)
		if err != nil {
			c.logger.Warn("metrics query failed", slog.String("error", err.Error()))
			continue
		}
		for rows.Next() {
			var label string
			var n int64
			if rows.Scan(&label, &n) == nil {
				counts[label] = n
			}
		}
		rows.Close()
		for _, l := range q.labels {
			ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, float64(counts[l]), l)
		}
	}
}
