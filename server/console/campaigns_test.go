package console_test

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/campaigns"
	"carillon/contacts"
	"carillon/internal/audit"
)

// campaignForm is a valid campaign form for the world's customers.
func campaignForm(name string) url.Values {
	return url.Values{"name": {name}, "expr": {`"retail" in tags`}, "template": {"campaign.wealth"}, "ch1": {"sms"},
		"kind": {"now"}, "window": {"09:00-20:00"}, "vars": {`{"product": "稳健理财"}`}}
}

var campaignPathRE = regexp.MustCompile(`^/console/campaigns/(\d+)\?ok=ok\.created$`)

// createCampaign creates a campaign through the form and returns its path.
func createCampaign(t *testing.T, b *browser, form url.Values) string {
	t.Helper()
	r := b.post(Prefix+"/campaigns", form)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	m := campaignPathRE.FindStringSubmatch(r.location)
	require.NotNil(t, m, r.location)
	return Prefix + "/campaigns/" + m[1]
}

func campaignID(t *testing.T, path string) int64 {
	t.Helper()
	var id int64
	_, err := fmt.Sscanf(path, Prefix+"/campaigns/%d", &id)
	require.NoError(t, err)
	return id
}

func TestCampaignLifecycleThroughTheConsole(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{})
	mk := w.signedIn(t, "marketer")
	require.Contains(t, mk.getOK(Prefix+"/campaigns/new").body, `id="campaign-form"`)

	// A filter that does not compile is refused with its position; nothing is created.
	bad := campaignForm("Q3 wealth")
	bad.Set("expr", "tier == \n  \"A\" && nonsense > 3")
	r := mk.post(Prefix+"/campaigns", bad)
	require.Equal(t, http.StatusBadRequest, r.status)
	require.Contains(t, r.body, `id="form-errors"`)
	require.Regexp(t, `<div class="problem">2:\d+: [^<]*nonsense`, r.body)
	require.Contains(t, r.body, "nonsense &gt; 3</textarea>", "what was typed is kept")
	list, _, err := w.camps.List(w.ctx, campaigns.ListFilter{})
	require.NoError(t, err)
	require.Empty(t, list)

	// The live count and sample of the form, with the template rendered per channel.
	r = mk.post(Prefix+"/campaigns/preview", url.Values{"expr": {`"retail" in tags`}, "template": {"campaign.wealth"}, "vars": {`{"product": "鸿运三号"}`}})
	require.Equal(t, http.StatusOK, r.status, r.body)
	require.Contains(t, r.body, `<p id="live-count"><strong>2</strong>`)
	require.Contains(t, r.body, "138****5671", "the sample is masked for a marketer")
	require.NotContains(t, r.body, "13812345671")
	require.Contains(t, r.body, "鸿运三号", "the campaign template is rendered with the variables typed")
	require.Contains(t, r.body, "SMS part(s)")
	r = mk.post(Prefix+"/campaigns/preview", url.Values{"expr": {`"retail" in tags`}, "template": {"campaign.wealth"}, "vars": {`{"product":`}})
	require.Contains(t, r.body, "not a JSON object")
	// Variables left empty: the preview says so and renders what would be sent,
	// never the template's sample value.
	r = mk.post(Prefix+"/campaigns/preview", url.Values{"expr": {`"retail" in tags`}, "template": {"campaign.wealth"}, "vars": {""}, "ch1": {"sms"}})
	require.Contains(t, r.body, `id="var-problems"`)
	require.Contains(t, r.body, `data-field="vars.product"`)
	require.NotContains(t, r.body, "稳健理财", "the template's sample is not shown")
	require.Contains(t, r.body, "<h3>sms · zh-CN</h3>")
	require.NotContains(t, r.body, "<h3>email", "only the channels chosen")
	r = mk.post(Prefix+"/campaigns/preview", url.Values{"expr": {"tier =="}})
	require.Contains(t, r.body, `class="problem" data-line="1"`)

	path := createCampaign(t, mk, campaignForm("Q3 wealth"))
	p := mk.getOK(path)
	require.Contains(t, p.body, `id="campaign-status">draft<`)
	require.Contains(t, p.body, `id="submit-campaign"`)
	require.NotContains(t, p.body, `id="approve-campaign"`)

	// Edit: only what changed is saved.
	edit := campaignForm("Q3 wealth, retail")
	r = mk.post(path, edit)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	cp, err := w.camps.Get(w.ctx, campaignID(t, path))
	require.NoError(t, err)
	require.Equal(t, "Q3 wealth, retail", cp.Name)
	require.Equal(t, 2, cp.Version)
	require.Equal(t, "09:00-20:00", cp.Window)
	require.Equal(t, "稳健理财", cp.Vars["product"])

	r = mk.post(path+"/submit", nil)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	p = mk.getOK(path)
	require.Contains(t, p.body, `id="campaign-status">awaiting approval<`)
	require.Contains(t, p.body, `id="review-audience">2<`)
	// The marketer has no approve button, and a direct POST is refused.
	require.NotContains(t, p.body, `id="approve-campaign"`)
	r = mk.post(path+"/approve", url.Values{"version": {"2"}})
	require.Equal(t, http.StatusForbidden, r.status)

	// A user who is marketer and approver but submitted... here: created it.
	both := w.signedIn(t, "both")
	own := createCampaign(t, both, campaignForm("own"))
	require.Equal(t, http.StatusSeeOther, both.post(own+"/submit", nil).status)
	p = both.getOK(own)
	require.NotContains(t, p.body, `id="approve-campaign"`)
	require.Contains(t, p.body, `id="authored-note"`)
	r = both.post(own+"/approve", nil)
	require.Equal(t, http.StatusForbidden, r.status)
	require.Contains(t, r.body, "second person")

	// The approver's dashboard lists what awaits them (not the one "both" authored).
	ap := w.signedIn(t, "approver")
	pending := section(t, ap.getOK(Prefix+"/").body, "pending")
	require.Contains(t, pending, "Q3 wealth, retail")
	require.Contains(t, pending, ">own<")
	require.NotContains(t, section(t, both.getOK(Prefix+"/").body, "pending"), ">own<", "its author is not asked")
	// The approver sees the buttons; a rejection needs a reason.
	p = ap.getOK(path)
	require.Contains(t, p.body, `id="approve-campaign"`)
	require.Equal(t, http.StatusBadRequest, ap.post(path+"/reject", nil).status)
	r = ap.post(path+"/approve", url.Values{"version": {"2"}})
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	cp, err = w.camps.Get(w.ctx, cp.ID)
	require.NoError(t, err)
	require.Equal(t, campaigns.StatusApproved, cp.Status)
	require.Equal(t, "console:approver", cp.ApprovedBy)

	// A test send to the bank's test account, by the approver too; an unknown
	// number or a customer is refused.
	require.Equal(t, http.StatusBadRequest, ap.post(path+"/test-send", url.Values{"contact": {"K3"}, "channel": {"sms"}}).status)
	_, err = w.db.Pool.Exec(w.ctx, `UPDATE contacts SET tags = tags || '{test}' WHERE external_id = 'K3'`)
	require.NoError(t, err)
	r = ap.post(path+"/test-send", url.Values{"contact": {"K3"}, "channel": {"sms"}})
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	require.Contains(t, ap.getOK(r.location).body, "Test message queued.")
	var tests int
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM messages WHERE source = 'campaign_test' AND test`).Scan(&tests))
	require.Equal(t, 1, tests)
	require.Equal(t, http.StatusBadRequest, mk.post(path+"/test-send", url.Values{"contact": {"NOPE"}}).status)
	require.Equal(t, http.StatusForbidden, w.signedIn(t, "auditor").post(path+"/test-send", url.Values{"contact": {"K3"}}).status)
	// An approver cannot start it; the marketer starts, pauses, resumes, cancels.
	require.Equal(t, http.StatusForbidden, ap.post(path+"/start", nil).status)
	require.Equal(t, http.StatusSeeOther, mk.post(path+"/start", nil).status)
	require.Contains(t, mk.getOK(path).body, `id="pause-campaign"`)
	require.Equal(t, http.StatusSeeOther, mk.post(path+"/pause", nil).status)
	require.Contains(t, mk.getOK(path).body, `id="campaign-status">paused<`)
	require.Equal(t, http.StatusSeeOther, ap.post(path+"/resume", nil).status, "an approver may resume")
	require.Equal(t, http.StatusConflict, mk.post(path+"/resume", nil).status, "not paused any more")
	r = mk.post(path+"/cancel", url.Values{"reason": {"budget moved"}})
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	p = mk.getOK(path)
	require.Contains(t, p.body, `id="campaign-status">cancelled<`)
	require.Contains(t, p.body, "budget moved")
	require.NotContains(t, p.body, `id="cancel-campaign"`)

	// The list shows both campaigns with their status; an auditor reads it but has no "new".
	au := w.signedIn(t, "auditor")
	p = au.getOK(Prefix + "/campaigns")
	require.Contains(t, p.body, "Q3 wealth, retail")
	require.Contains(t, p.body, `<span class="badge cancelled">cancelled</span>`)
	require.Contains(t, p.body, `<span class="badge submitted">awaiting approval</span>`)
	require.NotContains(t, p.body, `id="new-campaign"`)
	require.Equal(t, http.StatusForbidden, au.get(Prefix+"/campaigns/new").status)
	// A customer manager has no campaigns at all.
	require.Equal(t, http.StatusForbidden, w.signedIn(t, "mgr2").get(path).status)

	// The CSV export: one row per run.
	res := au.get(path + "/stats.csv")
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "text/csv; charset=utf-8", res.header.Get("Content-Type"))
	rows, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.Equal(t, "recipients", rows[0][5])
	require.Equal(t, "cancelled", rows[1][3])
}

// TestSecondApprovalThroughTheConsole: a campaign whose audience grew past
// the limit after approval is held at its start; only an approver who is not
// an author resumes it.
func TestSecondApprovalThroughTheConsole(t *testing.T) {
	t.Parallel()
	w := newWorld(t, worldOpts{live: true, secondApproval: 2})
	mk, ap := w.signedIn(t, "marketer"), w.signedIn(t, "approver")
	form := campaignForm("grows")
	form.Del("window") // send at any hour
	path := createCampaign(t, mk, form)
	require.Equal(t, http.StatusSeeOther, mk.post(path+"/submit", nil).status)
	require.Equal(t, http.StatusSeeOther, ap.post(path+"/approve", nil).status)
	// A third retail customer arrives after the approval.
	_, err := w.contacts.ImportContacts(w.ctx, strings.NewReader("external_id,name,phone,tags,consent_sms\nK9,新客,13812340009,retail,yes\n"),
		contacts.ImportOptions{Actor: audit.Actor{Name: "test"}, SourceName: "k9.csv"})
	require.NoError(t, err)
	require.Equal(t, http.StatusSeeOther, mk.post(path+"/start", nil).status)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(mk.getOK(path).body, `id="second-approval"`) {
		if time.Now().After(deadline) {
			t.Fatalf("not held for a second approval:\n%s", regexp.MustCompile(`(?s)<section class="card" id="(campaign|history)">.*?</section>`).FindAllString(mk.getOK(path).body, -1))
		}
		time.Sleep(200 * time.Millisecond)
	}
	p := mk.getOK(path)
	require.Contains(t, p.body, `id="campaign-status">paused<`)
	require.NotContains(t, p.body, `id="resume-campaign"`)
	require.Equal(t, http.StatusForbidden, mk.post(path+"/resume", nil).status)
	require.Contains(t, ap.getOK(path).body, `id="resume-campaign"`)
	r := ap.post(path+"/resume", nil)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	deadline = time.Now().Add(30 * time.Second)
	for !strings.Contains(mk.getOK(path).body, `id="campaign-status">completed<`) {
		if time.Now().After(deadline) {
			t.Fatalf("not completed:\n%s", regexp.MustCompile(`(?s)<section class="card" id="(funnel|history)">.*?</section>`).FindAllString(mk.getOK(path).body, -1))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
