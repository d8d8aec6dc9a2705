package contacts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/internal/audit"
)

// ImportOptions describe one import run.
type ImportOptions struct {
	// Actor is who imports; it appears in the timeline and the audit log.
	Actor audit.Actor
	// SourceName is the file's name, for the record.
	SourceName string
	// Progress, when set, is called after each chunk with the rows read so far and
	// the bytes of the file consumed.
	Progress func(rows int, bytes int64)
}

// RowError is a problem with one row: its line in the file (the header is line 1),
// the column as written in the header, and the reason.
type RowError struct {
	Line    int    `json:"line"`
	Column  string `json:"column,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// ImportReport sums up an import. Its JSON form is stable: fields are added, never
// renamed.
type ImportReport struct {
	ImportID        int64      `json:"import_id"`
	Encoding        string     `json:"encoding"`
	Rows            int        `json:"rows"`
	Inserted        int        `json:"inserted"`
	Updated         int        `json:"updated"`
	Unchanged       int        `json:"unchanged"`
	Failed          int        `json:"failed"`
	Errors          []RowError `json:"errors"`
	Warnings        []RowError `json:"warnings"`
	ErrorsTruncated bool       `json:"errors_truncated,omitempty"`
}

// openCSV detects the encoding and reads the header row.
func openCSV(r io.Reader, aliases map[string]string, required string, allowExtra bool) (*csvRows, header, string, error) {
	text, enc, err := decode(r)
	if err != nil {
		return nil, header{}, "", fmt.Errorf("%w: %w", ErrUnreadable, err)
	}
	rows := newCSVRows(text)
	for {
		rec, line, err := rows.next()
		if errors.Is(err, io.EOF) {
			return nil, header{}, enc, fmt.Errorf("%w: the file is empty (no header row)", ErrUnreadable)
		}
		if err != nil {
			return nil, header{}, enc, fmt.Errorf("%w: header (line %d): %w", ErrUnreadable, line, err)
		}
		if blank(rec) {
			continue
		}
		h, err := parseHeader(rec, aliases, required, allowExtra)
		if err != nil {
			return nil, h, enc, fmt.Errorf("%w: %w", ErrUnreadable, err)
		}
		return rows, h, enc, nil
	}
}

// finishImport records an import's counts, and the import in the audit log.
func (s *Store) finishImport(ctx context.Context, q audit.Execer, opts ImportOptions, action string, rep *ImportReport) error {
	if _, err := q.Exec(ctx, `UPDATE imports SET rows = @rows, inserted = @inserted, updated = @updated, unchanged = @unchanged,
		failed = @failed, finished_at = @at WHERE id = @id`, pgx.NamedArgs{"id": rep.ImportID, "rows": rep.Rows,
		"inserted": rep.Inserted, "updated": rep.Updated, "unchanged": rep.Unchanged, "failed": rep.Failed, "at": s.cfg.Now()}); err != nil {
		return fmt.Errorf("record import: %w", err)
	}
	return audit.Append(ctx, q, opts.Actor, s.cfg.Now(), audit.Entry{Action: action, ObjectType: "import", ObjectID: strconv.FormatInt(rep.ImportID, 10),
		Changes: map[string]any{"file": opts.SourceName, "encoding": rep.Encoding, "rows": rep.Rows, "inserted": rep.Inserted, "updated": rep.Updated,
			"unchanged": rep.Unchanged, "failed": rep.Failed}})
}

// ErrUnreadable wraps failures to read a file at all (no header, a broken
// encoding): the import did nothing.
var ErrUnreadable = errors.New("file could not be read")

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type chunk struct {
	rows []*stageRow
	read int // data rows read so far, good or bad
}

// ImportContacts reads a CSV file of contacts and upserts them by external id. Bad
// rows are reported and skipped; good rows are kept. It returns an error wrapping
// ErrUnreadable when the file could not be read at all.
func (s *Store) ImportContacts(ctx context.Context, r io.Reader, opts ImportOptions) (*ImportReport, error) {
	cr := &countingReader{r: r}
	rows, h, enc, err := openCSV(cr, contactHeaders, "external_id", true)
	if err != nil {
		return nil, err
	}
	managers, err := s.managerCodes(ctx)
	if err != nil {
		return nil, err
	}
	rep := &ImportReport{Encoding: enc, Errors: []RowError{}, Warnings: []RowError{}}
	if err := s.pool.QueryRow(ctx, `INSERT INTO imports (kind, source_name, actor, encoding, started_at) VALUES ('contacts', $1, $2, $3, $4) RETURNING id`,
		opts.SourceName, opts.Actor.String(), enc, s.cfg.Now()).Scan(&rep.ImportID); err != nil {
		return nil, fmt.Errorf("record import: %w", err)
	}

	// One import at a time: two imports of overlapping files would race on new
	// external ids. The lock is held on a connection of its own for the whole run.
	lockConn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	defer lockConn.Release()
	if _, err := lockConn.Exec(ctx, `SELECT pg_advisory_lock($1)`, importLockKey); err != nil {
		return nil, fmt.Errorf("import: wait for other imports: %w", err)
	}
	defer lockConn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, importLockKey)

	// The parser runs beside the database work: while one chunk merges, the next is
	// parsed. Chunks merge on several connections at once: external ids are unique
	// within the file, so chunks never touch the same contact.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	run := &importRun{s: s, opts: opts, rep: rep, cr: cr, cancel: cancel, chunks: make(chan chunk, 1)}
	var parser, workers sync.WaitGroup
	parser.Go(func() { run.parse(ctx, rows, h, managers) })
	for range s.cfg.ImportWorkers {
		workers.Go(func() { run.merge(ctx) })
	}
	workers.Wait()
	parser.Wait()
	if run.dbErr != nil {
		return nil, fmt.Errorf("import contacts: %w", run.dbErr)
	}
	sortRowErrors(rep.Warnings)
	if run.parseErr != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreadable, run.parseErr)
	}
	rep.Rows = run.readRows
	rep.Failed = run.failed
	rep.Unchanged = run.valid - rep.Inserted - rep.Updated
	sortRowErrors(run.rowErrs)
	rep.Errors = append(rep.Errors, run.rowErrs...)
	if err := s.finishImport(context.WithoutCancel(ctx), s.pool, opts, "contacts.import", rep); err != nil {
		return rep, err
	}
	s.cfg.Logger.InfoContext(ctx, "contacts imported", slog.Int64("import_id", rep.ImportID), slog.String("actor", opts.Actor.String()),
		slog.Int("rows", rep.Rows), slog.Int("inserted", rep.Inserted), slog.Int("updated", rep.Updated), slog.Int("failed", rep.Failed))
	for _, e := range rep.Errors {
		s.cfg.Logger.DebugContext(ctx, "import row refused", slog.Int64("import_id", rep.ImportID), slog.Int("line", e.Line), slog.String("column", e.Column), slog.String("reason", e.Message))
	}
	if opts.Progress != nil {
		opts.Progress(run.readRows, cr.n.Load())
	}
	return rep, nil
}

// importRun is one contacts import under way: a parser feeding chunks of checked
// rows to merge workers, both recording refused rows under mu.
type importRun struct {
	s      *Store
	opts   ImportOptions
	rep    *ImportReport
	cr     *countingReader
	cancel context.CancelFunc
	chunks chan chunk

	// readRows and parseErr are the parser's, read once it is done.
	readRows int
	parseErr error

	mu      sync.Mutex
	rowErrs []RowError
	failed  int
	dbErr   error
	valid   int
	maxRead int
}

// refuse records failed rows (n of them) and their errors; mu is held.
func (run *importRun) refuse(n int, errs ...RowError) {
	run.failed += n
	for _, e := range errs {
		if len(run.rowErrs) < run.s.cfg.MaxListedErrors {
			run.rowErrs = append(run.rowErrs, e)
		} else {
			run.rep.ErrorsTruncated = true
		}
	}
}

// addFailed records one failed row and its errors.
func (run *importRun) addFailed(errs ...RowError) {
	run.mu.Lock()
	defer run.mu.Unlock()
	run.refuse(1, errs...)
}

// parse reads the file's rows, checks each and sends the good ones in chunks.
func (run *importRun) parse(ctx context.Context, rows *csvRows, h header, managers func(string) (int64, bool)) {
	defer close(run.chunks)
	seen := map[string]int{}
	size := run.s.cfg.ImportChunk
	cur := make([]*stageRow, 0, size)
	send := func() bool {
		select {
		case run.chunks <- chunk{rows: cur, read: run.readRows}:
			cur = make([]*stageRow, 0, size)
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		rec, line, err := rows.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if line == 0 { // not a CSV syntax error: the reader itself failed
				run.parseErr = err
				return
			}
			run.readRows++
			run.addFailed(RowError{Line: line, Message: "malformed CSV: " + err.Error()})
			continue
		}
		if blank(rec) {
			continue
		}
		run.readRows++
		if row := run.check(rec, line, h, managers, seen); row != nil {
			if cur = append(cur, row); len(cur) == cap(cur) && !send() {
				return
			}
		}
	}
	if len(cur) > 0 {
		send()
	}
}

// check builds one record's row, or records why it is refused and returns nil.
func (run *importRun) check(rec []string, line int, h header, managers func(string) (int64, bool), seen map[string]int) *stageRow {
	if len(rec) != len(h.fields) {
		run.addFailed(RowError{Line: line, Message: fmt.Sprintf("row has %d fields, the header has %d", len(rec), len(h.fields))})
		return nil
	}
	// A byte the file's encoding cannot read became U+FFFD: the row is
	// refused, never imported with the replacement character.
	if i := slices.IndexFunc(rec, func(v string) bool { return strings.ContainsRune(v, utf8.RuneError) }); i >= 0 {
		enc := run.rep.Encoding
		run.addFailed(RowError{Line: line, Column: h.names[i], Message: fmt.Sprintf("unreadable characters: bytes that are not valid %s; save the file again as CSV UTF-8 / 含无法识别的字符（不是有效的 %s 编码），请另存为 CSV UTF-8", enc, enc)})
		return nil
	}
	b := newRowBuilder(line, managers)
	for i, v := range rec {
		if f := h.fields[i]; f != "" {
			b.set(f, v)
		} else {
			b.attr(h.names[i], v)
		}
	}
	if id, ok := b.row.vals[sExternalID].(string); ok {
		if first, dup := seen[id]; dup {
			b.fail("external_id", fmt.Errorf("external_id %q already appears on line %d", id, first))
		} else {
			seen[id] = line
		}
	}
	row, errs := b.finish()
	if errs != nil {
		re := make([]RowError, len(errs))
		for i, fe := range errs {
			re[i] = RowError{Line: line, Column: columnName(h, fe.Field), Field: fe.Field, Message: fe.Message}
		}
		run.addFailed(re...)
		return nil
	}
	return row
}

// merge merges chunks on a connection of its own until they run out; after a
// database error it drains the rest.
func (run *importRun) merge(ctx context.Context) {
	conn, err := run.s.pool.Acquire(ctx)
	if err != nil {
		run.mu.Lock()
		run.dbErr = cmp.Or(run.dbErr, err)
		run.mu.Unlock()
		run.cancel()
		for range run.chunks {
		}
		return
	}
	defer conn.Release()
	for c := range run.chunks {
		run.mu.Lock()
		failedSoFar := run.dbErr != nil
		run.mu.Unlock()
		if failedSoFar {
			continue // drain
		}
		res, err := run.s.mergeChunk(ctx, conn, c.rows, run.opts.Actor, run.rep.ImportID)
		run.mu.Lock()
		if err != nil {
			run.dbErr = cmp.Or(run.dbErr, err)
			run.mu.Unlock()
			run.cancel()
			continue
		}
		run.valid += len(c.rows) - len(res.errs)
		run.rep.Inserted += res.inserted
		run.rep.Updated += res.updated
		run.refuse(len(res.errs), res.errs...)
		run.rep.Warnings = append(run.rep.Warnings, res.warnings...)
		run.maxRead = max(run.maxRead, c.read)
		if run.opts.Progress != nil {
			run.opts.Progress(run.maxRead, run.cr.n.Load())
		}
		run.mu.Unlock()
	}
}

func columnName(h header, field string) string {
	for i, f := range h.fields {
		if f == field {
			return h.names[i]
		}
	}
	return field // an attrs column is named by itself
}

type chunkResult struct {
	inserted, updated int
	errs              []RowError
	warnings          []RowError
}

// mergeChunk merges one chunk in a transaction. When the database refuses the
// chunk as a whole (a constraint a row breaks in combination with what is stored),
// it merges the rows one by one so only the bad row is lost.
func (s *Store) mergeChunk(ctx context.Context, conn *pgxpool.Conn, rows []*stageRow, actor audit.Actor, importID int64) (chunkResult, error) {
	res, err := s.mergeTx(ctx, conn, rows, actor, importID)
	if err == nil || !isIntegrity(err) {
		return res, err
	}
	var total chunkResult
	for _, row := range rows {
		one, err := s.mergeTx(ctx, conn, []*stageRow{row}, actor, importID)
		if err != nil {
			if !isIntegrity(err) {
				return total, err
			}
			total.errs = append(total.errs, RowError{Line: int(row.vals[sLine].(int32)), Message: "refused by the database: " + err.Error()})
			continue
		}
		total.inserted += one.inserted
		total.updated += one.updated
		total.errs = append(total.errs, one.errs...)
		total.warnings = append(total.warnings, one.warnings...)
	}
	return total, nil
}

func (s *Store) mergeTx(ctx context.Context, conn *pgxpool.Conn, rows []*stageRow, actor audit.Actor, importID int64) (chunkResult, error) {
	var res chunkResult
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		outs, cons, err := mergeStaged(ctx, tx, rows, s.cfg.Now(), actor.String(), "import", &importID)
		if err != nil {
			return err
		}
		res = tally(outs, cons)
		return nil
	})
	return res, err
}

// tally turns merge outcomes into counts: a row counts once, as inserted, updated
// (its contact or a consent changed) or, when untouched, unchanged.
func tally(outs []mergeOutcome, cons []consentOutcome) chunkResult {
	var res chunkResult
	state := map[int]string{}
	for _, o := range outs {
		state[o.line] = o.outcome
		switch o.outcome {
		case "erased":
			res.errs = append(res.errs, RowError{Line: o.line, Column: "", Field: "external_id", Message: "this contact was erased; it cannot be imported again"})
		}
	}
	for _, c := range cons {
		if c.blocked {
			col := "consent_" + c.channel
			if c.purpose == PurposeCare {
				col = "care_" + c.channel
			}
			res.warnings = append(res.warnings, RowError{Line: c.line, Field: col,
				Message: fmt.Sprintf("%s consent for %s was revoked by the customer (%s) after the file's consent; the revocation stands", c.purpose, c.channel, c.curSource)})
			continue
		}
		if _, ok := state[c.line]; !ok {
			state[c.line] = "updated"
		}
	}
	for _, st := range state {
		switch st {
		case "inserted":
			res.inserted++
		case "updated":
			res.updated++
		}
	}
	sortRowErrors(res.warnings)
	return res
}
