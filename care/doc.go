// Package care is Carillon's care planner: it turns the calendar into
// messages. Planner.Plan(ctx, day, opts) plans one local day — the birthdays
// greeted that day on the solar and the lunar calendar, and the day's
// festivals for every active contact — and enqueues the messages through
// delivery.Enqueue, each scheduled at the send time (Config.SendTime, default
// 09:00) in the contact's own time zone on that date.
//
// # Birthdays
//
// calendar.BirthdayKeys(day) says which stored (month, day) keys are greeted
// on day, edge rules included (29 February on 28 February in a common year,
// a lunar 30th on the 29th of a short month, a leap-month birthday in the
// ordinary month of a year without that leap month). Each key is one probe
// of the contacts table's partial birthday indexes (solar month-day, lunar
// month-day) — never a scan of all contacts — and keys.Greeting gives each
// contact found its greeting: the year in the birthday's calendar, the note
// of the rule used, the age and the milestone flag (60th, 70th, 80th …).
// The message is the "birthday" template with dedupe key
// birthday:<external id>:<calendar>:<year in that calendar>
// (calendar.Greeting.DedupeKey); its vars carry .Occasion and a "Birthday"
// record {Calendar, Year, Lunar, Age, Milestone, Note} that the managers'
// digest reads for milestones.
//
// # Festivals
//
// calendar.FestivalsOn(day, Config.Festivals) gives the day's festivals. For
// each, every active, unerased contact gets the "festival.<key>" template with
// dedupe key festival:<key>:<external id>:<year> (FestivalDedupeKey: the
// year is the festival's own, lunar for a lunar festival). Contacts are read
// in pages of Config.BatchSize by primary key and each page is enqueued in
// its own transaction, so a festival over a million contacts is never held
// in memory and a crash mid-way is finished by planning the day again.
//
// # A birthday on a festival
//
// By default (DefaultCombined) a contact whose birthday falls on a festival
// gets one message, not two: rule "birthday+festival.<key>" (CombinedRule),
// the festival's template, channels and dedupe key — it is that contact's
// festival greeting — with the birthday recorded under "Birthday" in its vars
// (and the birthday's own dedupe key as Birthday.DedupeKey). On a day of two
// festivals the birthday joins the first. Config.SeparateBirthdayOnFestival
// sends the birthday as its own message instead.
//
// # Who is planned
//
// Only contacts with status active and not erased. Messages are of purpose
// service; consent, suppressions and quiet hours are delivery's, at send
// time, from the rows as they are then.
//
// # Dry runs and re-plans
//
// PlanOptions.DryRun lists the items (Result.Items, or PlanOptions.Emit one at
// a time) and writes nothing; each Item marshals to one JSON line of `carillon
// plan --dry-run --json`. A real run reports Planned (new messages) and
// Duplicates (dedupe keys already in the outbox): planning a day twice plans
// nothing new.
//
// # Date-field notices
//
// A date-field rule (kind date_field: deposit_maturity is on after migrate,
// the bank adds loan_due, account_anniversary … through POST /api/care-rules)
// names an attrs key holding an ISO date and an offset: deposit_maturity, -7
// sends the notice a week before the date. The contacts are found by the date
// (an expression index on attrs ->> 'deposit_maturity'; a field without one is
// read by a scan, which is still one query per day). A yearly rule greets the
// date's month-day every year after the first. The dedupe key is
// notice:<rule>:<contact>:<stored date>:<offset>[:<year>] (NoticeDedupeKey),
// so a renewed deposit with a new date gets its own notice. Vars: "Notice"
// {Rule, Field, Date, Stored, OffsetDays, DaysLeft, Years} and "Deposit"
// {MaturityDate, DaysLeft, Product, Amount, AccountTail} from attrs.
//
// # Rules
//
// Every rule is a row of care_rules (rulesapi.go): birthday, festival.<key>
// for each festival, date-field rules, and extensions — rules another package
// plans (the managers' revisit digest, AddExtension). Each has its switch,
// schedule, lead_days, channels, template and send time, edited through the
// API with the change in the audit log. Plan runs the enabled rules, or those
// named in PlanOptions.Rules. RuleStats counts a rule's messages per planned
// day by where each message's fallback chain ended.
//
// # Scheduling
//
// One fixed River periodic job, the tick (every minute, on the leader), reads
// the enabled rules of care_rules, and for each whose cron schedule (CRON_TZ=
// allowed) fired within the last CatchUp (an hour) inserts a plan job for
// that rule and the day it fired plus lead_days, unique per rule and day, so a
// leader change, a restart or two nodes never plan a rule's day twice and a
// firing missed while no node led is still planned. Then the tick runs the
// hooks registered with OnTick (campaigns' recurring schedules) (tick.go).
package care
