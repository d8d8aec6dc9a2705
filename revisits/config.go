package revisits

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"carillon/calendar"
	"carillon/channels"
	"carillon/contacts"
)

// Defaults.
const (
	// DefaultEscalateAfter is how many business days a revisit may be overdue
	// before it goes into the team lead's digest (overdue by more than this).
	DefaultEscalateAfter = 3
	// DefaultComplaintSLA is how many business days an open complaint may stay
	// open before it shows in its owner's and the team lead's digest.
	DefaultComplaintSLA = 2
	// DefaultDigestTime is the local time, in the manager's zone, the digest is
	// sent at.
	DefaultDigestTime = "08:30"
	// DefaultUpcomingDays is how far ahead the digest looks for birthdays,
	// deposit maturities and festivals.
	DefaultUpcomingDays = 7
	// DefaultMaturityAttr is the attrs key holding a deposit's maturity day
	// (YYYY-MM-DD).
	DefaultMaturityAttr = "deposit_maturity"
	// DefaultTimeZone dates timestamps (a contact created at 23:30 UTC was
	// created the next day in Shanghai) and decides "today" for the API.
	DefaultTimeZone = contacts.DefaultTimeZone
	// DefaultConsoleURL is the console's base URL; the digest links to the
	// manager's list under it.
	DefaultConsoleURL = "http://127.0.0.1:8080"
	// DefaultBatchSize is how many digests one enqueue transaction carries.
	DefaultBatchSize = 500
	// MaxTextLength bounds outcome, needs, notes and reasons, in characters.
	MaxTextLength = 4000
	// MaxBackdateDays is how far back a revisit may be logged.
	MaxBackdateDays = 90
)

// DefaultDigestChannels returns the digest's channels in order of preference:
// WeCom, then email.
func DefaultDigestChannels() []channels.Channel {
	return []channels.Channel{channels.WeCom, channels.Email}
}

// Config configures the service. Each zero field takes its default.
type Config struct {
	// EscalateAfter: a revisit overdue by more than this many business days
	// goes into the team lead's digest. Default DefaultEscalateAfter.
	EscalateAfter int
	// ComplaintSLA: an open complaint older than this many business days is
	// flagged in its owner's and team lead's digest. Default
	// DefaultComplaintSLA.
	ComplaintSLA int
	// DigestTime is the local time ("15:04") of the digest in the manager's
	// zone. Default DefaultDigestTime.
	DigestTime string
	// DigestChannels in order of preference. Default DefaultDigestChannels().
	DigestChannels []channels.Channel
	// UpcomingDays is the digest's look-ahead. Default DefaultUpcomingDays.
	UpcomingDays int
	// MaturityAttr is the attrs key of a deposit's maturity day. Default
	// DefaultMaturityAttr.
	MaturityAttr string
	// Festivals chooses the festivals listed as upcoming, and its Years the
	// configured public-holiday years every due day, SLA and digest counts
	// business days with. Default: the calendar's default festivals and
	// lunar-go's holiday table.
	Festivals calendar.Config
	// TimeZone dates timestamps and decides "today". Default DefaultTimeZone.
	TimeZone string
	// ConsoleURL is the console's base URL for the digest's link. Default
	// DefaultConsoleURL.
	ConsoleURL string
	// BatchSize is how many digests one enqueue transaction carries. Default
	// DefaultBatchSize.
	BatchSize int
	// Rules reads the care rule revisit_digest (care's Planner implements it),
	// whose send time, channels and template the digests follow. Default nil:
	// DigestTime, DigestChannels and the built-in template, as for a missing
	// rule.
	Rules RuleReader
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger. Default: discard.
	Logger *slog.Logger
}

// WithDefaults returns c with defaults applied.
func (c Config) WithDefaults() Config {
	c.EscalateAfter = cmp.Or(c.EscalateAfter, DefaultEscalateAfter)
	c.ComplaintSLA = cmp.Or(c.ComplaintSLA, DefaultComplaintSLA)
	c.DigestTime = cmp.Or(c.DigestTime, DefaultDigestTime)
	if len(c.DigestChannels) == 0 {
		c.DigestChannels = DefaultDigestChannels()
	}
	c.DigestChannels = slices.Clone(c.DigestChannels)
	c.UpcomingDays = cmp.Or(c.UpcomingDays, DefaultUpcomingDays)
	c.MaturityAttr = cmp.Or(c.MaturityAttr, DefaultMaturityAttr)
	c.Festivals = c.Festivals.WithDefaults()
	c.TimeZone = cmp.Or(c.TimeZone, DefaultTimeZone)
	c.ConsoleURL = cmp.Or(c.ConsoleURL, DefaultConsoleURL)
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	return c
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("revisits config")

func (c Config) validate() error {
	if c.EscalateAfter < 1 || c.EscalateAfter > 60 {
		return fmt.Errorf("%w: EscalateAfter %d out of range 1..60 business days", ErrConfig, c.EscalateAfter)
	}
	if c.ComplaintSLA < 1 || c.ComplaintSLA > 60 {
		return fmt.Errorf("%w: ComplaintSLA %d out of range 1..60 business days", ErrConfig, c.ComplaintSLA)
	}
	if _, _, err := parseClock(c.DigestTime); err != nil {
		return err
	}
	seen := map[channels.Channel]bool{}
	for _, ch := range c.DigestChannels {
		if ch != channels.WeCom && ch != channels.Email {
			return fmt.Errorf("%w: DigestChannels: %q cannot reach a manager (wecom, email)", ErrConfig, ch)
		}
		if seen[ch] {
			return fmt.Errorf("%w: DigestChannels: %q named twice", ErrConfig, ch)
		}
		seen[ch] = true
	}
	if c.UpcomingDays < 1 || c.UpcomingDays > 31 {
		return fmt.Errorf("%w: UpcomingDays %d out of range 1..31", ErrConfig, c.UpcomingDays)
	}
	if !attrKeyRE.MatchString(c.MaturityAttr) {
		return fmt.Errorf("%w: MaturityAttr %q is not an attribute key (lowercase letters, digits, _)", ErrConfig, c.MaturityAttr)
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		return fmt.Errorf("%w: TimeZone: %w", ErrConfig, err)
	}
	if c.BatchSize < 1 || c.BatchSize > 10000 {
		return fmt.Errorf("%w: BatchSize %d out of range 1..10000", ErrConfig, c.BatchSize)
	}
	if err := c.Festivals.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// parseClock reads "HH:MM".
func parseClock(s string) (hour, minute int, err error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, 0, fmt.Errorf("%w: DigestTime %q is not a time of day such as 08:30", ErrConfig, s)
	}
	return t.Hour(), t.Minute(), nil
}
