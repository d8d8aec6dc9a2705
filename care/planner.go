package care

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/calendar"
	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/templates"
)

// Defaults.
const (
	// DefaultSendTime is the local time of day care messages are sent at, in
	// each contact's own time zone.
	DefaultSendTime = "09:00"
	// DefaultBatchSize is how many contacts one read and one enqueue
	// transaction carry when a festival greets everyone.
	DefaultBatchSize = 5000
	// MaxBatchSize bounds Config.BatchSize.
	MaxBatchSize = 50000
	// DefaultCombined: a birthday on a festival day is one combined message.
	DefaultCombined = true
	// DefaultFallbackTimeZone is the zone used for a contact whose stored zone
	// cannot be loaded.
	DefaultFallbackTimeZone = contacts.DefaultTimeZone
)

// DefaultBirthdayChannels returns the birthday rule's channels in order of
// preference: WeChat, SMS, email.
func DefaultBirthdayChannels() []channels.Channel {
	return []channels.Channel{channels.WeChat, channels.SMS, channels.Email}
}

// DefaultFestivalChannels returns the festival rules' channels in order of
// preference: WeChat, SMS, email.
func DefaultFestivalChannels() []channels.Channel {
	return []channels.Channel{channels.WeChat, channels.SMS, channels.Email}
}

// Config configures the planner.
type Config struct {
	// SendTime is the local time ("15:04") each message is scheduled at, in the
	// contact's own time zone. Default DefaultSendTime.
	SendTime string
	// BirthdayChannels are the birthday rule's channels, in order of
	// preference. Default DefaultBirthdayChannels().
	BirthdayChannels []channels.Channel
	// FestivalChannels are the festival rules' channels, in order of
	// preference; a combined birthday-and-festival message uses them too.
	// Default DefaultFestivalChannels().
	FestivalChannels []channels.Channel
	// SeparateBirthdayOnFestival sends a birthday that falls on a festival as
	// its own message beside the festival greeting. Default false: one
	// combined message (DefaultCombined).
	SeparateBirthdayOnFestival bool
	// Festivals chooses the festivals greeted (calendar.Config). Default: the
	// calendar's default festivals.
	Festivals calendar.Config
	// Bank is the sender's identity for the templates' .Bank variables. Default
	// none: the templates then render .Bank as empty.
	Bank templates.Bank
	// BatchSize is how many contacts one read and one enqueue transaction
	// carry. Default DefaultBatchSize, at most MaxBatchSize.
	BatchSize int
	// FallbackTimeZone is used for a contact whose stored zone cannot be
	// loaded (logged). Default DefaultFallbackTimeZone.
	FallbackTimeZone string
	// Logger. Default: discard.
	Logger *slog.Logger
}

// WithDefaults returns c with defaults applied.
func (c Config) WithDefaults() Config {
	c.SendTime = cmp.Or(c.SendTime, DefaultSendTime)
	if len(c.BirthdayChannels) == 0 {
		c.BirthdayChannels = DefaultBirthdayChannels()
	}
	if len(c.FestivalChannels) == 0 {
		c.FestivalChannels = DefaultFestivalChannels()
	}
	c.BirthdayChannels = slices.Clone(c.BirthdayChannels)
	c.FestivalChannels = slices.Clone(c.FestivalChannels)
	c.Festivals = c.Festivals.WithDefaults()
	c.BatchSize = cmp.Or(c.BatchSize, DefaultBatchSize)
	c.FallbackTimeZone = cmp.Or(c.FallbackTimeZone, DefaultFallbackTimeZone)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	return c
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("care config")

func (c Config) validate() error {
	if _, _, err := parseSendTime(c.SendTime); err != nil {
		return err
	}
	for name, chs := range map[string][]channels.Channel{"BirthdayChannels": c.BirthdayChannels, "FestivalChannels": c.FestivalChannels} {
		seen := map[channels.Channel]bool{}
		for _, ch := range chs {
			if ch != channels.WeChat && ch != channels.SMS && ch != channels.Email {
				return fmt.Errorf("%w: %s: %q is not a customer channel (wechat, sms, email)", ErrConfig, name, ch)
			}
			if seen[ch] {
				return fmt.Errorf("%w: %s: %q named twice", ErrConfig, name, ch)
			}
			seen[ch] = true
		}
	}
	if c.BatchSize < 1 || c.BatchSize > MaxBatchSize {
		return fmt.Errorf("%w: BatchSize %d out of range 1..%d", ErrConfig, c.BatchSize, MaxBatchSize)
	}
	if _, err := time.LoadLocation(c.FallbackTimeZone); err != nil {
		return fmt.Errorf("%w: FallbackTimeZone: %w", ErrConfig, err)
	}
	if _, err := calendar.FestivalsOn(calendar.NewDate(2026, time.January, 1), c.Festivals); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return nil
}

// parseSendTime reads "HH:MM" (00:00–23:59).
func parseSendTime(s string) (hour, minute int, err error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, 0, fmt.Errorf("%w: SendTime %q is not a time of day such as 09:00", ErrConfig, s)
	}
	return t.Hour(), t.Minute(), nil
}

// Enqueuer writes planned messages in the caller's transaction; delivery's
// Service implements it.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx pgx.Tx, planned []delivery.Planned) (delivery.EnqueueResult, error)
}

// Planner plans the care messages of a day.
type Planner struct {
	cfg                  Config
	pool                 *pgxpool.Pool
	contacts             *contacts.Store
	enq                  Enqueuer
	sendHour, sendMinute int
	fallback             *time.Location
}

// New returns a planner that reads contacts from pool and enqueues through enq.
func New(pool *pgxpool.Pool, enq Enqueuer, cfg Config) (*Planner, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if pool == nil || enq == nil {
		return nil, fmt.Errorf("%w: a pool and an enqueuer are required", ErrConfig)
	}
	store, err := contacts.NewStore(pool, contacts.Config{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	h, m, _ := parseSendTime(cfg.SendTime)
	fb, _ := time.LoadLocation(cfg.FallbackTimeZone)
	return &Planner{cfg: cfg, pool: pool, contacts: store, enq: enq, sendHour: h, sendMinute: m, fallback: fb}, nil
}

// Config returns the planner's configuration, defaults applied.
func (p *Planner) Config() Config { return p.cfg }

// PlanOptions choose how a day is planned.
type PlanOptions struct {
	// DryRun lists what would be planned and writes nothing. The outbox is
	// not consulted: every item is listed, none is a duplicate.
	DryRun bool
	// Emit, when set, receives every item as it is planned (after its batch
	// is committed, with Duplicate set, on a real run), and Result.Items stays
	// empty. Without it a dry run collects the items in Result.Items and a
	// real run keeps only the counts. An error from Emit stops the plan.
	Emit func(Item) error
}

// Item is one planned message. Its JSON is one line of `carillon plan
// --dry-run --json`; fields are only ever added.
type Item struct {
	// Rule names the rule: "birthday", "festival.mid_autumn", or
	// "birthday+festival.mid_autumn" for a combined message.
	Rule string `json:"rule"`
	// Contact is the contact's external id (the bank's customer number).
	Contact   string        `json:"contact"`
	ContactID int64         `json:"contact_id"`
	Date      calendar.Date `json:"date"` // the local day greeted
	// Channels in order of preference.
	Channels []channels.Channel `json:"channels"`
	Template string             `json:"template"`
	// SendAt is the send time on Date in the contact's zone, with its offset.
	SendAt   time.Time `json:"send_at"`
	TimeZone string    `json:"timezone"`
	// Note states the birthday edge rules used ("lunar 30th greeted on the
	// 29th"), "" when none.
	Note      string `json:"note,omitempty"`
	DedupeKey string `json:"dedupe_key"`
	// Calendar and Age are the birthday's (Age only when the birth year is
	// known); Milestone flags a 60th, 70th, 80th … birthday for the manager.
	Calendar string `json:"calendar,omitempty"`
	// BirthdayKey is the birthday's own dedupe key
	// (birthday:<contact>:<calendar>:<year>); on a combined message it differs
	// from DedupeKey, the festival's.
	BirthdayKey string `json:"birthday_key,omitempty"`
	Age         int    `json:"age,omitempty"`
	Milestone   bool   `json:"milestone,omitempty"`
	// Duplicate: a real run found the dedupe key in the outbox already, so
	// nothing new was planned for this item.
	Duplicate bool `json:"duplicate,omitempty"`

	planned delivery.Planned
}

// Result says what a plan did.
type Result struct {
	Date      calendar.Date `json:"date"`
	DryRun    bool          `json:"dry_run"`
	Festivals []string      `json:"festivals"` // keys of the day's festivals
	// Items lists the dry run's items (see PlanOptions.Emit).
	Items []Item `json:"-"`
	// Messages counts the items the rules produced; Planned the new
	// messages enqueued (a dry run: every item); Duplicates the items whose
	// dedupe key existed already (a re-plan).
	Messages   int `json:"messages"`
	Planned    int `json:"planned"`
	Duplicates int `json:"duplicates"`
	// Birthdays counts the birthday greetings (combined ones included),
	// Combined the birthday-and-festival messages, Milestones the 60th, 70th …
	// birthdays.
	Birthdays  int `json:"birthdays"`
	Combined   int `json:"combined"`
	Milestones int `json:"milestones"`
}

// Plan plans one local day: the birthdays greeted that day on both
// calendars, looked up by index, and the day's festivals for every active
// contact, each message at the send time in the contact's own zone on day.
// Messages are enqueued in batches, one transaction each; dedupe keys make a
// re-plan (or an interrupted plan run again) enqueue only what is missing.
func (p *Planner) Plan(ctx context.Context, day calendar.Date, opts PlanOptions) (Result, error) {
	res := Result{Date: day, DryRun: opts.DryRun, Festivals: []string{}}
	keys, err := calendar.BirthdayKeys(day)
	if err != nil {
		return res, fmt.Errorf("plan %s: birthday keys: %w", day, err)
	}
	fests, err := calendar.FestivalsOn(day, p.cfg.Festivals)
	if err != nil {
		return res, fmt.Errorf("plan %s: festivals: %w", day, err)
	}
	for _, f := range fests {
		res.Festivals = append(res.Festivals, f.Key)
	}
	bdays, err := p.birthdays(ctx, keys)
	if err != nil {
		return res, fmt.Errorf("plan %s: %w", day, err)
	}
	r := &run{p: p, day: day, opts: opts, res: &res, zones: map[string]*time.Location{}}
	if err := r.festivals(ctx, fests, bdays); err != nil {
		return res, fmt.Errorf("plan %s: %w", day, err)
	}
	var batch []Item
	for _, b := range bdays {
		if b.done {
			continue
		}
		batch = append(batch, r.birthdayItem(b))
		if len(batch) == p.cfg.BatchSize {
			if err := r.flush(ctx, batch); err != nil {
				return res, fmt.Errorf("plan %s: %w", day, err)
			}
			batch = nil
		}
	}
	if err := r.flush(ctx, batch); err != nil {
		return res, fmt.Errorf("plan %s: %w", day, err)
	}
	p.cfg.Logger.InfoContext(ctx, "care plan", "date", day.String(), "dry_run", opts.DryRun, "festivals", len(fests),
		"messages", res.Messages, "planned", res.Planned, "duplicates", res.Duplicates, "birthdays", res.Birthdays)
	return res, nil
}

// run is one Plan call's state.
type run struct {
	p     *Planner
	day   calendar.Date
	opts  PlanOptions
	res   *Result
	zones map[string]*time.Location
}

// location loads a contact's zone once per run.
func (r *run) location(name string) *time.Location {
	if loc, ok := r.zones[name]; ok {
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" {
		r.p.cfg.Logger.Warn("care plan: unknown time zone, using the fallback", "timezone", name, "fallback", r.p.cfg.FallbackTimeZone)
		loc = r.p.fallback
	}
	r.zones[name] = loc
	return loc
}

// sendAt is the send time on the run's day in the contact's zone.
func (r *run) sendAt(zone string) time.Time {
	d := r.day
	return time.Date(d.Year, d.Month, d.Day, r.p.sendHour, r.p.sendMinute, 0, 0, r.location(zone))
}

// festivals streams every active contact by id and plans the day's festivals
// for each, folding in the birthdays found when combined messages are on.
func (r *run) festivals(ctx context.Context, fests []calendar.Festival, bdays []*birthdayHit) error {
	if len(fests) == 0 {
		return nil
	}
	byID := make(map[int64]*birthdayHit, len(bdays))
	for _, b := range bdays {
		byID[b.contact.ID] = b
	}
	combine := !r.p.cfg.SeparateBirthdayOnFestival
	var after int64
	for {
		page, err := r.p.activeContacts(ctx, after, r.p.cfg.BatchSize)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		batch := make([]Item, 0, len(page)*len(fests))
		for _, c := range page {
			for i, f := range fests {
				if b := byID[c.ID]; combine && i == 0 && b != nil && !b.done {
					b.done = true
					batch = append(batch, r.combinedItem(f, b))
					continue
				}
				batch = append(batch, r.festivalItem(f, c))
			}
		}
		if err := r.flush(ctx, batch); err != nil {
			return err
		}
		after = page[len(page)-1].ID
	}
}

// flush enqueues a batch in one transaction (or lists it on a dry run) and
// counts it.
func (r *run) flush(ctx context.Context, batch []Item) error {
	if len(batch) == 0 {
		return nil
	}
	if !r.opts.DryRun {
		planned := make([]delivery.Planned, len(batch))
		for i := range batch {
			planned[i] = batch[i].planned
		}
		var er delivery.EnqueueResult
		err := pgx.BeginFunc(ctx, r.p.pool, func(tx pgx.Tx) error {
			var err error
			er, err = r.p.enq.Enqueue(ctx, tx, planned)
			return err
		})
		if err != nil {
			return fmt.Errorf("enqueue %d care messages: %w", len(planned), err)
		}
		dup := make(map[string]bool, len(er.Duplicates))
		for _, k := range er.Duplicates {
			dup[k] = true
		}
		for i := range batch {
			batch[i].Duplicate = dup[batch[i].DedupeKey]
		}
		r.res.Duplicates += len(er.Duplicates)
		r.res.Planned += len(er.IDs)
	} else {
		r.res.Planned += len(batch)
	}
	r.res.Messages += len(batch)
	for i := range batch {
		it := batch[i]
		if it.Calendar != "" {
			r.res.Birthdays++
		}
		if it.Milestone {
			r.res.Milestones++
		}
		if it.Calendar != "" && it.Rule != RuleBirthday {
			r.res.Combined++
		}
		it.planned = delivery.Planned{}
		switch {
		case r.opts.Emit != nil:
			if err := r.opts.Emit(it); err != nil {
				return err
			}
		case r.opts.DryRun:
			r.res.Items = append(r.res.Items, it)
		}
	}
	return nil
}
