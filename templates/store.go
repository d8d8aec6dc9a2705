package templates

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/internal/audit"
)

// DefaultMaxSegments is the most SMS parts a template's sample render may take.
const DefaultMaxSegments = 3

// Config configures a Store.
type Config struct {
	// Schemas maps each source to the variables its templates may use. Default
	// BuiltinSchemas(); later packages add theirs with maps.Copy on BuiltinSchemas().
	Schemas map[string]Schema
	// MaxSegments caps the SMS parts of a variant's sample render. Default
	// DefaultMaxSegments.
	MaxSegments int
	// Limits bound every render: time, range iterations and each channel's
	// output (docs/templates.md). Zero fields take their defaults.
	Limits Limits
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger. Default: discard.
	Logger *slog.Logger
}

// WithDefaults returns c with defaults applied.
func (c Config) WithDefaults() Config {
	if c.Schemas == nil {
		c.Schemas = BuiltinSchemas()
	}
	c.MaxSegments = cmp.Or(c.MaxSegments, DefaultMaxSegments)
	c.Limits = c.Limits.WithDefaults()
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	return c
}

func (c Config) validate() error {
	if c.MaxSegments < 1 || c.MaxSegments > 20 {
		return fmt.Errorf("templates: MaxSegments %d out of range 1..20", c.MaxSegments)
	}
	return c.Limits.validate(c.MaxSegments)
}

// Store keeps templates and their versions, and renders them.
type Store struct {
	pool *pgxpool.Pool
	cfg  Config

	mu    sync.Mutex
	cache map[cacheKey]*compiled
}

type cacheKey struct {
	key     string
	version int
	channel Channel
	locale  string
}

const maxCached = 2000

// NewStore returns a store on pool.
func NewStore(pool *pgxpool.Pool, cfg Config) (*Store, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Store{pool: pool, cfg: cfg, cache: map[cacheKey]*compiled{}}, nil
}

// Schemas returns the store's schemas by source.
func (s *Store) Schemas() map[string]Schema { return s.cfg.Schemas }

// Limits returns the limits every render of the store runs under.
func (s *Store) Limits() Limits { return s.cfg.Limits }

// Check validates a definition with the store's schemas, maximum segments and
// render limits.
func (s *Store) Check(ctx context.Context, def Definition) (Report, error) {
	return Check(ctx, def, s.cfg.Schemas, s.cfg.MaxSegments, s.cfg.Limits)
}

const versionCols = `key, version, purpose, source, default_locale, description, names, variants, variables, author, builtin, note, created_at`

func scanVersion(row pgx.Row) (Version, error) {
	var v Version
	var names, variants, variables []byte
	err := row.Scan(&v.Key, &v.Version, &v.Purpose, &v.Source, &v.DefaultLocale, &v.Description, &names, &variants, &variables, &v.Author, &v.Builtin, &v.Note, &v.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, ErrNotFound
	}
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(variants, &v.Variants); err != nil {
		return v, fmt.Errorf("template %s v%d: variants: %w", v.Key, v.Version, err)
	}
	if err := unmarshalNames(names, &v.Definition); err != nil {
		return v, fmt.Errorf("template %s v%d: names: %w", v.Key, v.Version, err)
	}
	if err := json.Unmarshal(variables, &v.Variables); err != nil {
		return v, fmt.Errorf("template %s v%d: variables: %w", v.Key, v.Version, err)
	}
	return v, nil
}

// Version returns version n of key; n = 0 is the active version.
func (s *Store) Version(ctx context.Context, key string, n int) (Version, error) {
	var row pgx.Row
	if n == 0 {
		row = s.pool.QueryRow(ctx, `SELECT `+prefixed("v", versionCols)+` FROM template_versions v
			JOIN templates t ON t.key = v.key AND t.active_version = v.version WHERE t.key = $1`, key)
	} else {
		row = s.pool.QueryRow(ctx, `SELECT `+versionCols+` FROM template_versions WHERE key = $1 AND version = $2`, key, n)
	}
	v, err := scanVersion(row)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return v, fmt.Errorf("load template %s v%d: %w", key, n, err)
	}
	return v, err
}

// Active returns the active version of key.
func (s *Store) Active(ctx context.Context, key string) (Version, error) {
	return s.Version(ctx, key, 0)
}

// unmarshalNames reads the stored names; an empty object leaves Names nil.
func unmarshalNames(b []byte, d *Definition) error {
	if len(b) == 0 {
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if len(m) > 0 {
		d.Names = m
	}
	return nil
}

func prefixed(alias, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

func summary(v Version, active int, edited bool, updated time.Time) Template {
	t := Template{Key: v.Key, ActiveVersion: active, Purpose: v.Purpose, Source: v.Source, DefaultLocale: v.DefaultLocale,
		Description: v.Description, Names: v.Names, Edited: edited, UpdatedAt: updated, Channels: []Channel{}, Locales: []string{}}
	for _, x := range v.Variants {
		if !slices.Contains(t.Channels, x.Channel) {
			t.Channels = append(t.Channels, x.Channel)
		}
		if !slices.Contains(t.Locales, x.Locale) {
			t.Locales = append(t.Locales, x.Locale)
		}
	}
	slices.Sort(t.Locales)
	return t
}

// List returns every template with its active version's summary, by key.
func (s *Store) List(ctx context.Context) ([]Template, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+prefixed("v", versionCols)+`, t.edited, t.updated_at FROM templates t
		JOIN template_versions v ON v.key = t.key AND v.version = t.active_version ORDER BY t.key`)
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	defer rows.Close()
	out := []Template{}
	for rows.Next() {
		var v Version
		var names, variants, variables []byte
		var edited bool
		var updated time.Time
		if err := rows.Scan(&v.Key, &v.Version, &v.Purpose, &v.Source, &v.DefaultLocale, &v.Description, &names, &variants, &variables, &v.Author, &v.Builtin, &v.Note, &v.CreatedAt, &edited, &updated); err != nil {
			return nil, fmt.Errorf("list templates: %w", err)
		}
		if err := json.Unmarshal(variants, &v.Variants); err != nil {
			return nil, fmt.Errorf("list templates: %s: %w", v.Key, err)
		}
		if err := json.Unmarshal(variables, &v.Variables); err != nil {
			return nil, fmt.Errorf("list templates: %s: %w", v.Key, err)
		}
		if err := unmarshalNames(names, &v.Definition); err != nil {
			return nil, fmt.Errorf("list templates: %s: %w", v.Key, err)
		}
		out = append(out, summary(v, v.Version, edited, updated))
	}
	return out, rows.Err()
}

// Get returns a template with its version history (newest first).
func (s *Store) Get(ctx context.Context, key string) (Template, error) {
	v, err := s.Active(ctx, key)
	if err != nil {
		return Template{}, err
	}
	var edited bool
	var updated time.Time
	if err := s.pool.QueryRow(ctx, `SELECT edited, updated_at FROM templates WHERE key = $1`, key).Scan(&edited, &updated); err != nil {
		return Template{}, fmt.Errorf("load template %s: %w", key, err)
	}
	t := summary(v, v.Version, edited, updated)
	rows, err := s.pool.Query(ctx, `SELECT version, author, builtin, note, created_at FROM template_versions WHERE key = $1 ORDER BY version DESC`, key)
	if err != nil {
		return Template{}, fmt.Errorf("load template %s versions: %w", key, err)
	}
	defer rows.Close()
	for rows.Next() {
		var i Info
		if err := rows.Scan(&i.Version, &i.Author, &i.Builtin, &i.Note, &i.CreatedAt); err != nil {
			return Template{}, err
		}
		i.Active = i.Version == v.Version
		t.Versions = append(t.Versions, i)
	}
	return t, rows.Err()
}

// SaveOptions qualify a save.
type SaveOptions struct {
	// Activate makes the new version the active one. A key's first version is
	// always active.
	Activate bool
	// Note says why the version was saved.
	Note string
}

// Save validates def and stores it as the key's next version, audited in the same
// transaction. A definition that does not validate is refused with a
// *ValidationError naming each mistake and its position.
func (s *Store) Save(ctx context.Context, actor audit.Actor, def Definition, opts SaveOptions) (Version, Report, error) {
	rep, err := s.Check(ctx, def)
	if err != nil {
		return Version{}, Report{}, err
	}
	var v Version
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var e error
		v, e = insertVersion(ctx, tx, def, actor.String(), false, opts.Note, opts.Activate, s.cfg.Now())
		if e != nil {
			return e
		}
		return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "template.save", ObjectType: "template", ObjectID: def.Key,
			Changes: map[string]any{"version": v.Version, "activated": opts.Activate || v.Version == 1, "channels": summary(v, 0, true, time.Time{}).Channels, "note": opts.Note}})
	})
	if err != nil {
		return Version{}, Report{}, fmt.Errorf("save template %s: %w", def.Key, err)
	}
	return v, rep, nil
}

// Create validates def and stores it as version 1 of a new key, active,
// audited as template.create in the same transaction. A key that is taken is
// refused with ErrExists (a new version of an existing key is Save's); a
// definition that does not validate with a *ValidationError.
func (s *Store) Create(ctx context.Context, actor audit.Actor, def Definition, note string) (Version, Report, error) {
	rep, err := s.Check(ctx, def)
	if err != nil {
		return Version{}, Report{}, err
	}
	var v Version
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM templates WHERE key = $1)`, def.Key).Scan(&taken); err != nil {
			return err
		}
		if taken {
			return ErrExists
		}
		var e error
		if v, e = insertVersion(ctx, tx, def, actor.String(), false, note, true, s.cfg.Now()); e != nil {
			return e
		}
		return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "template.create", ObjectType: "template", ObjectID: def.Key,
			Changes: map[string]any{"version": v.Version, "channels": summary(v, 0, true, time.Time{}).Channels, "locales": summary(v, 0, true, time.Time{}).Locales, "note": note}})
	})
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
		err = ErrExists // a concurrent create of the same key won
	}
	if errors.Is(err, ErrExists) {
		return Version{}, Report{}, ErrExists
	}
	if err != nil {
		return Version{}, Report{}, fmt.Errorf("create template %s: %w", def.Key, err)
	}
	return v, rep, nil
}

// insertVersion adds the key's next version (creating the key), taking a row lock
// on the key so concurrent saves get consecutive numbers.
func insertVersion(ctx context.Context, tx pgx.Tx, def Definition, author string, builtin bool, note string, activate bool, now time.Time) (Version, error) {
	variants, err := json.Marshal(def.Variants)
	if err != nil {
		return Version{}, err
	}
	decl := def.Variables
	if decl == nil {
		decl = []Variable{}
	}
	variables, err := json.Marshal(decl)
	if err != nil {
		return Version{}, err
	}
	names := map[string]string{}
	for l, n := range def.Names {
		if n = strings.TrimSpace(n); n != "" {
			names[l] = n
		}
	}
	namesJSON, err := json.Marshal(names)
	if err != nil {
		return Version{}, err
	}
	var next int
	err = tx.QueryRow(ctx, `SELECT active_version FROM templates WHERE key = $1 FOR UPDATE`, def.Key).Scan(&next)
	isNew := errors.Is(err, pgx.ErrNoRows)
	if err != nil && !isNew {
		return Version{}, err
	}
	if err := tx.QueryRow(ctx, `SELECT COALESCE(max(version), 0) + 1 FROM template_versions WHERE key = $1`, def.Key).Scan(&next); err != nil {
		return Version{}, err
	}
	if isNew {
		if _, err := tx.Exec(ctx, `INSERT INTO templates (key, active_version, edited, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`, def.Key, next, !builtin, now); err != nil {
			return Version{}, err
		}
	}
	v, err := scanVersion(tx.QueryRow(ctx, `INSERT INTO template_versions (key, version, purpose, source, default_locale, description, names, variants, variables, author, builtin, note, created_at)
		VALUES (@key, @version, @purpose, @source, @locale, @description, @names, @variants, @variables, @author, @builtin, @note, @at)
		RETURNING `+versionCols, pgx.NamedArgs{"key": def.Key, "version": next, "purpose": def.Purpose, "source": def.Source,
		"locale": def.DefaultLocale, "description": def.Description, "names": namesJSON, "variants": variants, "variables": variables,
		"author": author, "builtin": builtin, "note": note, "at": now}))
	if err != nil {
		return Version{}, err
	}
	if !isNew {
		if _, err := tx.Exec(ctx, `UPDATE templates SET active_version = CASE WHEN $5 THEN $2 ELSE active_version END,
			edited = edited OR NOT $3, updated_at = $4 WHERE key = $1`, def.Key, next, builtin, now, activate); err != nil {
			return Version{}, err
		}
	}
	return v, nil
}

// Activate makes version n of key the active one, audited.
func (s *Store) Activate(ctx context.Context, actor audit.Actor, key string, n int) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var prev int
		err := tx.QueryRow(ctx, `SELECT t.active_version FROM templates t WHERE t.key = $1 FOR UPDATE`, key).Scan(&prev)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("activate template %s v%d: %w", key, n, err)
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM template_versions WHERE key = $1 AND version = $2)`, key, n).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return ErrNotFound
		}
		if _, err := tx.Exec(ctx, `UPDATE templates SET active_version = $2, updated_at = $3 WHERE key = $1`, key, n, s.cfg.Now()); err != nil {
			return fmt.Errorf("activate template %s v%d: %w", key, n, err)
		}
		return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "template.activate", ObjectType: "template", ObjectID: key,
			Changes: map[string]any{"version": n, "previous": prev}})
	})
}

// Render renders version n of key (0: the active one) for channel ch in locale
// with vars. The locale falls back to the template's default; a channel without a
// variant gives an error matching ErrNoVariant.
func (s *Store) Render(ctx context.Context, key string, n int, ch Channel, locale string, vars Vars) (Rendered, error) {
	v, err := s.Version(ctx, key, n)
	if err != nil {
		return Rendered{}, err
	}
	return s.RenderVersion(ctx, v, ch, locale, vars)
}

// RenderVersion renders a loaded version (what a worker that batches loads calls).
// Declared variables the caller left out render as their zero values. The
// render runs under the store's Limits and ctx's deadline: one that would pass
// them stops with a *LimitError (errors.Is ErrRenderLimit).
func (s *Store) RenderVersion(ctx context.Context, v Version, ch Channel, locale string, vars Vars) (Rendered, error) {
	return s.renderVersion(ctx, v, ch, locale, vars, s.compiled)
}

// compileFunc compiles a version's variant: from the cache (a saved version)
// or afresh (a draft, which has no version number to cache it by).
type compileFunc func(v Version, variant Variant) (*compiled, error)

func compileDraft(_ Version, variant Variant) (*compiled, error) { return compile(variant) }

func (s *Store) renderVersion(ctx context.Context, v Version, ch Channel, locale string, vars Vars, compileOf compileFunc) (Rendered, error) {
	variant, err := v.Lookup(ch, locale)
	if err != nil {
		return Rendered{}, err
	}
	c, err := compileOf(v, variant)
	if err != nil {
		return Rendered{}, err
	}
	filled := fill(vars, schemaFor(v.Definition, s.cfg.Schemas))
	typedCampaign(filled, v.Variables)
	return c.render(ctx, v.Key, v.Version, v.Purpose, filled, s.cfg.Limits)
}

func (s *Store) compiled(v Version, variant Variant) (*compiled, error) {
	k := cacheKey{v.Key, v.Version, variant.Channel, variant.Locale}
	s.mu.Lock()
	c, ok := s.cache[k]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	c, err := compile(variant)
	if err != nil {
		return nil, fmt.Errorf("template %s v%d: %w", v.Key, v.Version, err)
	}
	s.mu.Lock()
	if len(s.cache) >= maxCached {
		clear(s.cache)
	}
	s.cache[k] = c
	s.mu.Unlock()
	return c, nil
}

// PreviewRequest says what to preview.
type PreviewRequest struct {
	Version int      // 0: the active version
	Contact *Contact // nil: the sample contact (contacts.Contact.ForTemplate)
	Channel Channel  // "": every channel the version has
	Locale  string   // "": the contact's locale
	Vars    Vars     // overrides of the sample variables (top-level keys)
}

// Preview is a version rendered for one contact, per channel.
type Preview struct {
	Key      string     `json:"key"`
	Version  int        `json:"version"`
	Contact  string     `json:"contact"` // external id, or SAMPLE-0001
	Locale   string     `json:"locale"`
	Rendered []Rendered `json:"rendered"`
}

// Preview renders a version against a contact (or the sample contact) with the
// sample occasion of its source. SMS renders carry their segment counts; email
// renders their HTML.
func (s *Store) Preview(ctx context.Context, key string, req PreviewRequest) (Preview, error) {
	v, err := s.Version(ctx, key, req.Version)
	if err != nil {
		return Preview{}, err
	}
	return s.preview(ctx, v, req, s.compiled)
}

// PreviewDraft renders a definition not saved yet (req.Version is ignored)
// exactly as Preview renders a saved version: the same sample variables, the
// same render path and Limits. A text that does not parse gives a
// *ValidationError listing every parse error of the draft's texts.
func (s *Store) PreviewDraft(ctx context.Context, def Definition, req PreviewRequest) (Preview, error) {
	var probs []Problem
	for _, x := range def.Variants {
		probs = append(probs, parseProblems(x)...)
	}
	if len(probs) > 0 {
		return Preview{}, &ValidationError{Problems: probs}
	}
	return s.preview(ctx, Version{Definition: def}, req, compileDraft)
}

func (s *Store) preview(ctx context.Context, v Version, req PreviewRequest, compileOf compileFunc) (Preview, error) {
	c := req.Contact
	if c == nil {
		sc := SampleContact(cmp.Or(req.Locale, v.DefaultLocale))
		c = &sc
	}
	locale := cmp.Or(req.Locale, c.Locale, v.DefaultLocale)
	vars := SampleVars(v.Source, locale, c)
	if v.Source == SourceCampaign && len(v.Variables) > 0 {
		vars["Campaign"] = sampleCampaign(v.Variables)
	}
	maps.Copy(vars, req.Vars)
	p := Preview{Key: v.Key, Version: v.Version, Contact: c.ExternalID, Locale: locale, Rendered: []Rendered{}}
	chans := []Channel{req.Channel}
	if req.Channel == "" {
		chans = nil
		for _, ch := range Channels() {
			if _, err := v.Lookup(ch, locale); err == nil {
				chans = append(chans, ch)
			}
		}
	}
	for _, ch := range chans {
		r, err := s.renderVersion(ctx, v, ch, locale, vars, compileOf)
		if err != nil {
			return Preview{}, err
		}
		p.Rendered = append(p.Rendered, r)
	}
	return p, nil
}
