package contacts

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"carillon/internal/audit"
)

// Section is one part of a contact's export: rows of one kind with their
// columns in order. Name is the key in the JSON document and the CSV file's
// name in the ZIP.
type Section struct {
	Name    string
	Columns []Column
	Rows    []map[string]any
}

// Column is one column of a section: Key is the JSON key, Zh its Chinese
// label; the CSV header is "中文 / key".
type Column struct {
	Key string
	Zh  string
}

// Header is the column's CSV header, in both languages.
func (c Column) Header() string {
	if c.Zh == "" {
		return c.Key
	}
	return c.Zh + " / " + c.Key
}

// Export is everything Carillon holds about one contact: the contact, their
// consents and timeline (this package's), and the sections the registered
// exporters add (messages, receipts, replies, revisits, feedback, ...).
type Export struct {
	ExportedAt time.Time `json:"exported_at"`
	Contact    Contact   `json:"contact"`
	Consents   []Consent `json:"consents"`
	Timeline   []Event   `json:"timeline"`
	// Sections are the registered exporters', in the order they were
	// registered; in the JSON each is a key of its own.
	Sections []Section `json:"-"`
}

// Export sections of this package.
const (
	SectionContact  = "contact"
	SectionConsents = "consents"
	SectionTimeline = "timeline"
)

// Export returns a contact's data, consents, whole timeline (oldest first)
// and every registered exporter's sections, read in one snapshot, and audits
// the export (who, which contact, how many rows per section).
func (s *Store) Export(ctx context.Context, actor audit.Actor, id int64) (Export, error) {
	var x Export
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		c, err := scanContact(tx.QueryRow(ctx, `SELECT `+contactColumns+contactFrom+`WHERE c.id = $1`, id))
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT channel, purpose, granted, source, at FROM consents WHERE contact_id = $1 ORDER BY channel, purpose`, id)
		if err != nil {
			return err
		}
		cons, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Consent, error) {
			var c Consent
			err := r.Scan(&c.Channel, &c.Purpose, &c.Granted, &c.Source, &c.At)
			return c, err
		})
		if err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT id, contact_id, at, kind, actor, summary, data FROM contact_events WHERE contact_id = $1 ORDER BY at, id`, id)
		if err != nil {
			return err
		}
		events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Event, error) {
			var e Event
			err := r.Scan(&e.ID, &e.ContactID, &e.At, &e.Kind, &e.Actor, &e.Summary, &e.Data)
			return e, err
		})
		if err != nil {
			return err
		}
		x = Export{ExportedAt: s.cfg.Now(), Contact: c, Consents: cons, Timeline: events}
		if x.Consents == nil {
			x.Consents = []Consent{}
		}
		if x.Timeline == nil {
			x.Timeline = []Event{}
		}
		for _, ex := range s.exporters {
			secs, err := ex.ExportContact(ctx, tx, c)
			if err != nil {
				return err
			}
			x.Sections = append(x.Sections, secs...)
		}
		return nil
	})
	if err != nil {
		return Export{}, fmt.Errorf("export contact %d: %w", id, err)
	}
	counts := map[string]int{}
	for _, sec := range x.AllSections() {
		counts[sec.Name] = len(sec.Rows)
	}
	if err := audit.Append(ctx, s.pool, actor, x.ExportedAt, audit.Entry{Action: "contact.export", ObjectType: "contact",
		ObjectID: strconv.FormatInt(id, 10), Changes: map[string]any{"sections": counts}}); err != nil {
		return Export{}, err
	}
	return x, nil
}

var contactSectionColumns = []Column{
	{"id", "编号"}, {"external_id", "客户号"}, {"status", "状态"}, {"name", "姓名"}, {"gender", "性别"}, {"locale", "语言"},
	{"timezone", "时区"}, {"birthday", "生日"}, {"phone", "手机号"}, {"email", "邮箱"}, {"wechat_openid", "微信 openid"},
	{"tier", "等级"}, {"manager", "客户经理"}, {"tags", "标签"}, {"attrs", "属性"}, {"erased_at", "删除时间"},
	{"created_at", "创建时间"}, {"updated_at", "更新时间"},
}

var consentSectionColumns = []Column{{"channel", "渠道"}, {"purpose", "用途"}, {"granted", "已授权"}, {"source", "来源"}, {"at", "时间"}}

var timelineSectionColumns = []Column{{"id", "编号"}, {"at", "时间"}, {"kind", "类型"}, {"actor", "操作者"}, {"summary", "摘要"}, {"data", "数据"}}

// asRows turns typed values into section rows by their JSON form.
func asRows[T any](vs []T) []map[string]any {
	out := make([]map[string]any, 0, len(vs))
	for _, v := range vs {
		b, _ := json.Marshal(v)
		var m map[string]any
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		_ = d.Decode(&m)
		out = append(out, m)
	}
	return out
}

// AllSections is the export as sections: contact, consents, the exporters'
// sections, then the timeline.
func (x Export) AllSections() []Section {
	out := []Section{
		{Name: SectionContact, Columns: contactSectionColumns, Rows: asRows([]Contact{x.Contact})},
		{Name: SectionConsents, Columns: consentSectionColumns, Rows: asRows(x.Consents)},
	}
	out = append(out, x.Sections...)
	return append(out, Section{Name: SectionTimeline, Columns: timelineSectionColumns, Rows: asRows(x.Timeline)})
}

// MarshalJSON writes the export as one object: exported_at, contact (an
// object), then one array per section.
func (x Export) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"exported_at":`)
	put := func(v any) error {
		js, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(js)
		return nil
	}
	if err := put(x.ExportedAt); err != nil {
		return nil, err
	}
	for _, sec := range x.AllSections() {
		b.WriteByte(',')
		if err := put(sec.Name); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		var v any
		switch sec.Name {
		case SectionContact:
			v = x.Contact
		case SectionConsents:
			v = x.Consents
		case SectionTimeline:
			v = x.Timeline
		default:
			rows := sec.Rows
			if rows == nil {
				rows = []map[string]any{}
			}
			v = rows
		}
		if err := put(v); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// WriteZIP writes the export as a ZIP of CSV files, one per section
// (contact.csv, consents.csv, messages.csv, ...), each with a bilingual
// header row and one row per record, UTF-8 with a BOM for spreadsheets.
func (x Export) WriteZIP(w io.Writer) error {
	zw := zip.NewWriter(w)
	for _, sec := range x.AllSections() {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: sec.Name + ".csv", Method: zip.Deflate, Modified: x.ExportedAt})
		if err != nil {
			return err
		}
		if err := sec.WriteCSV(f); err != nil {
			return fmt.Errorf("export section %s: %w", sec.Name, err)
		}
	}
	return zw.Close()
}

// WriteCSV writes the section as CSV (encoding/csv): a BOM, the header row,
// one row per record.
func (sec Section) WriteCSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	head := make([]string, len(sec.Columns))
	for i, c := range sec.Columns {
		head[i] = c.Header()
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range sec.Rows {
		rec := make([]string, len(sec.Columns))
		for i, c := range sec.Columns {
			rec[i] = Cell(r[c.Key])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Cell is a value as a CSV cell: times in UTC RFC 3339, objects and lists as
// JSON, and text that a spreadsheet would read as a formula (= + - @ first)
// prefixed with an apostrophe.
func Cell(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		s = x
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		s = string(b)
	}
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

// QuerySection runs a query and returns its rows as a section named name, the
// columns in the query's order, labelled from zh (key -> Chinese label).
// Dates come out as YYYY-MM-DD, jsonb as its value.
func QuerySection(ctx context.Context, q Querier, name string, zh map[string]string, sql string, args ...any) (Section, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return Section{}, fmt.Errorf("export %s: %w", name, err)
	}
	defer rows.Close()
	fds := rows.FieldDescriptions()
	sec := Section{Name: name, Columns: make([]Column, len(fds)), Rows: []map[string]any{}}
	for i, fd := range fds {
		sec.Columns[i] = Column{Key: fd.Name, Zh: zh[fd.Name]}
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return Section{}, fmt.Errorf("export %s: %w", name, err)
		}
		m := make(map[string]any, len(vals))
		for i, v := range vals {
			if t, ok := v.(time.Time); ok && fds[i].DataTypeOID == pgtype.DateOID {
				v = t.Format("2006-01-02")
			}
			m[fds[i].Name] = v
		}
		sec.Rows = append(sec.Rows, m)
	}
	if err := rows.Err(); err != nil {
		return Section{}, fmt.Errorf("export %s: %w", name, err)
	}
	return sec, nil
}
