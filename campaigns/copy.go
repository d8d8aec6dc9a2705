package campaigns

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"carillon/internal/identity"
)

// Copy saves a new draft with campaign id's segment, template, variables,
// channels, schedule, window, throttle, end and notes, named name (at most
// 200 characters; cut when longer). The copier is its author; the copy is
// audited as a create with the campaign it was copied from.
func (s *Service) Copy(ctx context.Context, by By, id int64, name string) (Campaign, error) {
	if !by.can(identity.PermCampaignsWrite) {
		return Campaign{}, fmt.Errorf("%w: copying campaigns needs the marketer or admin role", ErrForbidden)
	}
	if by.userID() == 0 {
		return Campaign{}, fmt.Errorf("%w: a campaign is created by a user", ErrForbidden)
	}
	src, err := s.Get(ctx, id)
	if err != nil {
		return Campaign{}, err
	}
	d := draftOf(src)
	if r := []rune(name); len(r) > 200 {
		name = string(r[:200])
	}
	if name == "" {
		name = src.Name
	}
	d.name = name
	var out Campaign
	err = s.tx(ctx, func(tx pgx.Tx) error {
		now := s.now()
		vars, _ := json.Marshal(d.vars)
		var nid int64
		if err := tx.QueryRow(ctx, `INSERT INTO campaigns (name, status, segment_name, segment, template_key, channels, vars, schedule_kind, send_at, cron,
			window_start, window_end, throttle, ends_at, notes, created_by, created_by_user, created_at, updated_at)
			VALUES (@name, @status, NULLIF(@segment_name, ''), @segment, @template, @channels, @vars, @kind, @send_at, NULLIF(@cron, ''),
			@window_start, @window_end, @throttle, @ends_at, @notes, @created_by, @created_by_user, @now, @now) RETURNING id`,
			d.args(pgx.NamedArgs{"status": string(StatusDraft), "vars": vars, "created_by": by.Actor.String(), "created_by_user": by.userID(), "now": now})).Scan(&nid); err != nil {
			return fmt.Errorf("copy campaign %d: %w", id, err)
		}
		if err := s.event(ctx, tx, by, nid, ActionCreate, "", StatusDraft, "", map[string]any{"name": d.name, "copied_from": id}); err != nil {
			return err
		}
		var err error
		out, err = scanCampaign(tx.QueryRow(ctx, `SELECT `+campaignColumns+` FROM campaigns WHERE id = $1`, nid))
		return err
	})
	return out, err
}
