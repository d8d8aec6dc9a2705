package contacts

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"carillon/internal/audit"
)

// Timeline kinds of a bulk tag change.
const (
	EventTagged   = "contact.tagged"
	EventUntagged = "contact.untagged"
)

// MaxTagLength is the longest tag, in characters.
const MaxTagLength = 32

// DefaultBulkMax is how many contacts one bulk change may touch at most.
const DefaultBulkMax = 100_000

// ValidTag folds tag (full-width to narrow, spaces trimmed) and checks it: 1
// to MaxTagLength characters, letters (any script), digits, "_", "-" and "."
// only. It returns the folded tag.
func ValidTag(tag string) (string, error) {
	tag = fold(tag)
	if tag == "" {
		return "", &ValidationError{Fields: []FieldError{{Field: "tag", Message: "is required"}}}
	}
	if n := utf8.RuneCountInString(tag); n > MaxTagLength {
		return "", &ValidationError{Fields: []FieldError{{Field: "tag", Message: fmt.Sprintf("a tag has at most %d characters", MaxTagLength)}}}
	}
	for _, r := range tag {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' && r != '.' {
			return "", &ValidationError{Fields: []FieldError{{Field: "tag", Message: "a tag holds letters, digits, _ - and . only"}}}
		}
	}
	return tag, nil
}

// BulkTag is a tag added to (or removed from) every contact a search matches.
type BulkTag struct {
	// Search selects the contacts (its Limit, Offset and After are ignored);
	// its IDs, when given, keep the rows chosen on the page only.
	Search SearchQuery
	Tag    string
	Remove bool
}

// BulkTagResult counts a bulk tag change: Matched contacts the search
// found (erased ones left out), Changed those whose tags changed (the others
// already had, or lacked, the tag).
type BulkTagResult struct {
	Matched int `json:"matched"`
	Changed int `json:"changed"`
}

const (
	sqlBulkTagCount = `SELECT count(*), count(*) FILTER (WHERE (c.tags @> ARRAY[@bulk_tag]::text[]) = @remove)
		FROM contacts c WHERE c.id = ANY(@ids) AND c.erased_at IS NULL`
	sqlBulkTagAdd = `UPDATE contacts c SET tags = array_append(c.tags, @bulk_tag), updated_at = @at
		WHERE c.id = ANY(@ids) AND c.erased_at IS NULL AND NOT c.tags @> ARRAY[@bulk_tag]::text[] RETURNING c.id`
	sqlBulkTagRemove = `UPDATE contacts c SET tags = array_remove(c.tags, @bulk_tag), updated_at = @at
		WHERE c.id = ANY(@ids) AND c.erased_at IS NULL AND c.tags @> ARRAY[@bulk_tag]::text[] RETURNING c.id`
)

// matchAll returns the ids of every contact in sc matching q, in id order,
// at most limit of them (and whether there were more).
func matchAll(ctx context.Context, q Querier, sc Scope, s SearchQuery, limit int) ([]int64, bool, error) {
	s.After, s.Offset, s.Limit = 0, 0, limit
	stmt, byExternalID, args := searchSQL(sc, s)
	collect := func(sql string) ([]int64, error) {
		rows, err := q.Query(ctx, sql, args)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[int64])
	}
	if byExternalID != "" {
		ids, err := collect(byExternalID)
		if err != nil || len(ids) > 0 {
			return ids, false, err
		}
	}
	ids, err := collect(stmt + sqlSearchOrder)
	if err != nil {
		return nil, false, err
	}
	if len(ids) > limit {
		return ids[:limit], true, nil
	}
	return ids, false, nil
}

func (b BulkTag) check() (BulkTag, error) {
	tag, err := ValidTag(b.Tag)
	b.Tag = tag
	return b, err
}

// PreviewBulkTag counts what ApplyBulkTag would do now, changing nothing.
func (s *Store) PreviewBulkTag(ctx context.Context, sc Scope, b BulkTag) (BulkTagResult, error) {
	b, err := b.check()
	if err != nil {
		return BulkTagResult{}, err
	}
	var res BulkTagResult
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		ids, err := s.matchBulk(ctx, tx, sc, b.Search)
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, sqlBulkTagCount, pgx.NamedArgs{"ids": ids, "bulk_tag": b.Tag, "remove": b.Remove}).Scan(&res.Matched, &res.Changed)
	})
	if err != nil {
		return BulkTagResult{}, fmt.Errorf("preview bulk tag: %w", err)
	}
	return res, nil
}

// matchBulk is the ids of every contact a bulk change or export covers,
// refused when there are more than the store's BulkMax.
func (s *Store) matchBulk(ctx context.Context, q Querier, sc Scope, search SearchQuery) ([]int64, error) {
	ids, more, err := matchAll(ctx, q, sc, search, s.cfg.BulkMax)
	if err == nil && more {
		err = &ValidationError{Fields: []FieldError{{Field: "search", Message: fmt.Sprintf("the search matches more than %d customers", s.cfg.BulkMax)}}}
	}
	return ids, err
}

// ApplyBulkTag adds (or removes) a tag on every contact in sc the search
// matches, in one transaction: all of them or none. Each contact whose tags
// change gets a timeline event; contacts that already have (or lack) the tag
// are left alone. One audit row records the search, the tag and the counts.
func (s *Store) ApplyBulkTag(ctx context.Context, actor audit.Actor, sc Scope, b BulkTag) (BulkTagResult, error) {
	b, err := b.check()
	if err != nil {
		return BulkTagResult{}, err
	}
	var res BulkTagResult
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		ids, err := s.matchBulk(ctx, tx, sc, b.Search)
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, sqlBulkTagCount, pgx.NamedArgs{"ids": ids, "bulk_tag": b.Tag, "remove": b.Remove}).Scan(&res.Matched, &res.Changed); err != nil {
			return err
		}
		now := s.cfg.Now()
		stmt, kind, verb, zh := sqlBulkTagAdd, EventTagged, "added", "已添加"
		if b.Remove {
			stmt, kind, verb, zh = sqlBulkTagRemove, EventUntagged, "removed", "已移除"
		}
		rows, err := tx.Query(ctx, stmt, pgx.NamedArgs{"ids": ids, "bulk_tag": b.Tag, "at": now})
		if err != nil {
			return err
		}
		changed, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		res.Changed = len(changed)
		data, _ := json.Marshal(map[string]any{"tag": b.Tag, "bulk": true})
		summary := fmt.Sprintf("标签「%s」%s（批量） / tag %q %s (bulk)", b.Tag, zh, b.Tag, verb)
		events := make([]Event, len(changed))
		for i, id := range changed {
			events[i] = Event{ContactID: id, At: now, Kind: kind, Actor: actor.String(), Summary: summary, Data: data}
		}
		if err := AppendEvents(ctx, tx, events); err != nil {
			return err
		}
		action := "contacts.bulk_tag"
		if b.Remove {
			action = "contacts.bulk_untag"
		}
		return audit.Append(ctx, tx, actor, now, audit.Entry{Action: action, ObjectType: "contact", ObjectID: "bulk",
			Changes: map[string]any{"tag": b.Tag, "search": searchAudit(b.Search), "matched": res.Matched, "changed": res.Changed}})
	})
	if err != nil {
		return BulkTagResult{}, fmt.Errorf("bulk tag %q: %w", b.Tag, err)
	}
	return res, nil
}

// searchAudit is a search as the audit log records it: the filters given (a
// phone number's digits as its last four only).
func searchAudit(q SearchQuery) map[string]any {
	m := map[string]any{}
	if q.Q != "" {
		text := q.Q
		if d := []rune(text); allDigits(text) && len(d) > 4 {
			text = "…" + string(d[len(d)-4:])
		}
		m["q"] = text
	}
	if q.Tag != "" {
		m["tag"] = q.Tag
	}
	if q.Tier != "" {
		m["tier"] = q.Tier
	}
	if len(q.IDs) > 0 {
		m["ids"] = len(q.IDs)
	}
	return m
}

// ExportSearch calls fn with every contact in sc matching q, in id order —
// the matching ids first, then the contacts by one streamed query (their rows
// are not held in memory) — and audits the
// export once (who, the search, how many rows fn got). A search matching
// more than the store's BulkMax is refused before anything is read.
func (s *Store) ExportSearch(ctx context.Context, actor audit.Actor, sc Scope, q SearchQuery, fn func(Contact) error) (int, error) {
	ids, err := s.matchBulk(ctx, s.pool, sc, q)
	if err != nil {
		return 0, fmt.Errorf("export contacts: %w", err)
	}
	n := 0
	err = func() error {
		rows, err := s.pool.Query(ctx, `SELECT `+contactColumns+contactFrom+`WHERE c.id = ANY($1) ORDER BY c.id`, ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c, err := scanContact(rows)
			if err != nil {
				return err
			}
			if err := fn(c); err != nil {
				return err
			}
			n++
		}
		return rows.Err()
	}()
	// The export is audited even when it stopped half-way (the reader went
	// away): what left is what the audit counts.
	if aerr := audit.Append(context.WithoutCancel(ctx), s.pool, actor, s.cfg.Now(), audit.Entry{Action: "contacts.export_list", ObjectType: "contact", ObjectID: "search",
		Changes: map[string]any{"search": searchAudit(q), "rows": n, "complete": err == nil}}); aerr != nil && err == nil {
		err = aerr
	}
	if err != nil {
		return n, fmt.Errorf("export contacts: %w", err)
	}
	return n, nil
}
