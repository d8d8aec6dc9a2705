package contacts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"carillon/internal/audit"
)

// ErasedPlaceholder stands where an erased customer's name or details were in
// data kept for someone else (a manager's digest that listed the customer
// among others).
const ErasedPlaceholder = "[已删除 erased]"

// Erasure is the contact an erasure is for, with the values it removes, so an
// eraser can find copies of them in other people's records and in free text.
type Erasure struct {
	ContactID    int64
	ExternalID   string // kept on the tombstone; copies elsewhere are scrubbed
	Name         string
	Phone        string
	Email        string
	WeChatOpenID string
	At           time.Time
}

// Eraser scrubs what one package holds about a contact, in the erasure's
// transaction. Each package that owns a table holding personal data offers
// one; contacts runs them and never writes their tables.
type Eraser interface {
	EraseContact(ctx context.Context, tx pgx.Tx, e Erasure) error
	// ErasedColumns names the columns ("table.column") holding personal data
	// that EraseContact scrubs. A test checks that every personal column of
	// the schema is named by some eraser or declared not personal.
	ErasedColumns() []string
}

// Exporter returns what one package holds about a contact, as sections of the
// contact's export (an access request). q reads in the export's snapshot.
type Exporter interface {
	ExportContact(ctx context.Context, q Querier, c Contact) ([]Section, error)
}

// Querier is what an exporter reads with: the export's read-only transaction.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// RegisterEraser adds an eraser run by every erasure. Call it while wiring,
// before serving.
func (s *Store) RegisterEraser(e Eraser) { s.erasers = append(s.erasers, e) }

// RegisterExporter adds an exporter whose sections every export carries. Call
// it while wiring, before serving.
func (s *Store) RegisterExporter(x Exporter) { s.exporters = append(s.exporters, x) }

// erasedColumns are the personal columns of the package's own tables that
// Erase scrubs.
var erasedColumns = []string{
	"contacts.name", "contacts.gender", "contacts.phone", "contacts.email", "contacts.wechat_openid",
	"contacts.birth_calendar", "contacts.birth_year", "contacts.birth_month", "contacts.birth_day",
	"contacts.lunar_month", "contacts.lunar_day", "contacts.lunar_leap", "contacts.attrs", "contacts.tags",
	"contact_events.data", "contact_events.summary", "suppressions.address",
}

// SuppressionKey is how a suppressed address is kept once its contact is
// erased: "sha256:" and the hex SHA-256 of the address. The address stays
// suppressed (a new contact with it is not sent to) without being held.
func SuppressionKey(address string) string {
	h := sha256.Sum256([]byte(address))
	return "sha256:" + hex.EncodeToString(h[:])
}

// ErasedColumns lists every column erasure scrubs: the package's own and
// those of the registered erasers, sorted.
func (s *Store) ErasedColumns() []string {
	out := slices.Clone(erasedColumns)
	for _, e := range s.erasers {
		out = append(out, e.ErasedColumns()...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Erase removes a contact's personal data (name, phone, email, openid, birthday,
// attrs, tags) and keeps a tombstone: the row with its external id and an
// erased event. The registered erasers scrub every copy other packages hold
// (messages, receipts, replies, revisits, feedback, managers' digests), and the
// timeline loses the raw texts it kept (a reply that revoked consent). One
// transaction, audited. Erasing twice is harmless.
func (s *Store) Erase(ctx context.Context, actor audit.Actor, id int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var e Erasure
		var erased *time.Time
		err := tx.QueryRow(ctx, `SELECT external_id, COALESCE(name, ''), COALESCE(phone, ''), COALESCE(email, ''), COALESCE(wechat_openid, ''), erased_at
			FROM contacts WHERE id = $1 FOR UPDATE`, id).Scan(&e.ExternalID, &e.Name, &e.Phone, &e.Email, &e.WeChatOpenID, &erased)
		if err != nil {
			return notFound(err)
		}
		if erased != nil {
			return nil
		}
		e.ContactID, e.At = id, s.cfg.Now()
		if _, err := tx.Exec(ctx, `UPDATE contacts SET name = NULL, phone = NULL, email = NULL, wechat_openid = NULL,
			birth_calendar = NULL, birth_year = NULL, birth_month = NULL, birth_day = NULL, lunar_month = NULL, lunar_day = NULL,
			lunar_leap = false, attrs = '{}', tags = '{}', gender = NULL, erased_at = $2, updated_at = $2
			WHERE id = $1`, id, e.At); err != nil {
			return fmt.Errorf("erase contact %d: %w", id, err)
		}
		addrs := []string{}
		for _, a := range []string{e.Phone, e.Email, e.WeChatOpenID} {
			if a != "" {
				addrs = append(addrs, a)
			}
		}
		if _, err := tx.Exec(ctx, `WITH gone AS (DELETE FROM suppressions WHERE address = ANY($1) RETURNING *)
			INSERT INTO suppressions (channel, address, reason, source, created_at)
			SELECT channel, 'sha256:' || encode(sha256(convert_to(address, 'UTF8')), 'hex'), reason, source, created_at FROM gone
			ON CONFLICT DO NOTHING`, addrs); err != nil {
			return fmt.Errorf("erase contact %d: scrub suppressions: %w", id, err)
		}
		for _, er := range s.erasers {
			if err := er.EraseContact(ctx, tx, e); err != nil {
				return fmt.Errorf("erase contact %d: %w", id, err)
			}
		}
		scrubbed, err := scrubEvents(ctx, tx, e)
		if err != nil {
			return fmt.Errorf("erase contact %d: %w", id, err)
		}
		if err := AppendEvents(ctx, tx, []Event{{ContactID: id, At: e.At, Kind: EventErased, Actor: actor.String(),
			Summary: "个人信息已删除 / personal data erased"}}); err != nil {
			return err
		}
		return audit.Append(ctx, tx, actor, e.At, audit.Entry{Action: "contact.erase", ObjectType: "contact", ObjectID: strconv.FormatInt(id, 10),
			Changes: map[string]any{"erased": []string{"name", "gender", "phone", "email", "wechat_openid", "birthday", "attrs", "tags"},
				"columns": s.ErasedColumns(), "timeline_events_scrubbed": scrubbed}})
	})
}

// scrubEvents removes the raw texts the timeline keeps (a reply's text) and any
// copy of the contact's identifiers from their events. The timeline is
// append-only; its trigger lets an update through only for the contact that
// carillon.erase_contact names, in this transaction.
func scrubEvents(ctx context.Context, tx pgx.Tx, e Erasure) (int, error) {
	if _, err := tx.Exec(ctx, `SELECT set_config('carillon.erase_contact', $1, true)`, strconv.FormatInt(e.ContactID, 10)); err != nil {
		return 0, err
	}
	defer tx.Exec(ctx, `SELECT set_config('carillon.erase_contact', '', true)`) //nolint:errcheck // the setting ends with the transaction anyway
	rows, err := tx.Query(ctx, `SELECT id, at, summary, data FROM contact_events WHERE contact_id = $1`, e.ContactID)
	if err != nil {
		return 0, fmt.Errorf("read timeline: %w", err)
	}
	type ev struct {
		id      int64
		at      time.Time
		summary string
		data    []byte
	}
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ev, error) {
		var x ev
		err := r.Scan(&x.id, &x.at, &x.summary, &x.data)
		return x, err
	})
	if err != nil {
		return 0, fmt.Errorf("read timeline: %w", err)
	}
	n := 0
	for _, x := range evs {
		var data any
		if err := json.Unmarshal(x.data, &data); err != nil {
			return 0, fmt.Errorf("timeline event %d: %w", x.id, err)
		}
		changed := false
		if m, ok := data.(map[string]any); ok {
			for _, k := range rawTextKeys {
				if _, ok := m[k]; ok {
					delete(m, k)
					changed = true
				}
			}
		}
		data, dc := e.ScrubValue(data)
		summary, sc := e.ScrubText(x.summary)
		if !changed && !dc && !sc {
			continue
		}
		js, err := json.Marshal(data)
		if err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `UPDATE contact_events SET data = $4, summary = $5 WHERE contact_id = $1 AND at = $2 AND id = $3`,
			e.ContactID, x.at, x.id, js, summary); err != nil {
			return 0, fmt.Errorf("scrub timeline event %d: %w", x.id, err)
		}
		n++
	}
	return n, nil
}

// rawTextKeys are the keys of timeline data that hold a customer's own words.
var rawTextKeys = []string{"reply_text", "text"}

// identifiers are the strings an erased contact is known by, longest first, so
// a longer one is replaced before a shorter one inside it. A name of one
// character is left out: it would match inside everybody's text.
func (e Erasure) identifiers() []string {
	var out []string
	for _, s := range []string{e.Name, e.Phone, e.Email, e.WeChatOpenID} {
		s = strings.TrimSpace(s)
		if utf8.RuneCountInString(s) >= 2 {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}

// ScrubText replaces every copy of the contact's name, phone, email and openid
// in s with ErasedPlaceholder, and reports whether it changed anything.
func (e Erasure) ScrubText(s string) (string, bool) {
	out := s
	for _, id := range e.identifiers() {
		out = strings.ReplaceAll(out, id, ErasedPlaceholder)
	}
	return out, out != s
}

// ScrubValue walks a decoded JSON value (maps, slices, strings) and scrubs
// every string in it with ScrubText; it reports whether it changed anything.
func (e Erasure) ScrubValue(v any) (any, bool) {
	switch x := v.(type) {
	case string:
		return e.ScrubText(x)
	case map[string]any:
		changed := false
		for k, val := range x {
			nv, c := e.ScrubValue(val)
			if c {
				x[k], changed = nv, true
			}
		}
		return x, changed
	case []any:
		changed := false
		for i, val := range x {
			nv, c := e.ScrubValue(val)
			if c {
				x[i], changed = nv, true
			}
		}
		return x, changed
	}
	return v, false
}

// Mentions reports whether a decoded JSON object is an entry about the
// contact: it has a contact id key (contact_id, ContactID) equal to the
// contact's id, or an external id key (external_id, ExternalID) equal to its
// external id.
func (e Erasure) Mentions(m map[string]any) bool {
	for _, k := range []string{"contact_id", "ContactID", "contactId"} {
		switch v := m[k].(type) {
		case float64:
			if int64(v) == e.ContactID {
				return true
			}
		case json.Number:
			if n, err := v.Int64(); err == nil && n == e.ContactID {
				return true
			}
		case string:
			if v == strconv.FormatInt(e.ContactID, 10) {
				return true
			}
		}
	}
	if e.ExternalID == "" {
		return false
	}
	for _, k := range []string{"external_id", "ExternalID", "externalId"} {
		if v, ok := m[k].(string); ok && v == e.ExternalID {
			return true
		}
	}
	return false
}

// RedactEntries walks a decoded JSON value and, in every object that Mentions
// the contact, replaces each string with ErasedPlaceholder (numbers, booleans,
// dates and the contact id stay, so counts, layouts and templates hold) and marks it
// "Erased": true; other entries are left as they are, except that copies of
// the contact's identifiers in them are scrubbed too. It reports whether it
// changed anything.
func (e Erasure) RedactEntries(v any) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		if e.Mentions(x) {
			for k, val := range x {
				x[k] = redactAll(val)
			}
			x["Erased"] = true
			return x, true
		}
		changed := false
		for k, val := range x {
			if nv, c := e.RedactEntries(val); c {
				x[k], changed = nv, true
			}
		}
		return x, changed
	case []any:
		changed := false
		for i, val := range x {
			if nv, c := e.RedactEntries(val); c {
				x[i], changed = nv, true
			}
		}
		return x, changed
	case string:
		return e.ScrubText(x)
	}
	return v, false
}

// dateLike matches the dates and times an entry carries (a due day, when a
// reply came): not personal on their own, and templates format them.
var dateLike = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$`)

// redactAll replaces every string inside v with the placeholder, except
// dates and times.
func redactAll(v any) any {
	switch x := v.(type) {
	case string:
		if x == "" || dateLike.MatchString(x) {
			return x
		}
		return ErasedPlaceholder
	case map[string]any:
		for k, val := range x {
			x[k] = redactAll(val)
		}
		return x
	case []any:
		for i, val := range x {
			x[i] = redactAll(val)
		}
		return x
	}
	return v
}
