package console

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"carillon/campaigns"
	"carillon/internal/identity"
)

// The author of a campaign is told on their next page when it is approved or
// rejected: the decisions newer than the last one this browser showed them
// (a cookie holds the user and that event's id; a browser without it shows
// the past week's).

const decisionsCookie = "carillon_decisions_seen"

// decisionNotice is one decision as the layout shows it.
type decisionNotice struct {
	campaigns.Decision
	Approved bool
}

// decisionNotices reads the user's unseen decisions and marks them seen.
func (c *Console) decisionNotices(w http.ResponseWriter, r *http.Request, q *req) []decisionNotice {
	if c.deps.Campaigns == nil || !q.P.Can(identity.PermCampaignsWrite) {
		return nil
	}
	uid := q.P.User.ID
	var after int64
	since := c.now().Add(-7 * 24 * time.Hour)
	if ck, err := r.Cookie(decisionsCookie); err == nil {
		u, id, _ := strings.Cut(ck.Value, ".")
		if u == strconv.FormatInt(uid, 10) {
			after, _ = strconv.ParseInt(id, 10, 64)
			since = time.Time{}
		}
	}
	list, err := c.deps.Campaigns.DecisionsFor(r.Context(), uid, after, since, 5)
	if err != nil {
		c.cfg.Logger.WarnContext(r.Context(), "console: campaign decisions", slog.String("err", err.Error()))
		return nil
	}
	if len(list) == 0 {
		return nil
	}
	c.setCookie(w, r, decisionsCookie, strconv.FormatInt(uid, 10)+"."+strconv.FormatInt(list[0].EventID, 10), 90*24*time.Hour)
	out := make([]decisionNotice, len(list))
	for i, d := range list {
		out[i] = decisionNotice{Decision: d, Approved: d.Action == campaigns.ActionApprove}
	}
	return out
}
