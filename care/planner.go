package care

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

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
	// DefaultWorkers is how many enqueue transactions a festival runs at once.
	DefaultWorkers = 3
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

// DefaultNoticeChannels returns a new date-field rule's channels: SMS,
// WeChat, email (a notice about money goes by SMS first).
func DefaultNoticeChannels() []channels.Channel {
	return []channels.Channel{channels.SMS, channels.WeChat, channels.Email}
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
	// Festivals chooses the festivals greeted (calendar.Config: built-ins,
	// optional ones switched on, the bank's own) and carries the configured
	// public-holiday years. Default: the calendar's default festivals.
	Festivals calendar.Config
	// Bank is the sender's identity for the templates' .Bank variables. Default
	// none: the templates then render .Bank as empty.
	Bank templates.Bank
	// BatchSize is how many contacts one read and one enqueue transaction
	// carry. Default DefaultBatchSize, at most MaxBatchSize.
	BatchSize int
	// Workers is how many batches a festival enqueues at once. Default
	// DefaultWorkers, at most 16.
	Workers int
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
	c.Workers = cmp.Or(c.Workers, DefaultWorkers)
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
	if c.Workers < 1 || c.Workers > 16 {
		return fmt.Errorf("%w: Workers %d out of range 1..16", ErrConfig, c.Workers)
	}
	if c.BatchSize < 1 || c.BatchSize > MaxBatchSize {
		return fmt.Errorf("%w: BatchSize %d out of range 1..%d", ErrConfig, c.BatchSize, MaxBatchSize)
	}
	if _, err := time.LoadLocation(c.FallbackTimeZone); err != nil {
		return fmt.Errorf("%w: FallbackTimeZone: %w", ErrConfig, err)
	}
	if err := c.Festivals.Validate(); err != nil {
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
	extensions           []Extension
	tickHooks            []TickHook
	holidayMissing       *prometheus.GaugeVec
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
	gauge := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "carillon_calendar_holiday_data_missing",
		Help: "1 when a year's public-holiday data (configured or lunar-go's) is missing and business days count weekends only, by year checked."}, []string{"year"})
	return &Planner{cfg: cfg, pool: pool, contacts: store, enq: enq, sendHour: h, sendMinute: m, fallback: fb, holidayMissing: gauge}, nil
}

// Collectors returns the planner's metrics to register:
// carillon_calendar_holiday_data_missing{year}.
func (p *Planner) Collectors() []prometheus.Collector {
	return []prometheus.Collector{p.holidayMissing}
}

// CheckHolidayData checks the holiday data of from..to, sets
// carillon_calendar_holiday_data_missing for each year checked, and logs a
// warning when some is missing. serve calls it at start for today and
// calendar.LookAhead days; Plan for the day planned.
func (p *Planner) CheckHolidayData(ctx context.Context, from, to calendar.Date) calendar.HolidayCheck {
	chk := p.cfg.Festivals.CheckHolidayData(from, to)
	for y := from.Year; y <= max(to.Year, from.Year); y++ {
		p.holidayMissing.WithLabelValues(strconv.Itoa(y)).Set(0)
	}
	for _, y := range chk.Missing {
		p.holidayMissing.WithLabelValues(strconv.Itoa(y)).Set(1)
	}
	if !chk.HolidayData {
		p.cfg.Logger.WarnContext(ctx, "calendar: no public-holiday data; business days count Monday to Friday only (add [[calendar.year]] to the configuration)",
			"from", from.String(), "to", to.String(), "missing_years", chk.Missing)
	}
	return chk
}

// Config returns the planner's configuration, defaults applied.
func (p *Planner) Config() Config { return p.cfg }

// PlanOptions choose how a day is planned.
type PlanOptions struct {
	// DryRun lists what would be planned and writes nothing. The outbox is
	// not consulted: every item is listed, none is a duplicate.
	DryRun bool
	// Rules limits the plan to these rules (keys of care_rules); empty plans
	// every enabled rule. A disabled rule is never planned.
	Rules []string
	// Emit, when set, receives every item as it is planned (after its batch
	// is committed, with Duplicate set, on a real run), and Result.Items stays
	// empty. Without it a dry run collects the items in Result.Items and a
	// real run keeps only the counts. An error from Emit stops the plan.
	Emit func(Item) error
	// EmitLine, when set, receives the lines of the extensions' rules (the
	// managers' digests), one JSON-marshalable value each.
	EmitLine func(any) error
	// SendAt, when set, makes every message due at that instant instead of its
	// rule's send time on the day: the demo plays a day at once.
	SendAt time.Time
}

// Item is one planned message. Its JSON is one line of `carillon plan
// --dry-run --json`; fields are only ever added.
type Item struct {
	// Rule names the rule: "birthday", "festival.mid_autumn",
	// "birthday+festival.mid_autumn" for a combined message, or a date-field
	// rule's key ("deposit_maturity").
	Rule string `json:"rule"`
	// Contact is the contact's external id (the bank's customer number).
	Contact   string        `json:"contact"`
	ContactID int64         `json:"contact_id"`
	Date      calendar.Date `json:"date"` // the local day greeted
	// Channels in order of preference.
	Channels []channels.Channel `json:"channels"`
	Template string             `json:"template"`
	// SendAt is the send time on Date in the contact's zone, with its offset.
	SendAt time.Time `json:"send_at"`
	// Deadline is the end of Date in the contact's zone: the message is
	// cancelled (reason expired) rather than sent after it.
	Deadline time.Time `json:"deadline"`
	TimeZone string    `json:"timezone"`
	// Note states the birthday edge rules used ("lunar 30th greeted on the
	// 29th"), or a notice's date ("deposit_maturity 2027-08-25, 7 days
	// before"); "" when none.
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
	// FieldDate is a date-field notice's date (the deposit's maturity).
	FieldDate *calendar.Date `json:"field_date,omitempty"`
	// Duplicate: a real run found the dedupe key in the outbox already, so
	// nothing new was planned for this item.
	Duplicate bool `json:"duplicate,omitempty"`

	planned delivery.Planned
}

// Result says what a plan did.
type Result struct {
	Date      calendar.Date `json:"date"`
	DryRun    bool          `json:"dry_run"`
	Festivals []string      `json:"festivals"` // keys of the day's festivals greeted
	// HolidayData is false when the day's public holidays are unknown (its
	// year is neither in lunar-go's table nor in [[calendar.year]]): the
	// digests then count weekends only. MissingHolidayYears and
	// HolidayWarning (English / Chinese) say which.
	HolidayData         bool   `json:"holiday_data"`
	MissingHolidayYears []int  `json:"missing_holiday_years,omitempty"`
	HolidayWarning      string `json:"holiday_warning,omitempty"`
	// Rules are the rules that ran.
	Rules []string `json:"rules"`
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
	// birthdays, Notices the date-field notices.
	Birthdays  int `json:"birthdays"`
	Combined   int `json:"combined"`
	Milestones int `json:"milestones"`
	Notices    int `json:"notices"`
	// ByRule counts the messages of each rule (combined ones under their
	// combined name).
	ByRule map[string]int `json:"by_rule"`
}

// Plan plans one local day for the enabled rules (opts.Rules narrows them):
// the birthdays greeted that day on both calendars, looked up by index; the
// day's festivals for every active contact; the date-field notices; and the
// extensions' rules. Each message is sent at its rule's send time in the
// contact's own zone on day. Messages are enqueued in batches, one
// transaction each; dedupe keys make a re-plan (or an interrupted plan run
// again) enqueue only what is missing.
func (p *Planner) Plan(ctx context.Context, day calendar.Date, opts PlanOptions) (Result, error) {
	res := Result{Date: day, DryRun: opts.DryRun, Festivals: []string{}, Rules: []string{}, ByRule: map[string]int{}}
	chk := p.CheckHolidayData(ctx, day, day)
	res.HolidayData, res.MissingHolidayYears, res.HolidayWarning = chk.HolidayData, chk.Missing, chk.Warning
	rules, err := p.ruleMap(ctx)
	if err != nil {
		return res, fmt.Errorf("plan %s: %w", day, err)
	}
	for _, k := range opts.Rules {
		if _, ok := rules[k]; !ok && !p.isConfiguredFestival(k) {
			return res, fmt.Errorf("plan %s: %w: %s", day, ErrRuleNotFound, k)
		}
	}
	selected := func(key string) bool { return len(opts.Rules) == 0 || slices.Contains(opts.Rules, key) }
	enabled := func(key string) bool { r, ok := rules[key]; return ok && r.Enabled }

	keys, err := calendar.BirthdayKeys(day)
	if err != nil {
		return res, fmt.Errorf("plan %s: birthday keys: %w", day, err)
	}
	all, err := calendar.FestivalsOn(day, p.cfg.Festivals)
	if err != nil {
		return res, fmt.Errorf("plan %s: festivals: %w", day, err)
	}
	// A configured festival without a row (added to the configuration since
	// the rules were last ensured) is on, with the defaults.
	var fests []calendar.Festival
	for _, f := range all {
		if r, ok := rules[FestivalRule(f.Key)]; !ok || r.Enabled {
			fests = append(fests, f)
		}
	}
	bdayOn := enabled(RuleBirthday)
	// A birthday on a festival day joins the first festival greeted that day.
	combineInto := ""
	if bdayOn && len(fests) > 0 && !p.cfg.SeparateBirthdayOnFestival {
		combineInto = fests[0].Key
	}
	var bdays []*birthdayHit
	if bdayOn && (selected(RuleBirthday) || (combineInto != "" && selected(FestivalRule(combineInto)))) {
		if bdays, err = p.birthdays(ctx, keys); err != nil {
			return res, fmt.Errorf("plan %s: %w", day, err)
		}
	}
	r := &run{p: p, day: day, opts: opts, res: &res, zones: map[string]*time.Location{}}
	var mine []calendar.Festival
	for _, f := range fests {
		if selected(FestivalRule(f.Key)) {
			mine = append(mine, f)
			res.Festivals = append(res.Festivals, f.Key)
			res.Rules = append(res.Rules, FestivalRule(f.Key))
		}
	}
	if err := r.festivals(ctx, mine, rules, bdays, combineInto); err != nil {
		return res, fmt.Errorf("plan %s: %w", day, err)
	}
	if bdayOn && selected(RuleBirthday) {
		res.Rules = append(res.Rules, RuleBirthday)
		rc := r.ruleCfg(rules[RuleBirthday], p.cfg.BirthdayChannels, templates.KeyBirthday)
		var batch []Item
		for _, b := range bdays {
			if combineInto != "" {
				continue // greeted in the festival's message (planned by the festival's rule)
			}
			batch = append(batch, r.birthdayItem(b, rc))
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
	}
	for _, rule := range sortedRules(rules) {
		if rule.Kind != KindDateField || !rule.Enabled || !selected(rule.Key) {
			continue
		}
		res.Rules = append(res.Rules, rule.Key)
		if err := r.dateField(ctx, rule); err != nil {
			return res, fmt.Errorf("plan %s: rule %s: %w", day, rule.Key, err)
		}
	}
	for _, ext := range p.extensions {
		key := ext.RuleKey()
		if !enabled(key) || !selected(key) {
			continue
		}
		res.Rules = append(res.Rules, key)
		er, err := ext.PlanDay(ctx, day, ExtensionOptions{DryRun: opts.DryRun, Emit: opts.EmitLine, SendAt: opts.SendAt})
		if err != nil {
			return res, fmt.Errorf("plan %s: rule %s: %w", day, key, err)
		}
		res.Messages += er.Messages
		res.Planned += er.Planned
		res.Duplicates += er.Duplicates
		res.ByRule[key] += er.Messages
	}
	p.cfg.Logger.InfoContext(ctx, "care plan", "date", day.String(), "dry_run", opts.DryRun, "rules", res.Rules,
		"messages", res.Messages, "planned", res.Planned, "duplicates", res.Duplicates, "birthdays", res.Birthdays, "notices", res.Notices)
	return res, nil
}

// ruleMap reads every care rule by key.
func (p *Planner) ruleMap(ctx context.Context) (map[string]Rule, error) {
	rules, err := p.Rules(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]Rule, len(rules))
	for _, r := range rules {
		m[r.Key] = r
	}
	return m, nil
}

func sortedRules(m map[string]Rule) []Rule {
	out := make([]Rule, 0, len(m))
	for _, r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Rule) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// configuredFestivals lists the festivals of the configuration (any year).
func (p *Planner) configuredFestivals() ([]calendar.Festival, error) {
	fs, err := calendar.Festivals(2026, p.cfg.Festivals)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return fs, nil
}

func (p *Planner) isConfiguredFestival(rule string) bool {
	fs, _ := p.configuredFestivals()
	for _, f := range fs {
		if FestivalRule(f.Key) == rule {
			return true
		}
	}
	return false
}

// run is one Plan call's state.
type run struct {
	mu    sync.Mutex // guards res while batches are flushed concurrently
	p     *Planner
	day   calendar.Date
	opts  PlanOptions
	res   *Result
	zones map[string]*time.Location
}

// ruleCfg is how a rule's messages are sent.
type ruleCfg struct {
	key          string
	channels     []channels.Channel
	template     string
	hour, minute int
	purpose      channels.Purpose
}

// ruleCfg reads a rule's channels, template and send time, falling back to the
// kind's defaults (a festival without a row: the configuration's).
func (r *run) ruleCfg(rule Rule, dflt []channels.Channel, tmpl string) ruleCfg {
	rc := ruleCfg{key: rule.Key, channels: dflt, template: tmpl, hour: r.p.sendHour, minute: r.p.sendMinute, purpose: rule.Purpose}
	if rc.purpose == "" { // a festival with no row yet: a greeting
		rc.purpose = channels.PurposeCare
		if rule.Kind == KindDateField && !rule.Yearly {
			rc.purpose = channels.PurposeService
		}
	}
	if len(rule.Channels) > 0 {
		rc.channels = rule.Channels
	}
	if rule.Template != "" {
		rc.template = rule.Template
	}
	if rule.SendTime != "" {
		if h, m, err := parseSendTime(rule.SendTime); err == nil {
			rc.hour, rc.minute = h, m
		}
	}
	return rc
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

// dayEnd is the end of the run's day (midnight after it) in the zone.
func (r *run) dayEnd(zone string) time.Time {
	d := r.day.AddDays(1)
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, r.location(zone))
}

// sendAt is the rule's send time on the run's day in the contact's zone
// (PlanOptions.SendAt instead, when set).
func (r *run) sendAt(zone string, rc ruleCfg) time.Time {
	if !r.opts.SendAt.IsZero() {
		return r.opts.SendAt.In(r.location(zone))
	}
	d := r.day
	return time.Date(d.Year, d.Month, d.Day, rc.hour, rc.minute, 0, 0, r.location(zone))
}

// festivals streams every active contact by id and plans the given festivals
// for each; the birthdays found join the festival combineInto, when it is one
// of them.
func (r *run) festivals(ctx context.Context, fests []calendar.Festival, rules map[string]Rule, bdays []*birthdayHit, combineInto string) error {
	if len(fests) == 0 {
		return nil
	}
	byID := make(map[int64]*birthdayHit, len(bdays))
	for _, b := range bdays {
		byID[b.contact.ID] = b
	}
	cfgs := make([]ruleCfg, len(fests))
	for i, f := range fests {
		rule, ok := rules[FestivalRule(f.Key)]
		if !ok {
			rule = Rule{Key: FestivalRule(f.Key)}
		}
		cfgs[i] = r.ruleCfg(rule, r.p.cfg.FestivalChannels, templates.FestivalKey(f.Key))
	}
	// A real run that emits nothing enqueues Config.Workers batches at once,
	// each in its own transaction, while the next page is read: a festival
	// over a million contacts is bound by Postgres's inserts, which then use
	// more than one core.
	if r.opts.Emit == nil && !r.opts.DryRun && r.p.cfg.Workers > 1 {
		return r.concurrently(ctx, func(ctx context.Context, flush func([]Item) error) error {
			return r.festivalPages(ctx, fests, byID, combineInto, cfgs, flush)
		})
	}
	return r.festivalPages(ctx, fests, byID, combineInto, cfgs, func(b []Item) error { return r.flush(ctx, b) })
}

// concurrently runs produce, whose batches Config.Workers goroutines flush.
// The first error stops the producer and is returned.
func (r *run) concurrently(ctx context.Context, produce func(ctx context.Context, flush func([]Item) error) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan []Item)
	var wg sync.WaitGroup
	for range r.p.cfg.Workers {
		wg.Go(func() {
			for b := range batches {
				if ctx.Err() == nil {
					if err := r.flush(ctx, b); err != nil {
						cancel(err)
					}
				}
			}
		})
	}
	err := produce(ctx, func(b []Item) error {
		select {
		case batches <- b:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	})
	close(batches)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil {
		return cause
	}
	return err
}

// festivalPages reads the active contacts page by page and hands each page's
// festival messages to flush.
func (r *run) festivalPages(ctx context.Context, fests []calendar.Festival, byID map[int64]*birthdayHit, combineInto string,
	cfgs []ruleCfg, flush func([]Item) error) error {
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
				if b := byID[c.ID]; f.Key == combineInto && b != nil {
					batch = append(batch, r.combinedItem(f, b, cfgs[i]))
					continue
				}
				batch = append(batch, r.festivalItem(f, c, cfgs[i]))
			}
		}
		if err := flush(batch); err != nil {
			return err
		}
		after = page[len(page)-1].ID
	}
}

// flush enqueues a batch in one transaction (or lists it on a dry run) and
// counts it. Batches may be flushed concurrently when nothing is emitted
// (the counts are kept under r.mu).
func (r *run) flush(ctx context.Context, batch []Item) error {
	if len(batch) == 0 {
		return nil
	}
	if !r.opts.DryRun {
		planned := make([]delivery.Planned, len(batch))
		for i := range batch {
			planned[i] = batch[i].planned
			if batch[i].Note != "" && planned[i].Vars != nil {
				planned[i].Vars[delivery.NoteVar] = batch[i].Note // the rule used, in the timeline
			}
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
		r.mu.Lock()
		defer r.mu.Unlock()
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
		r.mu.Lock()
		defer r.mu.Unlock()
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
		if it.FieldDate != nil {
			r.res.Notices++
		}
		r.res.ByRule[it.Rule]++
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
