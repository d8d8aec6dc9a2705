// Package revisits is the customer managers' side of Carillon: the revisit
// cadence by tier, revisit records, the daily digest pushed to each manager,
// escalation to team leads, feedback records, change alerts, reassignment and
// cover, and the ranking of managers and teams.
//
// # Cadence
//
// Each tier is revisited every N calendar days (revisit_cadences: A and B 7, C
// 14, D 30 by default; SetCadence changes them). A customer's nominal due day is
// the last revisit's day (or, before any, the day the customer was assigned or
// created) plus the tier's days, or the next date the manager set at the last
// revisit. The due day is the first business day on or after the nominal one
// (calendar.NextBusinessDay: public holidays skipped, 调休 make-up Saturdays
// worked). Because that move is monotonic, "due on or before business day D"
// is "nominal day <= D", so the due lists are one set-based query by manager
// (contacts_manager_idx) with no per-day table.
//
// # Revisits
//
// LogRevisit records a revisit (method, outcome, needs, notes, an optional next
// date and tier change), resets the cadence, appends revisit.logged (and
// revisit.tier_changed) to the contact's timeline and writes the audit log.
// Free text stays in the revisits table, never in the timeline, and is scrubbed
// by EraseContact (the service is a contacts.Eraser and contacts.Exporter).
//
// # Digests
//
// PlanDigests builds, for a business day, one digest per active manager with
// something to act on — due and overdue customers, the next 7 days' birthdays
// (either calendar), deposit maturities and festivals, unforwarded replies,
// complaints past their SLA, change alerts; for a team lead the team's
// revisits overdue by more than EscalateAfter business days, the team summary
// and, on the week's first business day, the weekly feedback summary — from a
// handful of set-based queries, and enqueues them (WeCom, then email; unique
// by digest:<code>:<date>). cmd/carillon plugs PlanDigests into the care
// planner as the care rule revisit_digest, whose settings the digest reads
// through Config.Rules. Customers and managers are read through the contacts
// package's views contact_cards and manager_refs, set-based.
//
// # Feedback, alerts, reassignment, the report
//
// Feedback records move open → in_progress → resolved; a complaint has an SLA
// day and is pushed to its owner at once (KeyAlert). A trigger on contacts
// (migration 010) records change alerts by the rules of revisit_alert_rules.
// Reassign moves customers through the contacts package's merge, keeping
// history and cadence; CreateCover lets a colleague cover a manager on leave.
// RevisitReport ranks managers and teams by revisits done on time.
package revisits
