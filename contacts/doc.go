// Package contacts owns the customers Carillon cares for and everything about them
// that other packages read: contacts, customer managers and their teams, consents
// per channel and purpose, suppressed addresses, and the contact timeline
// (contact_events, append-only, partitioned by month).
//
// Every write to a contact, whether through the API, a consent change or a CSV
// import, appends a timeline event that says what changed and who did it. Events
// carry masked values only (see internal/pii), so erasing a contact never has to
// rewrite its history.
//
// CSV imports (ImportContacts, ImportManagers) stream the file: rows are parsed and
// checked in Go, staged with COPY in chunks and merged set-based, so a file of a
// million rows is never held in memory.
package contacts
