package server

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"

	"carillon/contacts"
	"carillon/delivery"
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

// dbCollector reports the contacts, the outbox and River's jobs at scrape
// time, through their owners: the contacts store, the delivery service and
// River's own client (its driver counts the jobs). A figure whose owner the
// server was not given is left out.
type dbCollector struct {
	contacts  *contacts.Store
	delivery  *delivery.Service
	river     *river.Client[pgx.Tx]
	logger    *slog.Logger
	contactsD *prometheus.Desc
	jobs      *prometheus.Desc
	messages  *prometheus.Desc
	unmatched *prometheus.Desc
}

func newDBCollector(deps Deps, logger *slog.Logger) *dbCollector {
	return &dbCollector{
		contacts:  deps.Contacts,
		delivery:  deps.Delivery,
		river:     deps.River,
		logger:    logger,
		contactsD: prometheus.NewDesc("carillon_contacts", "Contacts by status.", []string{"status"}, nil),
		jobs:      prometheus.NewDesc("carillon_river_jobs", "River jobs by state.", []string{"state"}, nil),
		messages:  prometheus.NewDesc("carillon_outbox_messages", "Outbox messages waiting or being sent, by status.", []string{"status"}, nil),
		unmatched: prometheus.NewDesc("carillon_unmatched_receipts", "Receipts kept that matched no message (yet).", []string{"scope"}, nil),
	}
}

// figure is one gauge: its labels (every one reported, zero included, so
// dashboards see a series from the start) and how its counts are read.
type figure struct {
	desc   *prometheus.Desc
	labels []string
	read   func(ctx context.Context) (map[string]int64, error)
}

func (c *dbCollector) figures() []figure {
	var fs []figure
	if c.contacts != nil {
		fs = append(fs, figure{c.contactsD, []string{"active", "dormant", "closed", "deceased"}, c.contacts.CountByStatus})
	}
	if c.river != nil {
		fs = append(fs, figure{c.jobs, []string{"available", "cancelled", "completed", "discarded", "pending", "retryable", "running", "scheduled"},
			func(ctx context.Context) (map[string]int64, error) {
				counts, err := c.river.Driver().GetExecutor().JobCountByAllStates(ctx, &riverdriver.JobCountByAllStatesParams{})
				if err != nil {
					return nil, err
				}
				out := make(map[string]int64, len(counts))
				for st, n := range counts {
					out[string(st)] = int64(n)
				}
				return out, nil
			}})
	}
	if c.delivery != nil {
		// Open messages only: the partial index answers it; final ones are counted by
		// carillon_messages_total as they happen.
		fs = append(fs, figure{c.messages, []string{string(delivery.StatusQueued), string(delivery.StatusSending)},
			func(ctx context.Context) (map[string]int64, error) {
				counts, err := c.delivery.OpenCounts(ctx)
				out := make(map[string]int64, len(counts))
				for st, n := range counts {
					out[string(st)] = n
				}
				return out, err
			}},
			figure{c.unmatched, []string{"all"}, func(ctx context.Context) (map[string]int64, error) {
				us, err := c.delivery.Unmatched(ctx)
				if err != nil {
					return nil, err
				}
				var n int64
				for _, u := range us {
					n += int64(u.Count)
				}
				return map[string]int64{"all": n}, nil
			}})
	}
	return fs
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range c.figures() {
		ch <- f.desc
	}
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, f := range c.figures() {
		counts, err := f.read(ctx)
		if err != nil {
			c.logger.Warn("metrics query failed", slog.String("err", err.Error()))
			continue
		}
		for _, l := range f.labels {
			ch <- prometheus.MustNewConstMetric(f.desc, prometheus.GaugeValue, float64(counts[l]), l)
		}
	}
}
