package delivery

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	outcomes    *prometheus.CounterVec
	sendLatency *prometheus.HistogramVec
	receipts    *prometheus.CounterVec
	receiptLag  prometheus.Histogram
}

func newMetrics() *metrics {
	return &metrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carillon_messages_total",
			Help: "Messages by what became of them: sent, failed, suppressed, cancelled, queued (deferred), by channel, provider and reason."},
			[]string{"channel", "provider", "status", "reason"}),
		sendLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "carillon_send_seconds",
			Help: "Time a provider took to accept a message.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"channel", "provider"}),
		receipts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "carillon_receipts_total",
			Help: "Receipts by provider, status and whether they matched a message."}, []string{"provider", "status", "matched"}),
		receiptLag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "carillon_receipt_lag_seconds",
			Help: "Time from send to the receipt that made a message final.", Buckets: prometheus.ExponentialBuckets(0.1, 3, 12)}),
	}
}

// Collectors returns the delivery metrics to register.
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{s.metrics.outcomes, s.metrics.sendLatency, s.metrics.receipts, s.metrics.receiptLag}
}
