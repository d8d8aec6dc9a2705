package campaigns

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Search narrows Search: every field set must hold (a zero field is no
// condition). Times are half-open ranges [From, To).
type Search struct {
	// Name is a part of the campaign's name, matched case-insensitively as
	// typed (no pattern characters).
	Name string
	// Statuses the campaign is in (any of them).
	Statuses []Status
	// CreatedBy is the user who created the campaign.
	CreatedBy int64
	// AwaitingOf is a user who may approve: only campaigns that user did not
	// create, edit or submit (maker-checker).
	AwaitingOf int64
	// CreatedFrom and CreatedTo bound when the campaign was created.
	CreatedFrom, CreatedTo *time.Time
	// ScheduledFrom and ScheduledTo bound when it runs next: its next firing,
	// else its send time, else (started) its last run.
	ScheduledFrom, ScheduledTo *time.Time
	// Offset and Limit page the result (Limit: default 50, at most 500).
	Offset, Limit int
}

// Found is a page of campaigns and how many match in all.
type Found struct {
	Campaigns []Campaign
	Total     int64
}

// sqlSearch is the campaigns' search; @name is matched with strpos, so what
// is typed is never a pattern.
const sqlSearch = `SELECT ` + campaignColumns + `, count(*) OVER () FROM campaigns c
	WHERE (@name = '' OR strpos(lower(name), lower(@name)) > 0)
	  AND (cardinality(@statuses::text[]) = 0 OR status = ANY(@statuses::text[]))
	  AND (@created_by = 0 OR created_by_user = @created_by)
	  AND (@awaiting_of = 0 OR (created_by_user <> @awaiting_of AND NOT EXISTS (SELECT 1 FROM campaign_events e
	       WHERE e.campaign_id = c.id AND e.user_id = @awaiting_of AND e.action = ANY(@author_actions::text[]))))
	  AND (@created_from::timestamptz IS NULL OR created_at >= @created_from)
	  AND (@created_to::timestamptz IS NULL OR created_at < @created_to)
	  AND (@scheduled_from::timestamptz IS NULL OR COALESCE(next_run_at, send_at, last_run_at) >= @scheduled_from)
	  AND (@scheduled_to::timestamptz IS NULL OR COALESCE(next_run_at, send_at, last_run_at) < @scheduled_to)
	ORDER BY id DESC OFFSET @offset LIMIT @limit`

// Search returns the campaigns f matches, newest first, and their total.
func (s *Service) Search(ctx context.Context, f Search) (Found, error) {
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	statuses := strs(f.Statuses)
	rows, err := s.pool.Query(ctx, sqlSearch, pgx.NamedArgs{"name": strings.TrimSpace(f.Name), "statuses": statuses,
		"created_by": f.CreatedBy, "awaiting_of": f.AwaitingOf, "author_actions": strs([]Action{ActionCreate, ActionEdit, ActionSubmit}),
		"created_from": f.CreatedFrom, "created_to": f.CreatedTo, "scheduled_from": f.ScheduledFrom, "scheduled_to": f.ScheduledTo,
		"offset": max(f.Offset, 0), "limit": limit})
	if err != nil {
		return Found{}, fmt.Errorf("search campaigns: %w", err)
	}
	var out Found
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Campaign, error) {
		return scanCampaignAnd(r, &out.Total)
	})
	if err != nil {
		return Found{}, fmt.Errorf("search campaigns: %w", err)
	}
	out.Campaigns = list
	if len(list) == 0 && f.Offset > 0 {
		// Past the last page: count what matches.
		f.Offset, f.Limit = 0, 1
		first, err := s.Search(ctx, f)
		if err != nil {
			return Found{}, err
		}
		out.Total = first.Total
	}
	return out, nil
}
