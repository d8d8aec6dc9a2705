package console

import (
	"context"
	"fmt"
	"html/template"
	"net/http"

	"carillon/campaigns"
	"carillon/internal/identity"
)

// Safe actions on the campaign page: approve and start go through a
// confirmation step (a page the server renders, so it works without script)
// that shows the audience and the estimated cost; the approval takes a
// comment. The funnel shows rates and refreshes while the campaign runs.

// confirmActions are the actions asked for confirmation first.
var confirmActions = []string{"approve", "start"}

func (c *Console) campaignActionRoutes() {
	if c.deps.Campaigns == nil {
		return
	}
	for _, a := range confirmActions {
		c.page("GET "+Prefix+"/campaigns/{id}/confirm/"+a, campaignActions[a], c.campaignConfirm(a))
	}
	c.page("GET "+Prefix+"/campaigns/{id}/funnel", identity.PermCampaignsRead, c.campaignFunnelFragment)
}

type confirmData struct {
	C          campaigns.Campaign
	Action     string
	Audience   string
	Recipients string
	Cost       string
}

// costText is an estimated cost as staff read it: "not priced" when no unit
// price is configured (rather than a cost of 0.00).
func costText(lang string, cost campaigns.Cost) string {
	priced := false
	for _, l := range cost.Lines {
		priced = priced || l.UnitPrice > 0
	}
	if !priced {
		return tr(lang, "form.cost_unpriced")
	}
	return fmt.Sprintf("%.2f %s", cost.Total, cost.Currency)
}

func (c *Console) campaignConfirm(action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, q *req) error {
		cp, err := c.campaignOf(r)
		if err != nil {
			return err
		}
		d := confirmData{C: cp, Action: action, Audience: "–", Recipients: "–", Cost: "–"}
		if rv := cp.Review; rv != nil {
			d.Audience, d.Recipients, d.Cost = i64(rv.Audience), i64(rv.Recipients), costText(q.Lang, rv.Cost)
		}
		c.render(w, r, q, http.StatusOK, "campaign_confirm", "form.confirm."+action, d)
		return nil
	}
}

// rate is one funnel step with its share of the step before and of the audience.
type rate struct {
	Name               string
	N                  int
	OfPrev, OfAudience string
}

// funnelData is the funnel section: the page's and the fragment it refreshes with.
type funnelData struct {
	C       campaigns.Campaign
	Runs    []runRow
	F       funnel
	SVG     template.HTML
	Rates   []rate
	Running bool
	Lang    string
}

func (d funnelData) T(key string) string { return tr(d.Lang, key) }

func (d funnelData) Tf(key string, args ...any) string { return fmt.Sprintf(tr(d.Lang, key), args...) }

// RunStatus is a run's state in the page's language.
func (d funnelData) RunStatus(s any) string { return runStatusText(d.Lang, s) }

// funnelOf reads the campaign's runs and draws its funnel.
func (c *Console) funnelOf(ctx context.Context, lang string, cp campaigns.Campaign) (funnelData, error) {
	d := funnelData{C: cp, Lang: lang, Running: cp.Status == campaigns.StatusRunning}
	var err error
	if d.Runs, err = c.runs(ctx, []int64{cp.ID}, true); err != nil {
		return d, err
	}
	if cp.Review != nil {
		d.F.Audience = cp.Review.Audience
	}
	for _, rr := range d.Runs {
		g := rr.F
		g.Audience = 0
		d.F.add(g)
	}
	steps := []funnelStep{
		{tr(lang, "funnel.audience"), int(d.F.Audience)}, {tr(lang, "funnel.recipients"), int(d.F.Recipients)},
		{tr(lang, "funnel.written"), int(d.F.Written)}, {tr(lang, "funnel.handed"), int(d.F.Handed())},
		{tr(lang, "funnel.delivered"), int(d.F.Delivered)}, {tr(lang, "funnel.opened"), int(d.F.Opened)},
		{tr(lang, "funnel.clicked"), int(d.F.Clicked)},
	}
	d.SVG = funnelSVG(tr(lang, "camp.funnel"), steps)
	for i, s := range steps {
		rt := rate{Name: s.Name, N: s.Value, OfPrev: "–", OfAudience: pct(s.Value, steps[0].Value)}
		if i > 0 {
			rt.OfPrev = pct(s.Value, steps[i-1].Value)
		}
		d.Rates = append(d.Rates, rt)
	}
	return d, nil
}

// campaignFunnelFragment is the funnel section's content, fetched every few
// seconds while the campaign runs.
func (c *Console) campaignFunnelFragment(w http.ResponseWriter, r *http.Request, q *req) error {
	cp, err := c.campaignOf(r)
	if err != nil {
		return err
	}
	d, err := c.funnelOf(r.Context(), q.Lang, cp)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return c.pages["campaign"].ExecuteTemplate(w, "funnelbody", d)
}
