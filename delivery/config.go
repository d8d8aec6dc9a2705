package delivery

import (
	"cmp"
	"fmt"
	"log/slog"
	"time"
)

// Defaults.
const (
	DefaultQueue           = "delivery"
	DefaultJobBatch        = 50
	DefaultMaxAttempts     = 5
	DefaultBackoff         = 30 * time.Second
	DefaultFrequencyCap    = 2
	DefaultFrequencyCapIn  = 7 * 24 * time.Hour
	DefaultStopRecheck     = 30 * time.Second
	DefaultPublicURL       = "http://127.0.0.1:8080"
	DefaultSendConcurrency = 4
	DefaultJobTimeout      = 2 * time.Minute
	DefaultAmbiguousWait   = 2 * time.Minute
)

// Window is a daily window of local time, [Start, End) in minutes after midnight.
type Window struct {
	Start, End int
}

// Contains reports whether the local time t falls in the window.
func (w Window) Contains(t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	return m >= w.Start && m < w.End
}

// Always is the window of the whole day.
var Always = Window{0, 24 * 60}

// Default quiet hours: marketing only 09:00–20:00, service 08:00–21:00, in the
// recipient's time zone.
var (
	DefaultMarketingWindow = Window{9 * 60, 20 * 60}
	DefaultServiceWindow   = Window{8 * 60, 21 * 60}
)

// Config configures delivery.
type Config struct {
	// Queue is River's queue for deliver jobs. Default DefaultQueue.
	Queue string
	// JobBatch is how many messages one deliver job carries. Default DefaultJobBatch.
	JobBatch int
	// MaxAttempts bounds sends of one message on temporary failures. Default
	// DefaultMaxAttempts.
	MaxAttempts int
	// Backoff is the wait after the first temporary failure; it doubles each
	// attempt. Default DefaultBackoff.
	Backoff time.Duration
	// MarketingWindow and ServiceWindow are the hours messages of each purpose may
	// be sent, in the recipient's time zone. Defaults DefaultMarketingWindow and
	// DefaultServiceWindow; Always turns quiet hours off.
	MarketingWindow, ServiceWindow Window
	// FrequencyCap is the most marketing messages a contact gets in FrequencyCapIn,
	// across all campaigns. Default DefaultFrequencyCap; negative turns it off.
	FrequencyCap int
	// FrequencyCapIn is the cap's rolling window. Default DefaultFrequencyCapIn.
	FrequencyCapIn time.Duration
	// StopRecheck is how long a message held by an emergency stop waits before it
	// is looked at again. Default DefaultStopRecheck.
	StopRecheck time.Duration
	// PublicURL is where customers reach Carillon's links (unsubscribe). Default
	// DefaultPublicURL.
	PublicURL string
	// SendConcurrency is how many messages of one job are sent at once. Default
	// DefaultSendConcurrency.
	SendConcurrency int
	// JobTimeout bounds one deliver job; keep it well under River's
	// RescueStuckJobsAfter. Default DefaultJobTimeout.
	JobTimeout time.Duration
	// AmbiguousWait is how long a message whose send timed out (the provider may
	// have accepted it) waits for a receipt before it is tried again. Default
	// DefaultAmbiguousWait.
	AmbiguousWait time.Duration
	// AfterSend, when set, is called after a provider accepted a message and before
	// the outcome is recorded — the window a crash leaves "maybe sent". For fault
	// drills and tests; leave nil in production.
	AfterSend func(messageID int64)
	// Logger. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now. When set (tests), the River jobs the
	// service inserts are timed by it too: give the same clock to River's workers
	// (river.Config.Test.Time).
	Now func() time.Time
}

// WithDefaults returns c with defaults applied.
func (c Config) WithDefaults() Config {
	c.Queue = cmp.Or(c.Queue, DefaultQueue)
	c.JobBatch = cmp.Or(c.JobBatch, DefaultJobBatch)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	c.Backoff = cmp.Or(c.Backoff, DefaultBackoff)
	if c.MarketingWindow == (Window{}) {
		c.MarketingWindow = DefaultMarketingWindow
	}
	if c.ServiceWindow == (Window{}) {
		c.ServiceWindow = DefaultServiceWindow
	}
	c.FrequencyCap = cmp.Or(c.FrequencyCap, DefaultFrequencyCap)
	c.FrequencyCapIn = cmp.Or(c.FrequencyCapIn, DefaultFrequencyCapIn)
	c.StopRecheck = cmp.Or(c.StopRecheck, DefaultStopRecheck)
	c.PublicURL = cmp.Or(c.PublicURL, DefaultPublicURL)
	c.SendConcurrency = cmp.Or(c.SendConcurrency, DefaultSendConcurrency)
	c.JobTimeout = cmp.Or(c.JobTimeout, DefaultJobTimeout)
	c.AmbiguousWait = cmp.Or(c.AmbiguousWait, DefaultAmbiguousWait)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) validate() error {
	if c.JobBatch < 1 || c.JobBatch > 10000 {
		return fmt.Errorf("delivery: JobBatch %d out of range 1..10000", c.JobBatch)
	}
	if c.SendConcurrency < 1 || c.SendConcurrency > 1000 {
		return fmt.Errorf("delivery: SendConcurrency %d out of range 1..1000 (delivery.send_concurrency)", c.SendConcurrency)
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 25 {
		return fmt.Errorf("delivery: MaxAttempts %d out of range 1..25", c.MaxAttempts)
	}
	for name, w := range map[string]Window{"MarketingWindow": c.MarketingWindow, "ServiceWindow": c.ServiceWindow} {
		if w.Start < 0 || w.End > 24*60 || w.Start >= w.End {
			return fmt.Errorf("delivery: %s %d..%d is not a window of the day", name, w.Start, w.End)
		}
	}
	return nil
}
