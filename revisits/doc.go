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
// by EraseHook.
package revisits
