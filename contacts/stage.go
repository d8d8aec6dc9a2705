package contacts

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// A staged row is one contact write (a CSV row or an API call) on its way into
// contacts. Every write, of one row or a million, goes through the same stage and
// the same set-based merge, so the API and the import follow the same rules and
// append the same timeline events.

// Stage columns, in COPY order.
const (
	sLine = iota
	sExternalID
	sStatus
	sName
	sGender
	sLocale
	sTimeZone
	sBirthCalendar
	sBirthYear
	sBirthMonth
	sBirthDay
	sLunarMonth
	sLunarDay
	sLunarLeap
	sPhone
	sEmail
	sOpenID
	sTier
	sManagerID
	sTags
	sAttrs
	sClear
	sConsentSMS
	sConsentEmail
	sConsentWeChat
	sCareSMS
	sCareEmail
	sCareWeChat
	sConsentAt
	sCalDefault
	nStage
)

var stageColumns = []string{"line", "external_id", "status", "name", "gender", "locale", "time_zone",
	"birth_calendar", "birth_year", "birth_month", "birth_day", "lunar_month", "lunar_day", "lunar_leap",
	"phone", "email", "wechat_openid", "tier", "manager_id", "tags", "attrs", "clear",
	"consent_sms", "consent_email", "consent_wechat", "care_sms", "care_email", "care_wechat", "consent_at", "cal_default"}

const createStageSQL = `CREATE TEMP TABLE IF NOT EXISTS contact_stage (
	line integer NOT NULL, external_id text NOT NULL, status text, name text, gender text, locale text,
	time_zone text, birth_calendar text, birth_year smallint, birth_month smallint, birth_day smallint,
	lunar_month smallint, lunar_day smallint, lunar_leap boolean, phone text, email text, wechat_openid text,
	tier text, manager_id bigint, tags text[], attrs jsonb, clear text[],
	consent_sms boolean, consent_email boolean, consent_wechat boolean,
	care_sms boolean, care_email boolean, care_wechat boolean, consent_at timestamptz, cal_default text
) ON COMMIT DELETE ROWS`

// stagedConsents lists a staged row's consent statements (alias s) as
// (channel, purpose, granted): marketing from consent_<channel>, care (greetings)
// from care_<channel>.
const stagedConsents = `(VALUES ('sms', 'marketing', s.consent_sms), ('email', 'marketing', s.consent_email), ('wechat', 'marketing', s.consent_wechat),
    ('sms', 'care', s.care_sms), ('email', 'care', s.care_email), ('wechat', 'care', s.care_wechat)) v(channel, purpose, granted)`

// mergeField is a contacts column the merge may change, and how a change of it is
// shown in the timeline: raw values, masked values, or only the fact of a change
// (personal data such as names and birthdays stay out of the history).
type mergeField struct {
	col  string
	show string // raw | phone | email | openid | changed | manager
}

var mergeFields = []mergeField{
	{"status", "raw"}, {"name", "changed"}, {"gender", "raw"}, {"locale", "raw"}, {"time_zone", "raw"},
	{"birth_calendar", "raw"}, {"birth_year", "changed"}, {"birth_month", "changed"}, {"birth_day", "changed"},
	{"lunar_month", "changed"}, {"lunar_day", "changed"}, {"lunar_leap", "changed"},
	{"phone", "phone"}, {"email", "email"}, {"wechat_openid", "openid"}, {"tier", "raw"},
	{"manager_id", "manager"}, {"tags", "raw"},
}

// clearable lists the fields an API write may empty.
var clearable = map[string]string{
	"name": "name", "gender": "gender", "phone": "phone", "email": "email", "wechat_openid": "wechat_openid",
	"tier": "tier", "manager": "manager_id", "birthday": "birthday",
}

// mergeSQL is built once from mergeFields (constant identifiers only). Parameters:
// $1 at, $2 actor, $3 source (import, api), $4 import id (or null).
var mergeSQL = buildMergeSQL()

func buildMergeSQL() string {
	var sel, diff, insCols, insVals, set, changes []string
	for _, f := range mergeFields {
		c := f.col
		sel = append(sel, fmt.Sprintf("CASE WHEN '%[1]s' = ANY(s.clear) THEN NULL ELSE COALESCE(s.%[1]s, c.%[1]s) END AS n_%[1]s, c.%[1]s AS o_%[1]s", c))
		key := c
		if c == "manager_id" {
			key = "manager"
		}
		diff = append(diff, fmt.Sprintf("CASE WHEN n_%s IS DISTINCT FROM o_%s THEN '%s' END", c, c, key))
		insCols = append(insCols, c)
		switch c {
		case "status":
			insVals = append(insVals, "COALESCE(n_status, 'active')")
		case "locale":
			insVals = append(insVals, fmt.Sprintf("COALESCE(n_locale, '%s')", DefaultLocale))
		case "time_zone":
			insVals = append(insVals, fmt.Sprintf("COALESCE(n_time_zone, '%s')", DefaultTimeZone))
		case "birth_calendar":
			insVals = append(insVals, "COALESCE(n_birth_calendar, cal_default)")
		case "lunar_leap":
			insVals = append(insVals, "COALESCE(n_lunar_leap, false)")
		case "tags":
			insVals = append(insVals, "COALESCE(n_tags, '{}')")
		default:
			insVals = append(insVals, "n_"+c)
		}
		set = append(set, fmt.Sprintf("%[1]s = d.n_%[1]s", c))
		var shown string
		switch f.show {
		case "raw":
			shown = fmt.Sprintf("jsonb_build_object('from', to_jsonb(o_%[1]s), 'to', to_jsonb(n_%[1]s))", c)
		case "phone", "email", "openid":
			shown = fmt.Sprintf("jsonb_build_object('from', carillon_mask_%[2]s(o_%[1]s), 'to', carillon_mask_%[2]s(n_%[1]s))", c, f.show)
		case "manager":
			shown = "jsonb_build_object('from', (SELECT code FROM managers WHERE id = o_manager_id), 'to', (SELECT code FROM managers WHERE id = n_manager_id))"
		default:
			shown = "'true'::jsonb"
		}
		changes = append(changes, fmt.Sprintf("'%s', CASE WHEN '%s' = ANY(d.changed) THEN %s END", key, key, shown))
	}
	changes = append(changes, "'attrs', CASE WHEN 'attrs' = ANY(d.changed) THEN (SELECT to_jsonb(array_agg(k ORDER BY k)) FROM "+
		"(SELECT key AS k FROM jsonb_each(d.n_attrs) WHERE d.o_attrs -> key IS DISTINCT FROM value UNION "+
		"SELECT key FROM jsonb_each(d.o_attrs) WHERE NOT d.n_attrs ? key) x) END")
	// jsonb_build_object takes at most 100 arguments: split the object in two.
	half := len(changes) / 2
	changesExpr := "jsonb_strip_nulls(jsonb_build_object(" + strings.Join(changes[:half], ", ") + ") || jsonb_build_object(" + strings.Join(changes[half:], ", ") + "))"

	return `WITH j AS (
  SELECT s.line, s.external_id, c.id AS cid, c.erased_at, s.cal_default, s.consent_sms, s.consent_email, s.consent_wechat,
    s.care_sms, s.care_email, s.care_wechat, s.consent_at,
    ` + strings.Join(sel, ",\n    ") + `,
    CASE WHEN s.attrs IS NULL THEN c.attrs ELSE jsonb_strip_nulls(COALESCE(c.attrs, '{}') || s.attrs) END AS n_attrs,
    c.attrs AS o_attrs
  -- LATERAL: one index probe per staged row, whatever the planner thinks of a
  -- temporary table it has no statistics for (a hash join would scan all contacts).
  FROM contact_stage s LEFT JOIN LATERAL (SELECT * FROM contacts c WHERE c.external_id = s.external_id) c ON true
), d AS (
  SELECT j.*, CASE WHEN cid IS NULL THEN '{}'::text[] ELSE array_remove(ARRAY[` + strings.Join(diff, ", ") + `,
    CASE WHEN n_attrs IS DISTINCT FROM o_attrs THEN 'attrs' END], NULL) END AS changed
  FROM j
), ins AS (
  INSERT INTO contacts (external_id, ` + strings.Join(insCols, ", ") + `, attrs, created_at, updated_at)
  SELECT external_id, ` + strings.Join(insVals, ", ") + `, COALESCE(n_attrs, '{}'), $1, $1
  FROM d WHERE cid IS NULL
  RETURNING id, external_id
), ins_consents AS (
  INSERT INTO consents (contact_id, channel, purpose, granted, source, at)
  SELECT ins.id, v.channel, v.purpose, v.granted, $3, COALESCE(s.consent_at, $1)
  FROM ins JOIN d s USING (external_id)
  CROSS JOIN LATERAL ` + stagedConsents + `
  WHERE v.granted IS NOT NULL
), upd AS (
  UPDATE contacts c SET ` + strings.Join(set, ", ") + `, attrs = d.n_attrs, updated_at = $1
  FROM d WHERE c.id = d.cid AND d.erased_at IS NULL AND cardinality(d.changed) > 0
  RETURNING c.id, d.line
), ev AS (
  INSERT INTO contact_events (contact_id, at, kind, actor, summary, data)
  SELECT ins.id, $1, '` + EventCreated + `', $2, 'created by ' || $3,
         jsonb_strip_nulls(jsonb_build_object('source', $3, 'import_id', $4::bigint, 'line', CASE WHEN $4::bigint IS NOT NULL THEN d.line END,
           'marketing_consents', NULLIF(jsonb_strip_nulls(jsonb_build_object('sms', d.consent_sms, 'email', d.consent_email, 'wechat', d.consent_wechat)), '{}'),
           'care_consents', NULLIF(jsonb_strip_nulls(jsonb_build_object('sms', d.care_sms, 'email', d.care_email, 'wechat', d.care_wechat)), '{}')))
  FROM ins JOIN d USING (external_id)
  UNION ALL
  SELECT upd.id, $1, '` + EventUpdated + `', $2, 'changed ' || array_to_string(d.changed, ', ') || ' by ' || $3,
         jsonb_strip_nulls(jsonb_build_object('source', $3, 'import_id', $4::bigint, 'line', CASE WHEN $4::bigint IS NOT NULL THEN d.line END,
           'fields', to_jsonb(d.changed), 'changes', ` + changesExpr + `))
  FROM upd JOIN d USING (line)
)
SELECT d.line, CASE WHEN d.erased_at IS NOT NULL THEN 'erased' WHEN ins.id IS NOT NULL THEN 'inserted' WHEN upd.id IS NOT NULL THEN 'updated' END AS outcome,
       COALESCE(ins.id, d.cid) AS id
FROM d LEFT JOIN ins USING (external_id) LEFT JOIN upd USING (line)
WHERE ins.id IS NOT NULL OR upd.id IS NOT NULL OR d.erased_at IS NOT NULL`
}

// consentMergeSQL applies the consents of the staged rows (marketing and care). An import
// never re-grants a consent the customer revoked (by reply, unsubscribe link, the
// API or any source other than an import) unless the row's consent_at is later
// than the revocation. Contacts the merge just created have their consents
// already (mergeSQL writes them, named in the creation event), so this finds
// nothing to change for them. Parameters: $1 at, $2 actor, $3 source.
const consentMergeSQL = `WITH cs AS (
  SELECT c.id AS contact_id, s.line, v.channel, v.purpose, v.granted, s.consent_at
  FROM contact_stage s
  JOIN LATERAL (SELECT id FROM contacts c WHERE c.external_id = s.external_id AND c.erased_at IS NULL) c ON true
  CROSS JOIN LATERAL ` + stagedConsents + `
  WHERE v.granted IS NOT NULL
), k AS (
  SELECT cs.*, k.granted AS cur, k.source AS cur_source,
    COALESCE(cs.granted AND k.granted = false AND k.source <> 'import' AND $3 = 'import'
      AND (cs.consent_at IS NULL OR cs.consent_at <= k.at), false) AS blocked
  FROM cs LEFT JOIN consents k ON k.contact_id = cs.contact_id AND k.channel = cs.channel AND k.purpose = cs.purpose
), up AS (
  INSERT INTO consents (contact_id, channel, purpose, granted, source, at)
  SELECT contact_id, channel, purpose, granted, $3, COALESCE(consent_at, $1) FROM k
  WHERE NOT blocked AND cur IS DISTINCT FROM granted
  ON CONFLICT (contact_id, channel, purpose) DO UPDATE SET granted = EXCLUDED.granted, source = EXCLUDED.source, at = EXCLUDED.at
  RETURNING contact_id, channel, purpose
), ev AS (
  INSERT INTO contact_events (contact_id, at, kind, actor, summary, data)
  SELECT k.contact_id, $1, '` + EventConsentChanged + `', $2,
         k.purpose || CASE WHEN k.granted THEN ' consent granted for ' ELSE ' consent revoked for ' END || k.channel || ' by ' || $3,
         jsonb_build_object('channel', k.channel, 'purpose', k.purpose, 'granted', k.granted, 'source', $3, 'previous', k.cur)
  FROM k JOIN up USING (contact_id, channel, purpose)
)
SELECT line, channel, purpose, blocked, cur_source FROM k WHERE blocked OR cur IS DISTINCT FROM granted`

// consentsOnExisting reports whether a row states a consent for a contact that
// existed before this merge; new contacts got theirs with the merge itself.
func consentsOnExisting(rows []*stageRow, outs []mergeOutcome) bool {
	inserted := map[int]bool{}
	for _, o := range outs {
		if o.outcome == "inserted" {
			inserted[o.line] = true
		}
	}
	for _, r := range rows {
		if !inserted[int(r.vals[sLine].(int32))] {
			for _, i := range []int{sConsentSMS, sConsentEmail, sConsentWeChat, sCareSMS, sCareEmail, sCareWeChat} {
				if r.vals[i] != nil {
					return true
				}
			}
		}
	}
	return false
}

// stageRow is one row on its way to the stage.
type stageRow struct {
	vals [nStage]any
}

type mergeOutcome struct {
	line    int
	outcome string // inserted | updated | erased
	id      int64
}

type consentOutcome struct {
	line      int
	channel   string
	purpose   string
	blocked   bool
	curSource string
}

// mergeStaged copies rows into the stage and merges them, in tx. It returns the
// rows that changed (contacts or consents) and consent grants refused.
func mergeStaged(ctx context.Context, tx pgx.Tx, rows []*stageRow, at time.Time, actor, source string, importID *int64) ([]mergeOutcome, []consentOutcome, error) {
	if _, err := tx.Exec(ctx, createStageSQL); err != nil {
		return nil, nil, fmt.Errorf("create stage: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"contact_stage"}, stageColumns, pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		return rows[i].vals[:], nil
	})); err != nil {
		return nil, nil, fmt.Errorf("stage rows: %w", err)
	}
	var outs []mergeOutcome
	r, err := tx.Query(ctx, mergeSQL, at, actor, source, importID)
	if err != nil {
		return nil, nil, fmt.Errorf("merge contacts: %w", err)
	}
	for r.Next() {
		var o mergeOutcome
		if err := r.Scan(&o.line, &o.outcome, &o.id); err != nil {
			r.Close()
			return nil, nil, err
		}
		outs = append(outs, o)
	}
	if err := r.Err(); err != nil {
		return nil, nil, fmt.Errorf("merge contacts: %w", err)
	}
	var cons []consentOutcome
	if !consentsOnExisting(rows, outs) {
		return outs, nil, nil
	}
	r, err = tx.Query(ctx, consentMergeSQL, at, actor, source)
	if err != nil {
		return nil, nil, fmt.Errorf("merge consents: %w", err)
	}
	for r.Next() {
		var o consentOutcome
		var cur *string
		if err := r.Scan(&o.line, &o.channel, &o.purpose, &o.blocked, &cur); err != nil {
			r.Close()
			return nil, nil, err
		}
		if cur != nil {
			o.curSource = *cur
		}
		cons = append(cons, o)
	}
	if err := r.Err(); err != nil {
		return nil, nil, fmt.Errorf("merge consents: %w", err)
	}
	if _, err := tx.Exec(ctx, `TRUNCATE contact_stage`); err != nil {
		return nil, nil, err
	}
	return outs, cons, nil
}

// rowBuilder turns raw values (a CSV row's cells, an API call's fields) into a
// staged row, collecting every bad value.
type rowBuilder struct {
	row      stageRow
	errs     []FieldError
	solar    SolarDate
	lunar    LunarDate
	calendar string
	attrs    map[string]any
	managers func(code string) (int64, bool)
}

func newRowBuilder(line int, managers func(string) (int64, bool)) *rowBuilder {
	b := &rowBuilder{managers: managers}
	b.row.vals[sLine] = int32(line)
	return b
}

func (b *rowBuilder) fail(field string, err error) { b.errs = append(b.errs, fieldErr(field, err)) }

// text sets a plain text column after the length check.
func (b *rowBuilder) text(field string, idx int, v string) {
	v = fold(v)
	if v == "" {
		return
	}
	if len(v) > MaxCellLength {
		b.fail(field, fmt.Errorf("too long (%d bytes; at most %d)", len(v), MaxCellLength))
		return
	}
	b.row.vals[idx] = v
}

func (b *rowBuilder) parsed(field string, idx int, v string, parse func(string) (string, error)) {
	if len(v) > MaxCellLength {
		b.fail(field, fmt.Errorf("too long (%d bytes; at most %d)", len(v), MaxCellLength))
		return
	}
	s, err := parse(v)
	if err != nil {
		b.fail(field, err)
		return
	}
	if s != "" {
		b.row.vals[idx] = s
	}
}

// set applies one named field (canonical English names, see headerAliases).
func (b *rowBuilder) set(field, v string) {
	switch field {
	case "external_id":
		v = fold(v)
		switch {
		case v == "":
			b.fail(field, fmt.Errorf("is required"))
		case len(v) > 64:
			b.fail(field, fmt.Errorf("too long (%d bytes; at most 64)", len(v)))
		default:
			if err := checkIdentifier(v); err != nil {
				b.fail(field, err)
				return
			}
			b.row.vals[sExternalID] = v
		}
	case "name":
		b.text(field, sName, v)
	case "gender":
		b.parsed(field, sGender, v, ParseGender)
	case "locale":
		b.parsed(field, sLocale, v, ParseLocale)
	case "timezone":
		b.parsed(field, sTimeZone, v, ParseTimeZone)
	case "phone":
		b.parsed(field, sPhone, v, ParsePhone)
	case "email":
		b.parsed(field, sEmail, v, ParseEmail)
	case "wechat_openid":
		b.parsed(field, sOpenID, v, ParseOpenID)
	case "tier":
		b.parsed(field, sTier, v, ParseTier)
	case "status":
		b.parsed(field, sStatus, v, func(s string) (string, error) { st, err := ParseStatus(s); return string(st), err })
	case "birthday_calendar":
		c, err := ParseCalendar(v)
		if err != nil {
			b.fail(field, err)
		}
		b.calendar = c
	case "birthday":
		d, err := ParseSolarBirthday(v)
		if err != nil {
			b.fail(field, err)
		}
		b.solar = d
	case "lunar_birthday":
		d, err := ParseLunarBirthday(v)
		if err != nil {
			b.fail(field, err)
		}
		b.lunar = d
	case "manager":
		code := fold(v)
		if code == "" {
			return
		}
		if err := checkIdentifier(code); err != nil {
			b.fail(field, err)
			return
		}
		id, ok := b.managers(code)
		if !ok {
			b.fail(field, fmt.Errorf("no manager has code %q (import managers first)", code))
			return
		}
		b.row.vals[sManagerID] = id
	case "tags":
		if len(v) > MaxCellLength {
			b.fail(field, fmt.Errorf("too long (%d bytes; at most %d)", len(v), MaxCellLength))
			return
		}
		if tags := splitTags(v); tags != nil {
			b.row.vals[sTags] = tags
		}
	case "consent_sms", "consent_email", "consent_wechat", "care_sms", "care_email", "care_wechat":
		val, ok, err := ParseBool(v)
		if err != nil {
			b.fail(field, err)
			return
		}
		if ok {
			b.row.vals[map[string]int{"consent_sms": sConsentSMS, "consent_email": sConsentEmail, "consent_wechat": sConsentWeChat,
				"care_sms": sCareSMS, "care_email": sCareEmail, "care_wechat": sCareWeChat}[field]] = val
		}
	case "consent_at":
		v = fold(v)
		if v == "" {
			return
		}
		t, err := parseTimestamp(v)
		if err != nil {
			b.fail(field, err)
			return
		}
		b.row.vals[sConsentAt] = t
	}
}

func parseTimestamp(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		loc, _ := time.LoadLocation(DefaultTimeZone)
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date or time: %q (use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)", v)
}

// attr records an extra column: numbers as numbers, dates as ISO dates, the rest
// as text.
func (b *rowBuilder) attr(key, v string) {
	v = fold(v)
	if v == "" {
		return
	}
	if len(v) > MaxCellLength {
		b.fail(key, fmt.Errorf("too long (%d bytes; at most %d)", len(v), MaxCellLength))
		return
	}
	if b.attrs == nil {
		b.attrs = map[string]any{}
	}
	b.attrs[key] = attrValue(v)
}

func attrValue(v string) any {
	if n, ok := parseNumber(v); ok {
		return n
	}
	if d, ok := parseDateParts(v); ok && d.Year != 0 && d.Month >= 1 && d.Month <= 12 && d.Day >= 1 && d.Day <= daysIn(d.Year, d.Month) &&
		!isDigits(v) {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
	}
	return v
}

// parseNumber accepts plain decimals and thousands-separated ones; strings that a
// number would change (leading zeros, more than 15 significant digits such as
// account numbers) stay text.
func parseNumber(v string) (json.Number, bool) {
	s := v
	if strings.Contains(s, ",") {
		parts := strings.Split(strings.SplitN(strings.TrimPrefix(s, "-"), ".", 2)[0], ",")
		if len(parts[0]) == 0 || len(parts[0]) > 3 {
			return "", false
		}
		for _, p := range parts[1:] {
			if len(p) != 3 {
				return "", false
			}
		}
		s = strings.ReplaceAll(s, ",", "")
	}
	t := strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(t, ".")
	if !isDigits(intPart) || (hasFrac && !isDigits(frac)) || len(intPart)+len(frac) > 15 {
		return "", false
	}
	if len(intPart) > 1 && intPart[0] == '0' {
		return "", false
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return "", false
	}
	return json.Number(s), true
}

func splitTags(v string) []string {
	v = strings.ReplaceAll(fold(v), "；", ";")
	if v == "" {
		return nil
	}
	var out []string
	for _, t := range strings.Split(v, ";") {
		t = strings.TrimSpace(t)
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// finish resolves the birthday fields and attrs; it returns the row, or nil with
// the row's errors.
func (b *rowBuilder) finish() (*stageRow, []FieldError) {
	if b.calendar == "lunar" && b.lunar.Month == 0 {
		if b.solar.Year != 0 {
			l, err := LunarOf(b.solar)
			if err != nil {
				b.fail("birthday", err)
			}
			b.lunar = l
		} else {
			b.fail("birthday_calendar", fmt.Errorf("a lunar birthday needs lunar_birthday, or a full solar birthday (YYYY-MM-DD) to derive it from"))
		}
	}
	if b.calendar == "solar" && b.solar.Month == 0 {
		b.fail("birthday_calendar", fmt.Errorf("a solar birthday needs the birthday column"))
	}
	if b.solar.Month != 0 {
		if b.solar.Year != 0 {
			b.row.vals[sBirthYear] = int16(b.solar.Year)
		}
		b.row.vals[sBirthMonth] = int16(b.solar.Month)
		b.row.vals[sBirthDay] = int16(b.solar.Day)
	}
	if b.lunar.Month != 0 {
		b.row.vals[sLunarMonth] = int16(b.lunar.Month)
		b.row.vals[sLunarDay] = int16(b.lunar.Day)
		b.row.vals[sLunarLeap] = b.lunar.Leap
	}
	if b.calendar != "" {
		b.row.vals[sBirthCalendar] = b.calendar
	}
	switch {
	case b.lunar.Month != 0 && b.solar.Month == 0:
		b.row.vals[sCalDefault] = "lunar"
	case b.solar.Month != 0:
		b.row.vals[sCalDefault] = "solar"
	}
	if b.attrs != nil {
		js, err := json.Marshal(b.attrs)
		switch {
		case err != nil:
			b.fail("attrs", err)
		case len(js) > MaxAttrsBytes:
			b.fail("attrs", fmt.Errorf("the extra columns are too large together (%d bytes; at most %d) / 附加列合计过大", len(js), MaxAttrsBytes))
		default:
			b.row.vals[sAttrs] = js
		}
	}
	if len(b.errs) > 0 {
		return nil, b.errs
	}
	return &b.row, nil
}
