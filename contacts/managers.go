package contacts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/internal/audit"
	"carillon/internal/pii"
)

// Manager is a customer manager (客户经理). Lead is the code of the team lead.
type Manager struct {
	ID          int64     `json:"id"`
	Code        string    `json:"code"`
	Name        string    `json:"name"`
	Email       string    `json:"email,omitempty"`
	WeComUserID string    `json:"wecom_userid,omitempty"`
	Team        string    `json:"team,omitempty"`
	Lead        string    `json:"lead,omitempty"`
	TimeZone    string    `json:"timezone"`
	Active      bool      `json:"active"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// ManagerInput creates or changes a manager; nil keeps the stored value.
type ManagerInput struct {
	Code        *string `json:"code,omitempty"`
	Name        *string `json:"name,omitempty"`
	Email       *string `json:"email,omitempty"`
	WeComUserID *string `json:"wecom_userid,omitempty"`
	Team        *string `json:"team,omitempty"`
	Lead        *string `json:"lead,omitempty"`
	TimeZone    *string `json:"timezone,omitempty"`
	Active      *bool   `json:"active,omitempty"`
}

type managerRow struct {
	line                               int
	code                               string
	name, email, wecom, team, lead, tz *string
	active                             *bool
}

// changes lists the fields a write sets, the email masked.
func (r managerRow) changes() map[string]any {
	out := map[string]any{}
	for k, v := range map[string]*string{"name": r.name, "wecom_userid": r.wecom, "team": r.team, "lead": r.lead, "timezone": r.tz} {
		if v != nil {
			out[k] = *v
		}
	}
	if r.email != nil {
		out["email"] = pii.Email(*r.email)
	}
	if r.active != nil {
		out["active"] = *r.active
	}
	return out
}

const managerColumns = `id, code, name, COALESCE(email, ''), COALESCE(wecom_userid, ''), COALESCE(team, ''), COALESCE(lead_code, ''), time_zone, active, created_at, updated_at`

func scanManager(row pgx.Row) (Manager, error) {
	var m Manager
	err := row.Scan(&m.ID, &m.Code, &m.Name, &m.Email, &m.WeComUserID, &m.Team, &m.Lead, &m.TimeZone, &m.Active, &m.CreatedAt, &m.UpdatedAt)
	return m, notFound(err)
}

// GetManager returns the manager with code.
func (s *Store) GetManager(ctx context.Context, code string) (Manager, error) {
	return scanManager(s.pool.QueryRow(ctx, `SELECT `+managerColumns+` FROM managers WHERE code = $1`, code))
}

// ListManagers lists managers by code, optionally of one team.
func (s *Store) ListManagers(ctx context.Context, team string) ([]Manager, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+managerColumns+` FROM managers WHERE ($1 = '' OR team = $1) ORDER BY code`, team)
	if err != nil {
		return nil, fmt.Errorf("list managers: %w", err)
	}
	out := []Manager{}
	for rows.Next() {
		m, err := scanManager(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *Store) managerCodes(ctx context.Context) (func(string) (int64, bool), error) {
	rows, err := s.pool.Query(ctx, `SELECT code, id FROM managers`)
	if err != nil {
		return nil, fmt.Errorf("load manager codes: %w", err)
	}
	codes := map[string]int64{}
	for rows.Next() {
		var c string
		var id int64
		if err := rows.Scan(&c, &id); err != nil {
			rows.Close()
			return nil, err
		}
		codes[c] = id
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return func(code string) (int64, bool) { id, ok := codes[code]; return id, ok }, nil
}

// buildManager checks one manager's values.
func buildManager(line int, in ManagerInput) (managerRow, []FieldError) {
	var errs []FieldError
	r := managerRow{line: line, active: in.Active}
	str := func(field string, p *string, parse func(string) (string, error)) *string {
		if p == nil {
			return nil
		}
		v := fold(*p)
		if parse != nil {
			var err error
			if v, err = parse(v); err != nil {
				errs = append(errs, fieldErr(field, err))
				return nil
			}
		}
		if len(v) > MaxCellLength {
			errs = append(errs, fieldErr(field, fmt.Errorf("too long (%d bytes; at most %d)", len(v), MaxCellLength)))
			return nil
		}
		if v == "" {
			return nil
		}
		return &v
	}
	if c := str("code", in.Code, nil); c == nil {
		errs = append(errs, FieldError{Field: "code", Message: "is required"})
	} else if len(*c) > 64 {
		errs = append(errs, FieldError{Field: "code", Message: "too long (at most 64 bytes)"})
	} else if err := checkIdentifier(*c); err != nil {
		errs = append(errs, fieldErr("code", err))
	} else {
		r.code = *c
	}
	r.name = str("name", in.Name, nil)
	r.email = str("email", in.Email, ParseEmail)
	r.wecom = str("wecom_userid", in.WeComUserID, nil)
	r.team = str("team", in.Team, nil)
	r.lead = str("lead", in.Lead, func(v string) (string, error) { return v, checkIdentifier(v) })
	r.tz = str("timezone", in.TimeZone, ParseTimeZone)
	if r.lead != nil && *r.lead == r.code && r.code != "" {
		r.lead = &r.code // a lead leads themselves: allowed
	}
	return r, errs
}

const upsertManagerSQL = `INSERT INTO managers AS m (code, name, email, wecom_userid, team, lead_code, time_zone, active, created_at, updated_at)
VALUES (@code, @name, @email, @wecom, @team, @lead, COALESCE(@tz, 'Asia/Shanghai'), COALESCE(@active, true), @at, @at)
ON CONFLICT (code) DO UPDATE SET
  name = COALESCE(EXCLUDED.name, m.name), email = COALESCE(@email, m.email), wecom_userid = COALESCE(@wecom, m.wecom_userid),
  team = COALESCE(@team, m.team), lead_code = COALESCE(@lead, m.lead_code), time_zone = COALESCE(@tz, m.time_zone),
  active = COALESCE(@active, m.active), updated_at = @at
WHERE (m.name, m.email, m.wecom_userid, m.team, m.lead_code, m.time_zone, m.active) IS DISTINCT FROM
      (COALESCE(EXCLUDED.name, m.name), COALESCE(@email, m.email), COALESCE(@wecom, m.wecom_userid), COALESCE(@team, m.team),
       COALESCE(@lead, m.lead_code), COALESCE(@tz, m.time_zone), COALESCE(@active, m.active))
RETURNING (xmax = 0) AS inserted`

// upsertManagers writes rows in tx; it returns per row "inserted", "updated" or "unchanged".
func upsertManagers(ctx context.Context, tx pgx.Tx, rows []managerRow, at time.Time) ([]string, error) {
	b := &pgx.Batch{}
	for _, r := range rows {
		b.Queue(upsertManagerSQL, pgx.NamedArgs{"code": r.code, "name": r.name, "email": r.email, "wecom": r.wecom,
			"team": r.team, "lead": r.lead, "tz": r.tz, "active": r.active, "at": at})
	}
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	out := make([]string, len(rows))
	for i := range rows {
		var inserted bool
		err := br.QueryRow().Scan(&inserted)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			out[i] = "unchanged"
		case err != nil:
			return nil, fmt.Errorf("upsert manager %q: %w", rows[i].code, err)
		case inserted:
			out[i] = "inserted"
		default:
			out[i] = "updated"
		}
	}
	return out, br.Close()
}

// SaveManager creates or updates one manager. Lead must name an existing manager.
func (s *Store) SaveManager(ctx context.Context, actor audit.Actor, in ManagerInput, create bool) (Manager, error) {
	r, errs := buildManager(0, in)
	if len(errs) > 0 {
		return Manager{}, &ValidationError{Fields: errs}
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM managers WHERE code = $1)`, r.code).Scan(&exists); err != nil {
			return err
		}
		if create && exists {
			return fmt.Errorf("manager %q already exists: %w", r.code, ErrConflict)
		}
		if !create && !exists {
			return ErrNotFound
		}
		if !exists && r.name == nil {
			return &ValidationError{Fields: []FieldError{{Field: "name", Message: "is required for a new manager"}}}
		}
		if r.lead != nil && *r.lead != r.code {
			var ok bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM managers WHERE code = $1)`, *r.lead).Scan(&ok); err != nil {
				return err
			}
			if !ok {
				return &ValidationError{Fields: []FieldError{{Field: "lead", Message: fmt.Sprintf("no manager has code %q", *r.lead)}}}
			}
		}
		outs, err := upsertManagers(ctx, tx, []managerRow{r}, s.cfg.Now())
		if err != nil || outs[0] == "unchanged" {
			return err
		}
		action := "manager.update"
		if outs[0] == "inserted" {
			action = "manager.create"
		}
		return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: action, ObjectType: "manager", ObjectID: r.code, Changes: r.changes()})
	})
	if err != nil {
		return Manager{}, err
	}
	return s.GetManager(ctx, r.code)
}

// ImportManagers reads a CSV file of managers (code/工号, name/姓名, email/邮箱,
// wecom_userid/企业微信账号, team/团队, lead/组长, timezone/时区) and upserts them by
// code, with the same report and rules as ImportContacts. A lead must be a manager
// in the file or already stored.
func (s *Store) ImportManagers(ctx context.Context, r io.Reader, opts ImportOptions) (*ImportReport, error) {
	cr := &countingReader{r: r}
	rows, h, enc, err := openCSV(cr, managerHeaders, "code", false)
	if err != nil {
		return nil, err
	}
	rep := &ImportReport{Encoding: enc, Errors: []RowError{}, Warnings: []RowError{}}
	existing, err := s.managerCodes(ctx)
	if err != nil {
		return nil, err
	}
	var good []managerRow
	seen := map[string]int{}
	fail := func(line int, field, msg string) {
		rep.Errors = append(rep.Errors, RowError{Line: line, Column: columnName(h, field), Field: field, Message: msg})
	}
	for {
		rec, line, err := rows.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if line == 0 {
				return nil, fmt.Errorf("%w: %w", ErrUnreadable, err)
			}
			rep.Rows++
			rep.Failed++
			rep.Errors = append(rep.Errors, RowError{Line: line, Message: "malformed CSV: " + err.Error()})
			continue
		}
		if blank(rec) {
			continue
		}
		rep.Rows++
		if len(rec) != len(h.fields) {
			rep.Failed++
			rep.Errors = append(rep.Errors, RowError{Line: line, Message: fmt.Sprintf("row has %d fields, the header has %d", len(rec), len(h.fields))})
			continue
		}
		var in ManagerInput
		for i, v := range rec {
			v := v
			switch h.fields[i] {
			case "code":
				in.Code = &v
			case "name":
				in.Name = &v
			case "email":
				in.Email = &v
			case "wecom_userid":
				in.WeComUserID = &v
			case "team":
				in.Team = &v
			case "lead":
				in.Lead = &v
			case "timezone":
				in.TimeZone = &v
			}
		}
		mr, errs := buildManager(line, in)
		if mr.code != "" {
			if first, dup := seen[mr.code]; dup {
				errs = append(errs, FieldError{Field: "code", Message: fmt.Sprintf("code %q already appears on line %d", mr.code, first)})
			}
		}
		if _, ok := existing(mr.code); !ok && mr.code != "" && mr.name == nil {
			errs = append(errs, FieldError{Field: "name", Message: "is required for a new manager"})
		}
		if len(errs) > 0 {
			rep.Failed++
			for _, e := range errs {
				fail(line, e.Field, e.Message)
			}
			continue
		}
		seen[mr.code] = line
		good = append(good, mr)
	}
	// Leads may be defined later in the same file.
	kept := good[:0]
	for _, mr := range good {
		if mr.lead != nil {
			if _, inFile := seen[*mr.lead]; !inFile {
				if _, stored := existing(*mr.lead); !stored {
					rep.Failed++
					fail(mr.line, "lead", fmt.Sprintf("no manager has code %q", *mr.lead))
					continue
				}
			}
		}
		kept = append(kept, mr)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO imports (kind, source_name, actor, encoding, started_at) VALUES ('managers', $1, $2, $3, $4) RETURNING id`,
			opts.SourceName, opts.Actor.String(), enc, s.cfg.Now()).Scan(&rep.ImportID); err != nil {
			return err
		}
		outs, err := upsertManagers(ctx, tx, kept, s.cfg.Now())
		if err != nil {
			return err
		}
		for _, o := range outs {
			switch o {
			case "inserted":
				rep.Inserted++
			case "updated":
				rep.Updated++
			default:
				rep.Unchanged++
			}
		}
		return s.finishImport(ctx, tx, opts, "managers.import", rep)
	})
	if err != nil {
		return nil, fmt.Errorf("import managers: %w", err)
	}
	sortRowErrors(rep.Errors)
	if opts.Progress != nil {
		opts.Progress(rep.Rows, cr.n.Load())
	}
	return rep, nil
}

// ManagersByID returns the managers with the given ids.
func (s *Store) ManagersByID(ctx context.Context, ids []int64) (map[int64]Manager, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+managerColumns+` FROM managers WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("load managers: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]Manager, len(ids))
	for rows.Next() {
		m, err := scanManager(rows)
		if err != nil {
			return nil, err
		}
		out[m.ID] = m
	}
	return out, rows.Err()
}

// AssignManager gives the contacts ids (not erased) to the manager with code,
// inside the caller's transaction tx, as the API's update would: the merge
// writes a contact.updated event per contact that changed, naming both managers.
// Nothing is written as text: the contacts' external ids go from their rows to
// the stage by COPY. It returns how many contacts changed.
func (s *Store) AssignManager(ctx context.Context, tx pgx.Tx, actor audit.Actor, ids []int64, code string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var managerID int64
	if err := tx.QueryRow(ctx, `SELECT id FROM managers WHERE code = $1`, code).Scan(&managerID); errors.Is(err, pgx.ErrNoRows) {
		return 0, &ValidationError{Fields: []FieldError{{Field: "manager", Message: fmt.Sprintf("no manager has code %q", code)}}}
	} else if err != nil {
		return 0, fmt.Errorf("assign manager %s: %w", code, err)
	}
	rows, err := tx.Query(ctx, `SELECT external_id FROM contacts WHERE id = ANY($1) AND erased_at IS NULL ORDER BY id FOR UPDATE`, ids)
	if err != nil {
		return 0, fmt.Errorf("assign manager %s: %w", code, err)
	}
	exts, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("assign manager %s: %w", code, err)
	}
	staged := make([]*stageRow, len(exts))
	for i, ext := range exts {
		b := newRowBuilder(i+1, func(string) (int64, bool) { return managerID, true })
		b.row.vals[sExternalID] = ext // as stored: the row is found by it, never parsed
		b.row.vals[sManagerID] = managerID
		row, errs := b.finish()
		if errs != nil {
			return 0, &ValidationError{Fields: errs}
		}
		staged[i] = row
	}
	outs, _, err := mergeStaged(ctx, tx, staged, s.cfg.Now(), actor.String(), "reassign", nil)
	if err != nil {
		return 0, fmt.Errorf("assign manager %s: %w", code, dbValidation(err))
	}
	changed := 0
	for _, o := range outs {
		switch o.outcome {
		case "updated":
			changed++
		case "inserted", "erased":
			return 0, fmt.Errorf("assign manager %s: contact on line %d was %s, not updated", code, o.line, o.outcome)
		}
	}
	return changed, nil
}
