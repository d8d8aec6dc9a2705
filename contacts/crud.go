package contacts

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"carillon/internal/audit"
	"carillon/internal/pii"
)

const contactColumns = `c.id, c.external_id, c.status, COALESCE(c.name, ''), COALESCE(c.gender, ''), c.locale, c.time_zone,
  c.birth_calendar, c.birth_year, c.birth_month, c.birth_day, c.lunar_month, c.lunar_day, c.lunar_leap,
  COALESCE(c.phone, ''), COALESCE(c.email, ''), COALESCE(c.wechat_openid, ''), COALESCE(c.tier, ''),
  COALESCE(m.code, ''), COALESCE(c.manager_id, 0), c.tags, c.attrs, c.erased_at, c.created_at, c.updated_at`

const contactFrom = ` FROM contacts c LEFT JOIN managers m ON m.id = c.manager_id `

func scanContact(row pgx.Row) (Contact, error) {
	var c Contact
	var cal *string
	var by, bm, bd, lm, ld *int16
	var leap bool
	err := row.Scan(&c.ID, &c.ExternalID, &c.Status, &c.Name, &c.Gender, &c.Locale, &c.TimeZone,
		&cal, &by, &bm, &bd, &lm, &ld, &leap, &c.Phone, &c.Email, &c.WeChatOpenID, &c.Tier,
		&c.Manager, &c.ManagerID, &c.Tags, &c.Attrs, &c.ErasedAt, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return c, notFound(err)
	}
	if cal != nil || bm != nil || lm != nil {
		b := &Birthday{LunarLeap: leap}
		if cal != nil {
			b.Calendar = *cal
		}
		deref := func(p *int16) int {
			if p == nil {
				return 0
			}
			return int(*p)
		}
		b.Year, b.Month, b.Day, b.LunarMonth, b.LunarDay = deref(by), deref(bm), deref(bd), deref(lm), deref(ld)
		c.Birthday = b
	}
	if c.Tags == nil {
		c.Tags = []string{}
	}
	return c, nil
}

// Get returns the contact with id.
func (s *Store) Get(ctx context.Context, id int64) (Contact, error) {
	return scanContact(s.pool.QueryRow(ctx, `SELECT `+contactColumns+contactFrom+`WHERE c.id = $1`, id))
}

// GetByExternalID returns the contact with the bank's customer number.
func (s *Store) GetByExternalID(ctx context.Context, externalID string) (Contact, error) {
	return scanContact(s.pool.QueryRow(ctx, `SELECT `+contactColumns+contactFrom+`WHERE c.external_id = $1`, externalID))
}

// build turns an API input into a staged row.
func (s *Store) build(ctx context.Context, externalID string, in Input) (*stageRow, error) {
	var lookupErr error
	b := newRowBuilder(1, func(code string) (int64, bool) {
		var id int64
		err := s.pool.QueryRow(ctx, `SELECT id FROM managers WHERE code = $1`, code).Scan(&id)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			lookupErr = err
		}
		return id, err == nil
	})
	b.set("external_id", externalID)
	for field, p := range map[string]*string{
		"status": in.Status, "name": in.Name, "gender": in.Gender, "locale": in.Locale, "timezone": in.TimeZone,
		"birthday": in.Birthday, "lunar_birthday": in.LunarBirthday, "birthday_calendar": in.BirthdayCalendar,
		"phone": in.Phone, "email": in.Email, "wechat_openid": in.WeChatOpenID, "tier": in.Tier, "manager": in.Manager,
	} {
		if p != nil {
			b.set(field, *p)
		}
	}
	if in.Tags != nil {
		tags := []string{}
		for _, t := range *in.Tags {
			if t = fold(t); t != "" {
				if len(t) > 64 {
					b.fail("tags", fmt.Errorf("tag too long: %q", t[:64]))
				}
				tags = append(tags, t)
			}
		}
		b.row.vals[sTags] = tags
	}
	if in.Attrs != nil {
		js, err := json.Marshal(in.Attrs)
		switch {
		case err != nil:
			b.fail("attrs", err)
		case len(js) > MaxAttrsBytes:
			b.fail("attrs", fmt.Errorf("too large (%d bytes; at most %d) / 过大", len(js), MaxAttrsBytes))
		default:
			b.row.vals[sAttrs] = js
		}
	}
	var clear []string
	for _, f := range in.Clear {
		col, ok := clearable[f]
		switch {
		case !ok:
			b.fail("clear", fmt.Errorf("%q cannot be cleared (clearable: name, gender, phone, email, wechat_openid, tier, manager, birthday)", f))
		case col == "birthday":
			clear = append(clear, "birth_calendar", "birth_year", "birth_month", "birth_day", "lunar_month", "lunar_day")
		default:
			clear = append(clear, col)
		}
	}
	if clear != nil {
		b.row.vals[sClear] = clear
	}
	for ch, v := range in.Consents {
		if !ValidChannel(ch) {
			b.fail("consents", fmt.Errorf("unknown channel %q (sms, email, wechat)", ch))
			continue
		}
		b.row.vals[map[string]int{"sms": sConsentSMS, "email": sConsentEmail, "wechat": sConsentWeChat}[ch]] = v
	}
	row, errs := b.finish()
	if lookupErr != nil {
		return nil, lookupErr
	}
	if errs != nil {
		return nil, &ValidationError{Fields: errs}
	}
	return row, nil
}

// Create adds a contact. ErrConflict when the external id exists.
func (s *Store) Create(ctx context.Context, actor audit.Actor, in Input) (Contact, error) {
	if in.ExternalID == nil {
		return Contact{}, &ValidationError{Fields: []FieldError{{Field: "external_id", Message: "is required"}}}
	}
	row, err := s.build(ctx, *in.ExternalID, in)
	if err != nil {
		return Contact{}, err
	}
	var id int64
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM contacts WHERE external_id = $1)`, row.vals[sExternalID]).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return fmt.Errorf("a contact with external_id %q exists: %w", row.vals[sExternalID], ErrConflict)
		}
		outs, _, err := mergeStaged(ctx, tx, []*stageRow{row}, s.cfg.Now(), actor.String(), "api", nil)
		if err != nil {
			return dbValidation(err)
		}
		if len(outs) != 1 {
			return fmt.Errorf("create contact: merge returned %d rows", len(outs))
		}
		id = outs[0].id
		return auditEvents(ctx, tx, actor, "contact.create", id)
	})
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return Contact{}, fmt.Errorf("a contact with external_id %q exists: %w", row.vals[sExternalID], ErrConflict)
		}
		return Contact{}, err
	}
	return s.Get(ctx, id)
}

// Update changes a contact; fields left nil keep their values. It appends a
// timeline event naming what changed (nothing when nothing did).
func (s *Store) Update(ctx context.Context, actor audit.Actor, id int64, in Input) (Contact, error) {
	cur, err := s.Get(ctx, id)
	if err != nil {
		return Contact{}, err
	}
	if cur.ErasedAt != nil {
		return Contact{}, ErrErased
	}
	if in.ExternalID != nil && fold(*in.ExternalID) != cur.ExternalID {
		return Contact{}, &ValidationError{Fields: []FieldError{{Field: "external_id", Message: "cannot be changed"}}}
	}
	row, err := s.build(ctx, cur.ExternalID, in)
	if err != nil {
		return Contact{}, err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, _, err := mergeStaged(ctx, tx, []*stageRow{row}, s.cfg.Now(), actor.String(), "api", nil); err != nil {
			return dbValidation(err)
		}
		return auditEvents(ctx, tx, actor, "contact.update", id)
	})
	if err != nil {
		return Contact{}, err
	}
	return s.Get(ctx, id)
}

// auditEvents copies the timeline events this transaction wrote for a contact
// into the audit log (they hold masked values only), one audit row per write:
// their data by kind, at the latest event's time. No events, no row.
func auditEvents(ctx context.Context, tx pgx.Tx, actor audit.Actor, action string, contactID int64) error {
	rows, err := tx.Query(ctx, sqlTxEvents, contactID)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	changes := map[string]any{}
	var last time.Time
	for rows.Next() {
		var kind string
		var data json.RawMessage
		var at time.Time
		if err := rows.Scan(&kind, &data, &at); err != nil {
			rows.Close()
			return fmt.Errorf("audit %s: %w", action, err)
		}
		changes[kind] = data
		if at.After(last) {
			last = at
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	if len(changes) == 0 {
		return nil
	}
	return audit.Append(ctx, tx, actor, last, audit.Entry{Action: action, ObjectType: "contact",
		ObjectID: strconv.FormatInt(contactID, 10), Changes: changes})
}

// sqlTxEvents are the timeline events of contact $1 the current transaction wrote.
const sqlTxEvents = `SELECT kind, data, at FROM contact_events
	WHERE contact_id = $1 AND xmin = pg_current_xact_id()::xid ORDER BY id`

// dbValidation turns a check-constraint refusal into a ValidationError.
func dbValidation(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "23514" || pe.Code == "23502") {
		return &ValidationError{Fields: []FieldError{{Field: pe.ColumnName, Message: "refused: " + pe.Message}}}
	}
	return err
}

// Execer is what AppendEvents needs: a pool, a connection or a transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error)
}

// AppendEvents adds events to timelines (COPY for many). Data must hold no raw
// personal data. Other packages call it in their own transactions.
func AppendEvents(ctx context.Context, q Execer, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	cols := []string{"contact_id", "at", "kind", "actor", "summary", "data"}
	if len(events) < 8 {
		for _, e := range events {
			data := e.Data
			if data == nil {
				data = json.RawMessage(`{}`)
			}
			if _, err := q.Exec(ctx, `INSERT INTO contact_events (contact_id, at, kind, actor, summary, data)
				VALUES (@contact, @at, @kind, @actor, @summary, @data)`,
				pgx.NamedArgs{"contact": e.ContactID, "at": e.At, "kind": e.Kind, "actor": e.Actor, "summary": e.Summary, "data": []byte(data)}); err != nil {
				return fmt.Errorf("append %s event: %w", e.Kind, err)
			}
		}
		return nil
	}
	_, err := q.CopyFrom(ctx, pgx.Identifier{"contact_events"}, cols, pgx.CopyFromSlice(len(events), func(i int) ([]any, error) {
		e := events[i]
		data := e.Data
		if data == nil {
			data = json.RawMessage(`{}`)
		}
		return []any{e.ContactID, e.At, e.Kind, e.Actor, e.Summary, []byte(data)}, nil
	}))
	if err != nil {
		return fmt.Errorf("append %d events: %w", len(events), err)
	}
	return nil
}

// Scope limits which contacts a caller may see. The zero value sees every contact;
// a restricted scope sees the contacts of ManagerIDs only (a customer manager's own,
// and a team lead's team's).
type Scope struct {
	Restricted bool
	ManagerIDs []int64
}

// CheckScope returns ErrNotFound when contact id does not exist or lies outside
// scope, so a caller cannot tell one from the other.
func (s *Store) CheckScope(ctx context.Context, scope Scope, id int64) error {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM contacts WHERE id = $1 AND (NOT $2 OR manager_id = ANY($3)))`,
		id, scope.Restricted, scope.ManagerIDs).Scan(&ok)
	if err != nil {
		return fmt.Errorf("check scope of contact %d: %w", id, err)
	}
	if !ok {
		return ErrNotFound
	}
	return nil
}

// ListFilter selects contacts. Empty fields do not filter.
type ListFilter struct {
	Scope   Scope
	Tier    string
	Manager string // manager code
	Tag     string
	Status  string
	After   int64 // cursor: list contacts with id > After
	Limit   int   // default 50, at most 500
}

// Page is a page of results and the cursor of the next page ("" at the end).
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// List lists contacts in id order, filtered, with cursor paging.
func (s *Store) List(ctx context.Context, f ListFilter) (Page[Contact], error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	rows, err := s.pool.Query(ctx, `SELECT `+contactColumns+contactFrom+`
		WHERE c.id > @after AND (@tier = '' OR c.tier = @tier) AND (@manager = '' OR m.code = @manager)
		  AND (@tag = '' OR c.tags @> ARRAY[@tag]) AND (@status = '' OR c.status = @status)
		  AND (NOT @restricted OR c.manager_id = ANY(@managers))
		ORDER BY c.id LIMIT @limit`, pgx.NamedArgs{"after": f.After, "tier": f.Tier, "manager": f.Manager, "tag": f.Tag,
		"status": f.Status, "limit": limit + 1, "restricted": f.Scope.Restricted, "managers": f.Scope.ManagerIDs})
	if err != nil {
		return Page[Contact]{}, fmt.Errorf("list contacts: %w", err)
	}
	defer rows.Close()
	p := Page[Contact]{Items: []Contact{}}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return p, err
		}
		p.Items = append(p.Items, c)
	}
	if err := rows.Err(); err != nil {
		return p, err
	}
	if len(p.Items) > limit {
		p.Items = p.Items[:limit]
		p.Next = strconv.FormatInt(p.Items[limit-1].ID, 10)
	}
	return p, nil
}

// TimelineFilter selects events of one contact.
type TimelineFilter struct {
	Kind   string // an exact kind ("consent.changed") or a prefix ending in "." ("message.")
	Cursor string // from a previous page's Next
	Limit  int    // default 50, at most 500
}

// ErrBadCursor is returned for a cursor that no page produced.
var ErrBadCursor = errors.New("bad cursor")

func encodeCursor(at time.Time, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + "." + strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (time.Time, int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, 0, ErrBadCursor
	}
	a, bID, ok := strings.Cut(string(b), ".")
	us, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(bID, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return time.Time{}, 0, ErrBadCursor
	}
	return time.UnixMicro(us), id, nil
}

// Timeline lists a contact's events, newest first, with cursor paging.
func (s *Store) Timeline(ctx context.Context, contactID int64, f TimelineFilter) (Page[Event], error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM contacts WHERE id = $1)`, contactID).Scan(&exists); err != nil {
		return Page[Event]{}, err
	}
	if !exists {
		return Page[Event]{}, ErrNotFound
	}
	at, id := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), int64(1<<62)
	if f.Cursor != "" {
		var err error
		if at, id, err = decodeCursor(f.Cursor); err != nil {
			return Page[Event]{}, err
		}
	}
	kind, prefix := f.Kind, ""
	if strings.HasSuffix(kind, ".") {
		kind, prefix = "", strings.ReplaceAll(strings.ReplaceAll(f.Kind, `\`, `\\`), "%", `\%`)+"%"
	}
	rows, err := s.pool.Query(ctx, `SELECT id, contact_id, at, kind, actor, summary, data FROM contact_events
		WHERE contact_id = @contact AND (at, id) < (@at, @id) AND (@kind = '' OR kind = @kind) AND (@prefix = '' OR kind LIKE @prefix)
		ORDER BY at DESC, id DESC LIMIT @limit`, pgx.NamedArgs{"contact": contactID, "at": at, "id": id, "kind": kind, "prefix": prefix, "limit": limit + 1})
	if err != nil {
		return Page[Event]{}, fmt.Errorf("timeline of contact %d: %w", contactID, err)
	}
	defer rows.Close()
	p := Page[Event]{Items: []Event{}}
	for rows.Next() {
		var e Event
		if err := rows.Scan(&e.ID, &e.ContactID, &e.At, &e.Kind, &e.Actor, &e.Summary, &e.Data); err != nil {
			return p, err
		}
		p.Items = append(p.Items, e)
	}
	if err := rows.Err(); err != nil {
		return p, err
	}
	if len(p.Items) > limit {
		p.Items = p.Items[:limit]
		last := p.Items[limit-1]
		p.Next = encodeCursor(last.At, last.ID)
	}
	return p, nil
}

// Consents lists a contact's consent statements.
func (s *Store) Consents(ctx context.Context, contactID int64) ([]Consent, error) {
	if _, err := s.Get(ctx, contactID); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT channel, purpose, granted, source, at FROM consents WHERE contact_id = $1 ORDER BY channel, purpose`, contactID)
	if err != nil {
		return nil, fmt.Errorf("consents of contact %d: %w", contactID, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Consent, error) {
		var c Consent
		err := r.Scan(&c.Channel, &c.Purpose, &c.Granted, &c.Source, &c.At)
		return c, err
	})
}

// ConsentChange is one consent statement to record.
type ConsentChange struct {
	Channel string `json:"channel"`
	Purpose string `json:"purpose"`
	Granted bool   `json:"granted"`
	Source  string `json:"source"` // api, sms_reply, unsubscribe_link, wechat_unfollow, ...
	Reason  string `json:"reason,omitempty"`
	// ReplyText is the customer's reply that made the change, kept in the
	// timeline with it; InReplyTo the purpose of the message it answered.
	ReplyText string `json:"reply_text,omitempty"`
	InReplyTo string `json:"in_reply_to,omitempty"`
}

// SetConsent records a consent statement and appends a timeline event when it
// changes the state. It returns whether it did.
func (s *Store) SetConsent(ctx context.Context, q pgx.Tx, actor audit.Actor, contactID int64, ch ConsentChange) (bool, error) {
	var errs []FieldError
	if !ValidChannel(ch.Channel) {
		errs = append(errs, FieldError{Field: "channel", Message: fmt.Sprintf("unknown channel %q (sms, email, wechat)", ch.Channel)})
	}
	if !ValidPurpose(ch.Purpose) {
		errs = append(errs, FieldError{Field: "purpose", Message: fmt.Sprintf("unknown purpose %q (service, care, marketing)", ch.Purpose)})
	}
	if ch.Source == "" || ch.Source == "import" || len(ch.Source) > 64 {
		errs = append(errs, FieldError{Field: "source", Message: "a source (api, sms_reply, unsubscribe_link, ...) is required"})
	}
	if len(ch.Reason) > 500 {
		errs = append(errs, FieldError{Field: "reason", Message: "too long (at most 500 bytes)"})
	}
	if errs != nil {
		return false, &ValidationError{Fields: errs}
	}
	run := func(tx pgx.Tx) (bool, error) {
		var erased *time.Time
		if err := tx.QueryRow(ctx, `SELECT erased_at FROM contacts WHERE id = $1 FOR NO KEY UPDATE`, contactID).Scan(&erased); err != nil {
			return false, notFound(err)
		}
		if erased != nil {
			return false, ErrErased
		}
		var prev *bool
		err := tx.QueryRow(ctx, `SELECT granted FROM consents WHERE contact_id = $1 AND channel = $2 AND purpose = $3`, contactID, ch.Channel, ch.Purpose).Scan(&prev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return false, err
		}
		now := s.cfg.Now()
		if _, err := tx.Exec(ctx, `INSERT INTO consents (contact_id, channel, purpose, granted, source, at)
			VALUES (@contact, @channel, @purpose, @granted, @source, @at)
			ON CONFLICT (contact_id, channel, purpose) DO UPDATE SET granted = EXCLUDED.granted, source = EXCLUDED.source, at = EXCLUDED.at`,
			pgx.NamedArgs{"contact": contactID, "channel": ch.Channel, "purpose": ch.Purpose, "granted": ch.Granted, "source": ch.Source, "at": now}); err != nil {
			return false, err
		}
		if prev != nil && *prev == ch.Granted {
			return false, nil
		}
		verb := "revoked"
		if ch.Granted {
			verb = "granted"
		}
		fields := map[string]any{"channel": ch.Channel, "purpose": ch.Purpose, "granted": ch.Granted, "source": ch.Source, "previous": prev, "reason": ch.Reason}
		summary := fmt.Sprintf("%s consent %s for %s by %s", ch.Purpose, verb, ch.Channel, ch.Source)
		if ch.ReplyText != "" {
			fields["reply_text"] = ch.ReplyText
			if ch.InReplyTo != "" {
				fields["in_reply_to"] = ch.InReplyTo
			}
			summary = fmt.Sprintf("客户回复退订，%s%s授权已撤销 / %s consent revoked for %s by the customer's reply", channelZh[ch.Channel], purposeZh[ch.Purpose], ch.Purpose, ch.Channel)
		}
		data, _ := json.Marshal(fields)
		if err := AppendEvents(ctx, tx, []Event{{ContactID: contactID, At: now, Kind: EventConsentChanged, Actor: actor.String(),
			Summary: summary, Data: data}}); err != nil {
			return false, err
		}
		return true, audit.Append(ctx, tx, actor, now, audit.Entry{Action: "consent.set", ObjectType: "contact", ObjectID: strconv.FormatInt(contactID, 10),
			Changes: map[string]any{"channel": ch.Channel, "purpose": ch.Purpose, "granted": ch.Granted, "source": ch.Source, "reason": ch.Reason}})
	}
	if q != nil {
		return run(q)
	}
	var changed bool
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		changed, err = run(tx)
		return err
	})
	return changed, err
}

// Masked returns the contact with phone, email and openid masked, for roles that
// may not see them.
func (c Contact) Masked() Contact {
	c.Phone = pii.Phone(c.Phone)
	c.Email = pii.Email(c.Email)
	c.WeChatOpenID = pii.OpenID(c.WeChatOpenID)
	return c
}

// GetMany returns the contacts with the given ids (missing ones are absent).
func (s *Store) GetMany(ctx context.Context, ids []int64) (map[int64]Contact, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+contactColumns+contactFrom+`WHERE c.id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("load contacts: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]Contact, len(ids))
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, err
		}
		out[c.ID] = c
	}
	return out, rows.Err()
}

// ContactsByAddress returns the ids of contacts holding an address on a channel
// (sms: phone, email, wechat: openid), erased contacts excluded.
func (s *Store) ContactsByAddress(ctx context.Context, q pgx.Tx, channel, address string) ([]int64, error) {
	var col string
	switch channel {
	case ChannelSMS:
		col = "phone"
	case ChannelEmail:
		col = "email"
	case ChannelWeChat:
		col = "wechat_openid"
	default:
		return nil, fmt.Errorf("contacts by address: unknown channel %q", channel)
	}
	rows, err := q.Query(ctx, `SELECT id FROM contacts WHERE `+col+` = $1 AND erased_at IS NULL ORDER BY id`, address)
	if err != nil {
		return nil, fmt.Errorf("contacts by address: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}
