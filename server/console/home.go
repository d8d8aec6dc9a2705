package console

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"carillon/campaigns"
	"carillon/internal/identity"
)

// homeLimit is how many campaigns each group of the marketer's home lists.
const homeLimit = 5

// homeGroup is one group of the marketer's home: the user's own campaigns in
// some states, the first few and how many in all.
type homeGroup struct {
	Key    string // drafts, awaiting, scheduled, running
	Items  []homeItem
	Total  int64
	More   bool   // more than the items listed
	Status string // the list's status filter for the rest
}

// homeItem is one campaign of a group.
type homeItem struct {
	C        campaigns.Campaign
	Audience int64      // the review's count; 0 when not known
	When     *time.Time // next firing, send time or last start
}

// homeGroups are the author's campaigns by state: drafts (and those
// rejected back to them), awaiting approval, scheduled, running.
func (c *Console) homeGroups(ctx context.Context, p identity.Principal) ([]homeGroup, error) {
	if c.deps.Campaigns == nil || !p.Can(identity.PermCampaignsWrite) {
		return nil, nil
	}
	groups := []struct {
		key      string
		statuses []campaigns.Status
	}{
		{"drafts", []campaigns.Status{campaigns.StatusDraft, campaigns.StatusRejected}},
		{"awaiting", []campaigns.Status{campaigns.StatusSubmitted}},
		{"scheduled", []campaigns.Status{campaigns.StatusApproved, campaigns.StatusScheduled}},
		{"running", []campaigns.Status{campaigns.StatusRunning, campaigns.StatusPaused}},
	}
	var out []homeGroup
	for _, g := range groups {
		found, err := c.deps.Campaigns.Search(ctx, campaigns.Search{CreatedBy: p.User.ID, Statuses: g.statuses, Limit: homeLimit})
		if err != nil {
			return nil, err
		}
		hg := homeGroup{Key: g.key, Total: found.Total}
		for _, cp := range found.Campaigns {
			it := homeItem{C: cp, When: cp.NextRunAt}
			if it.When == nil {
				it.When = cp.Schedule.At
			}
			if it.When == nil {
				it.When = cp.LastRunAt
			}
			if cp.Review != nil {
				it.Audience = cp.Review.Audience
			}
			hg.Items = append(hg.Items, it)
		}
		hg.More, hg.Status = hg.Total > int64(len(hg.Items)), string(g.statuses[0])
		out = append(out, hg)
	}
	return out, nil
}

// campaignCopy saves a draft copy of the campaign, authored by the copier,
// and opens its form.
func (c *Console) campaignCopy(w http.ResponseWriter, r *http.Request, q *req) error {
	cp, err := c.campaignOf(r)
	if err != nil {
		return err
	}
	dup, err := c.deps.Campaigns.Copy(r.Context(), campaignBy(r, q), cp.ID, cp.Name+tr(q.Lang, "home.copy_suffix"))
	if err != nil {
		return err
	}
	seeOther(w, r, fmt.Sprintf("%s/campaigns/%d/edit", Prefix, dup.ID), "copied")
	return nil
}

func (c *Console) homeRoutes() {
	if c.deps.Campaigns == nil {
		return
	}
	c.page("POST "+Prefix+"/campaigns/{id}/copy", identity.PermCampaignsWrite, c.campaignCopy)
}
