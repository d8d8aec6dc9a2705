package console

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"carillon/campaigns"
	"carillon/campaigns/segment"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/identity"
	"carillon/templates"
)

// campaignActions names the permission each campaign action needs.
var campaignActions = map[string]identity.Perm{
	"submit": identity.PermCampaignsWrite, "start": identity.PermCampaignsWrite, "cancel": identity.PermCampaignsWrite,
	"approve": identity.PermCampaignsApprove, "reject": identity.PermCampaignsApprove,
	"pause": identity.PermCampaignsOperate, "resume": identity.PermCampaignsOperate,
}

func (c *Console) campaignRoutes() {
	if c.deps.Campaigns == nil {
		return
	}
	c.page("GET "+Prefix+"/campaigns", identity.PermCampaignsRead, c.campaignList)
	c.page("GET "+Prefix+"/campaigns/calendar", identity.PermCampaignsRead, c.campaignCalendar)
	c.page("GET "+Prefix+"/campaigns/new", identity.PermCampaignsWrite, c.campaignNew)
	c.page("POST "+Prefix+"/campaigns", identity.PermCampaignsWrite, c.campaignCreate)
	c.page("POST "+Prefix+"/campaigns/preview", identity.PermCampaignsWrite, c.campaignPreview)
	c.page("POST "+Prefix+"/campaigns/var-fields", identity.PermCampaignsWrite, c.campaignVarFields)
	c.page("POST "+Prefix+"/campaigns/schedule", identity.PermCampaignsWrite, c.campaignSchedule)
	c.page("GET "+Prefix+"/campaigns/{id}", identity.PermCampaignsRead, c.campaignPage)
	c.page("GET "+Prefix+"/campaigns/{id}/edit", identity.PermCampaignsWrite, c.campaignEdit)
	c.page("POST "+Prefix+"/campaigns/{id}", identity.PermCampaignsWrite, c.campaignUpdate)
	c.page("GET "+Prefix+"/campaigns/{id}/stats.csv", identity.PermCampaignsRead, c.campaignCSV)
	c.page("POST "+Prefix+"/campaigns/{id}/test-send", identity.PermCampaignsOperate, c.campaignTestSend)
	for action, perm := range campaignActions {
		c.page("POST "+Prefix+"/campaigns/{id}/"+action, perm, c.campaignAction(action))
	}
}

func campaignBy(r *http.Request, q *req) campaigns.By {
	return campaigns.By{Actor: q.actor(r), Roles: q.P.User.Roles}
}

// funnel is a campaign's (or a run's) way from audience to clicks.
type funnel struct {
	Audience, Recipients, Written int64
	delivery.Tally
	Opened, Clicked int64
}

// Handed is what reached a provider (sent with or without a receipt since).
func (f funnel) Handed() int64 { return f.Sent + f.Delivered }

func (f *funnel) add(g funnel) {
	f.Audience += g.Audience
	f.Recipients += g.Recipients
	f.Written += g.Written
	f.Tally.Plus(g.Tally)
	f.Opened += g.Opened
	f.Clicked += g.Clicked
}

type runRow struct {
	ID         int64
	CampaignID int64
	Status     string
	FireAt     time.Time
	FinishedAt *time.Time
	Held       int64
	F          funnel
}

// runs reads the runs of the campaigns with their messages by status; with
// tracking, the opens and clicks too (one campaign's page, not the list).
func (c *Console) runs(ctx context.Context, ids []int64, tracking bool) ([]runRow, error) {
	summaries, err := c.deps.Campaigns.RunSummaries(ctx, ids)
	if err != nil {
		return nil, err
	}
	var out []runRow
	for _, rs := range summaries {
		out = append(out, runRow{ID: rs.ID, CampaignID: rs.CampaignID, Status: string(rs.Status), FireAt: rs.FireAt, FinishedAt: rs.FinishedAt,
			Held: rs.Held, F: funnel{Audience: rs.Audience, Recipients: rs.Recipients, Written: rs.Enqueued}})
	}
	if len(out) == 0 || c.deps.Delivery == nil {
		return out, nil // no outbox: no messages to count
	}
	byID := map[string]*runRow{}
	sids := make([]string, len(out))
	for i := range out {
		sids[i] = strconv.FormatInt(out[i].ID, 10)
		byID[sids[i]] = &out[i]
	}
	counts, err := c.deps.Delivery.SourceStatusCounts(ctx, campaigns.SourceRun, sids)
	if err != nil {
		return nil, fmt.Errorf("campaign messages: %w", err)
	}
	for _, sc := range counts {
		byID[sc.SourceID].F.Add(sc.Status, sc.N)
	}
	if !tracking {
		return out, nil
	}
	eng, err := c.deps.Delivery.SourceEngagement(ctx, campaigns.SourceRun, sids)
	if err != nil {
		return nil, fmt.Errorf("campaign opens: %w", err)
	}
	for _, e := range eng {
		byID[e.SourceID].F.Opened, byID[e.SourceID].F.Clicked = e.Opened, e.Clicked
	}
	return out, nil
}

type listRow struct {
	C campaigns.Campaign
	F funnel
}

type campaignListData struct {
	Rows     []listRow
	F        campaignFilter
	Statuses []campaigns.Status
	Total    int64
	Pages    pager
	CanWrite bool
}

var allStatuses = campaigns.Statuses

// campaignFilter is the campaign list's search as the URL carries it (a GET
// form): a part of the name, a status, the user's own campaigns only, and
// date ranges (YYYY-MM-DD, both ends included, in the console's zone) on
// when campaigns were created and when they run.
type campaignFilter struct {
	Name                       string
	Status                     string
	Mine                       bool
	CreatedFrom, CreatedTo     string
	ScheduledFrom, ScheduledTo string
	createdFrom, createdTo     *time.Time
	scheduledFrom, scheduledTo *time.Time
}

// values is the filter as query parameters (only what is set).
func (f campaignFilter) values() url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"name": f.Name, "status": f.Status, "created_from": f.CreatedFrom, "created_to": f.CreatedTo,
		"scheduled_from": f.ScheduledFrom, "scheduled_to": f.ScheduledTo} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if f.Mine {
		v.Set("mine", "1")
	}
	return v
}

// campaignFilterOf reads and checks the list's filter from the query.
func (c *Console) campaignFilterOf(v url.Values) (campaignFilter, error) {
	f := campaignFilter{Name: strings.TrimSpace(v.Get("name")), Status: v.Get("status"), Mine: v.Get("mine") == "1",
		CreatedFrom: v.Get("created_from"), CreatedTo: v.Get("created_to"), ScheduledFrom: v.Get("scheduled_from"), ScheduledTo: v.Get("scheduled_to")}
	if len(f.Name) > 100 {
		return f, badRequest("the search is longer than 100 characters")
	}
	if f.Status != "" && !slices.Contains(allStatuses, campaigns.Status(f.Status)) {
		return f, badRequest("unknown status")
	}
	day := func(s string, next bool) (*time.Time, error) {
		if s == "" {
			return nil, nil
		}
		t, err := time.ParseInLocation(time.DateOnly, s, c.loc)
		if err != nil {
			return nil, badRequest("must be a date (YYYY-MM-DD): " + s)
		}
		if next { // the range's end day is included
			t = t.AddDate(0, 0, 1)
		}
		return &t, nil
	}
	var err error
	if f.createdFrom, err = day(f.CreatedFrom, false); err != nil {
		return f, err
	}
	if f.createdTo, err = day(f.CreatedTo, true); err != nil {
		return f, err
	}
	if f.scheduledFrom, err = day(f.ScheduledFrom, false); err != nil {
		return f, err
	}
	if f.scheduledTo, err = day(f.ScheduledTo, true); err != nil {
		return f, err
	}
	return f, nil
}

// campaignListMaxPage bounds the page number of the campaign list.
const campaignListMaxPage = 10_000

func (c *Console) campaignList(w http.ResponseWriter, r *http.Request, q *req) error {
	v := r.URL.Query()
	f, err := c.campaignFilterOf(v)
	if err != nil {
		return err
	}
	page := 1
	if p := v.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > campaignListMaxPage {
			return badRequest(fmt.Sprintf("must be a number from 1 to %d: page", campaignListMaxPage))
		}
		page = n
	}
	s := campaigns.Search{Name: f.Name, CreatedFrom: f.createdFrom, CreatedTo: f.createdTo, ScheduledFrom: f.scheduledFrom, ScheduledTo: f.scheduledTo,
		Offset: (page - 1) * DefaultPageSize, Limit: DefaultPageSize}
	if f.Status != "" {
		s.Statuses = []campaigns.Status{campaigns.Status(f.Status)}
	}
	if f.Mine {
		s.CreatedBy = q.P.User.ID
	}
	found, err := c.deps.Campaigns.Search(r.Context(), s)
	if err != nil {
		return err
	}
	list := found.Campaigns
	d := campaignListData{F: f, Statuses: allStatuses, Total: found.Total, CanWrite: q.P.Can(identity.PermCampaignsWrite)}
	ids := make([]int64, len(list))
	for i, cp := range list {
		ids[i] = cp.ID
	}
	runs, err := c.runs(r.Context(), ids, false)
	if err != nil {
		return err
	}
	by := map[int64]*funnel{}
	for _, cp := range list {
		d.Rows = append(d.Rows, listRow{C: cp})
	}
	for i := range d.Rows {
		by[d.Rows[i].C.ID] = &d.Rows[i].F
		if rv := d.Rows[i].C.Review; rv != nil {
			d.Rows[i].F.Audience = rv.Audience
		}
	}
	for _, rr := range runs {
		f := by[rr.CampaignID]
		g := rr.F
		g.Audience = 0 // the review's audience stands for the campaign
		f.add(g)
	}
	d.Pages = pagerOf(int(found.Total), page, DefaultPageSize, f.values(), "page", "campaign-list")
	c.render(w, r, q, http.StatusOK, "campaigns", "camp.title", d)
	return nil
}

// campaignForm is the create and edit form, as typed.
type campaignForm struct {
	ID          int64
	Version     int
	Name        string
	SegmentName string
	Expr        string
	Template    string
	Ch          [3]string
	Kind        string
	At          string // datetime-local, in the console's zone
	Cron        string
	Window      string
	Throttle    string
	EndsAt      string
	Notes       string
	Vars        string
	Errors      map[string][]string
	// The schedule picker (campaign_form.go): repeat, time, day of month, days of week.
	Every, RTime, DOM    string
	DOW                  []string
	WindowFrom, WindowTo string
	typedVars            map[string]string
	VarFields            varFieldsData
	Sched                scheduleData
	// Choices.
	Segments  []segment.Saved
	Templates []templates.Template
	Channels  []string
	CSRF      string
}

const localLayout = "2006-01-02T15:04"

func (c *Console) formOf(cp campaigns.Campaign) campaignForm {
	f := campaignForm{ID: cp.ID, Version: cp.Version, Name: cp.Name, SegmentName: cp.SegmentName, Expr: cp.Segment, Template: cp.Template,
		Kind: cp.Schedule.Kind, Cron: cp.Schedule.Cron, Window: cp.Window, Notes: cp.Notes}
	if cp.SegmentName != "" {
		f.Expr = ""
	}
	for i, ch := range cp.Channels {
		if i < 3 {
			f.Ch[i] = ch
		}
	}
	if cp.Schedule.At != nil {
		f.At = cp.Schedule.At.In(c.loc).Format(localLayout)
	}
	if cp.EndsAt != nil {
		f.EndsAt = cp.EndsAt.In(c.loc).Format(localLayout)
	}
	if cp.Throttle > 0 {
		f.Throttle = strconv.Itoa(cp.Throttle)
	}
	f.Vars = varsText(cp.Vars)
	f.Every, f.RTime, f.DOM, f.DOW = pickerOf(cp.Schedule.Cron)
	f.WindowFrom, f.WindowTo = splitWindow(cp.Window)
	return f
}

func formFromRequest(r *http.Request) campaignForm {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := campaignForm{Name: v("name"), SegmentName: v("segment_name"), Expr: strings.ReplaceAll(r.PostFormValue("expr"), "\r\n", "\n"),
		Template: v("template"), Kind: v("kind"), At: v("at"), Cron: v("cron"), Window: v("window"), Throttle: v("throttle"),
		EndsAt: v("ends_at"), Notes: strings.TrimSpace(r.PostFormValue("notes")), Vars: strings.TrimSpace(r.PostFormValue("vars"))}
	f.Ch = [3]string{v("ch1"), v("ch2"), v("ch3")}
	f.Every, f.RTime, f.DOM, f.DOW = v("every"), v("rtime"), v("dom"), r.PostForm["dow"]
	f.WindowFrom, f.WindowTo = v("window_from"), v("window_to")
	return f
}

// readForm reads the posted form: the variables' inputs into the vars JSON,
// the picker's schedule into the cron spec, the window's pickers into the
// window; errors filed by field.
func (c *Console) readForm(r *http.Request, q *req) (campaignForm, map[string][]string, error) {
	f := formFromRequest(r)
	errs := map[string][]string{}
	f.Window = windowOf(r, q.Lang, errs)
	if f.Kind == "cron" && f.Every != "" && f.Every != "custom" {
		spec, msg := c.pickerCron(q.Lang, f)
		if msg != "" {
			errs["schedule.cron"] = append(errs["schedule.cron"], msg)
		}
		f.Cron = spec
	}
	err := c.mergeVarInputs(r.Context(), r, q.Lang, &f, errs)
	return f, errs, err
}

// input turns the form into a campaigns.Input: everything set, or, editing
// cur, only what differs from it (an edit bumps the version).
func (c *Console) input(f campaignForm, cur *campaigns.Campaign) (campaigns.Input, map[string][]string) {
	errs := map[string][]string{}
	in := campaigns.Input{}
	was := campaignForm{}
	if cur != nil {
		was = c.formOf(*cur)
	}
	set := func(now, before string) bool { return cur == nil || now != before }
	if set(f.Name, was.Name) {
		in.Name = &f.Name
	}
	if f.SegmentName != "" {
		if set(f.SegmentName, was.SegmentName) {
			in.Segment = &f.SegmentName
		}
	} else if cur == nil || was.SegmentName != "" || f.Expr != was.Expr {
		in.Expression = &f.Expr
	}
	if set(f.Template, was.Template) {
		in.Template = &f.Template
	}
	var chans []string
	for _, ch := range f.Ch {
		if ch != "" {
			chans = append(chans, ch)
		}
	}
	if cur == nil || !slices.Equal(chans, cur.Channels) {
		in.Channels = &chans
	}
	sched := campaigns.Schedule{Kind: f.Kind, Cron: f.Cron}
	if f.Kind == "at" && f.At != "" {
		at, err := time.ParseInLocation(localLayout, f.At, c.loc)
		if err != nil {
			errs["schedule.at"] = append(errs["schedule.at"], "not a date and time")
		} else {
			sched.At = &at
		}
	}
	if f.Kind != "cron" {
		sched.Cron = ""
	}
	if cur == nil || f.Kind != was.Kind || f.At != was.At || f.Cron != was.Cron {
		in.Schedule = &sched
	}
	switch {
	case f.Window == "" && cur != nil && was.Window != "":
		in.Clear = append(in.Clear, "window")
	case f.Window != "" && set(f.Window, was.Window):
		in.Window = &f.Window
	}
	if set(f.Throttle, was.Throttle) {
		n := 0
		if f.Throttle != "" {
			var err error
			if n, err = strconv.Atoi(f.Throttle); err != nil {
				errs["throttle"] = append(errs["throttle"], "a whole number of messages per second")
			}
		}
		in.Throttle = &n
	}
	switch {
	case f.EndsAt == "" && cur != nil && was.EndsAt != "":
		in.Clear = append(in.Clear, "ends_at")
	case f.EndsAt != "" && set(f.EndsAt, was.EndsAt):
		at, err := time.ParseInLocation(localLayout, f.EndsAt, c.loc)
		if err != nil {
			errs["ends_at"] = append(errs["ends_at"], "not a date and time")
		} else {
			in.EndsAt = &at
		}
	}
	if set(f.Notes, was.Notes) {
		in.Notes = &f.Notes
	}
	if set(f.Vars, was.Vars) {
		vars := map[string]any{}
		if f.Vars != "" {
			if err := json.Unmarshal([]byte(f.Vars), &vars); err != nil {
				errs["vars"] = append(errs["vars"], "a JSON object: "+err.Error())
			}
		}
		in.Vars = vars
	}
	return in, errs
}

// fillChoices adds the form's choices: saved segments and marketing templates.
func (c *Console) fillChoices(ctx context.Context, q *req, f *campaignForm) error {
	segs, err := c.deps.Campaigns.Segments().List(ctx)
	if err != nil {
		return err
	}
	f.Segments = segs
	if c.deps.Templates != nil {
		list, err := c.deps.Templates.List(ctx)
		if err != nil {
			return err
		}
		for _, t := range list {
			if t.Purpose == templates.Marketing {
				f.Templates = append(f.Templates, t)
			}
		}
	}
	f.Channels = []string{contacts.ChannelSMS, contacts.ChannelEmail, contacts.ChannelWeChat}
	f.CSRF = q.Sess.CSRF
	decl, err := c.declaredVars(ctx, f.Template)
	if err != nil {
		return err
	}
	f.VarFields = varFieldsData{Fields: varFields(q.Lang, decl, f.Vars, f.typedVars, f.Errors), Lang: q.Lang}
	if f.Every == "" {
		f.Every = "custom"
		if f.Cron == "" {
			f.Every = "weekly"
		}
	}
	f.Sched = c.scheduleOf(q.Lang, *f)
	return nil
}

func (c *Console) showForm(w http.ResponseWriter, r *http.Request, q *req, status int, f campaignForm) error {
	f.Errors = trFieldErrors(q.Lang, f.Errors)
	if err := c.fillChoices(r.Context(), q, &f); err != nil {
		return err
	}
	title := "camp.new"
	if f.ID != 0 {
		title = "camp.edit"
	}
	c.render(w, r, q, status, "campaign_form", title, f)
	return nil
}

func mergeErrs(into, more map[string][]string) {
	for k, v := range more {
		into[k] = append(into[k], v...)
	}
}

func (c *Console) campaignNew(w http.ResponseWriter, r *http.Request, q *req) error {
	return c.showForm(w, r, q, http.StatusOK, campaignForm{Kind: "now", Ch: [3]string{contacts.ChannelSMS}, SegmentName: r.URL.Query().Get("segment")})
}

// formErrors files a validation error's fields under the form's inputs.
func formErrors(err error, into map[string][]string) bool {
	var ve *contacts.ValidationError
	if !errors.As(err, &ve) {
		return false
	}
	for _, fe := range ve.Fields {
		into[fe.Field] = append(into[fe.Field], fe.Message)
	}
	return true
}

func (c *Console) campaignCreate(w http.ResponseWriter, r *http.Request, q *req) error {
	f, errs, err := c.readForm(r, q)
	if err != nil {
		return err
	}
	in, more := c.input(f, nil)
	mergeErrs(errs, more)
	if len(errs) == 0 {
		cp, err := c.deps.Campaigns.Create(r.Context(), campaignBy(r, q), in)
		if err == nil {
			seeOther(w, r, fmt.Sprintf("%s/campaigns/%d", Prefix, cp.ID), "created")
			return nil
		}
		if !formErrors(err, errs) {
			return err
		}
	}
	f.Errors = errs
	return c.showForm(w, r, q, http.StatusBadRequest, f)
}

func (c *Console) campaignOf(r *http.Request) (campaigns.Campaign, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return campaigns.Campaign{}, notFound()
	}
	cp, err := c.deps.Campaigns.Get(r.Context(), id)
	if err != nil {
		return cp, err
	}
	return cp, nil
}

func (c *Console) campaignEdit(w http.ResponseWriter, r *http.Request, q *req) error {
	cp, err := c.campaignOf(r)
	if err != nil {
		return err
	}
	return c.showForm(w, r, q, http.StatusOK, c.formOf(cp))
}

func (c *Console) campaignUpdate(w http.ResponseWriter, r *http.Request, q *req) error {
	cp, err := c.campaignOf(r)
	if err != nil {
		return err
	}
	f, errs, err := c.readForm(r, q)
	if err != nil {
		return err
	}
	f.ID, f.Version = cp.ID, cp.Version
	in, more := c.input(f, &cp)
	mergeErrs(errs, more)
	if len(errs) == 0 {
		_, err := c.deps.Campaigns.Update(r.Context(), campaignBy(r, q), cp.ID, in)
		if err == nil {
			seeOther(w, r, fmt.Sprintf("%s/campaigns/%d", Prefix, cp.ID), "saved")
			return nil
		}
		if !formErrors(err, errs) {
			return err
		}
	}
	f.Errors = errs
	return c.showForm(w, r, q, http.StatusBadRequest, f)
}

type campaignData struct {
	C        campaigns.Campaign
	History  []campaigns.Event
	Fun      funnelData
	Cost     string
	Can      map[string]bool
	Authored bool
	// SecondApproval: the run is held until an approver who is not an author resumes it.
	SecondApproval bool
}

// authored reports whether user uid created, edited or submitted the
// campaign: such a user may not approve it (the service refuses it too).
func (c *Console) authored(ctx context.Context, id, uid int64) (bool, error) {
	return c.deps.Campaigns.Authored(ctx, id, uid)
}

func (c *Console) campaignPage(w http.ResponseWriter, r *http.Request, q *req) error {
	cp, err := c.campaignOf(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	d := campaignData{C: cp, Can: map[string]bool{}}
	if d.History, err = c.deps.Campaigns.History(ctx, cp.ID); err != nil {
		return err
	}
	if d.Fun, err = c.funnelOf(ctx, q.Lang, cp); err != nil {
		return err
	}
	if cp.Review != nil {
		d.Cost = costText(q.Lang, cp.Review.Cost)
	}
	if d.Authored, err = c.authored(ctx, cp.ID, q.P.User.ID); err != nil {
		return err
	}
	st := cp.Status
	writer := q.P.Can(identity.PermCampaignsWrite)
	d.Can["edit"] = writer && st.Can(campaigns.ActionEdit)
	d.Can["submit"] = writer && st.Can(campaigns.ActionSubmit)
	d.Can["approve"] = q.P.Can(identity.PermCampaignsApprove) && !d.Authored && st.Can(campaigns.ActionApprove)
	d.Can["reject"] = d.Can["approve"]
	d.Can["start"] = writer && st.Can(campaigns.ActionStart)
	d.Can["pause"] = q.P.Can(identity.PermCampaignsOperate) && st.Can(campaigns.ActionPause)
	// A run whose audience grew past the second-approval limit is paused by
	// the system and resumes only by an approver who is not an author.
	for _, e := range d.History {
		switch campaigns.Action(e.Action) {
		case campaigns.ActionHold:
			d.SecondApproval = true
		case campaigns.ActionPause, campaigns.ActionResume:
			d.SecondApproval = false
		}
	}
	d.SecondApproval = d.SecondApproval && st == campaigns.StatusPaused
	if d.SecondApproval {
		d.Can["resume"] = q.P.Can(identity.PermCampaignsApprove) && !d.Authored
	} else {
		d.Can["resume"] = q.P.Can(identity.PermCampaignsOperate) && st.Can(campaigns.ActionResume)
	}
	d.Can["cancel"] = writer && st.Can(campaigns.ActionCancel)
	d.Can["test"] = q.P.Can(identity.PermCampaignsOperate) && st.Can(campaigns.ActionTestSend)
	c.render(w, r, q, http.StatusOK, "campaign", "camp.page_title", d)
	return nil
}

// campaignAction runs one lifecycle step. The route's roles are checked
// before, and the campaigns package checks again (an approver who authored
// the campaign is refused there).
func (c *Console) campaignAction(action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, q *req) error {
		cp, err := c.campaignOf(r)
		if err != nil {
			return err
		}
		svc, by, ctx := c.deps.Campaigns, campaignBy(r, q), r.Context()
		reason := strings.TrimSpace(r.PostFormValue("reason"))
		switch action {
		case "submit":
			_, err = svc.Submit(ctx, by, cp.ID)
		case "approve":
			v, _ := strconv.Atoi(r.PostFormValue("version"))
			_, err = svc.ApproveWithComment(ctx, by, cp.ID, v, r.PostFormValue("comment"))
		case "reject":
			_, err = svc.Reject(ctx, by, cp.ID, reason)
		case "start":
			_, err = svc.Start(ctx, by, cp.ID)
		case "pause":
			_, err = svc.Pause(ctx, by, cp.ID)
		case "resume":
			_, err = svc.Resume(ctx, by, cp.ID)
		case "cancel":
			_, err = svc.Cancel(ctx, by, cp.ID, reason)
		}
		if err != nil {
			var ve *contacts.ValidationError
			if errors.As(err, &ve) {
				return badRequest(ve.Error())
			}
			return err
		}
		notice := map[string]string{"submit": "submitted", "approve": "approved", "reject": "rejected", "start": "started",
			"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[action]
		seeOther(w, r, fmt.Sprintf("%s/campaigns/%d", Prefix, cp.ID), notice)
		return nil
	}
}

// previewData is the live part of the campaign form: the segment's count and
// a masked sample, and the template rendered for the first sample contact on
// each channel with the SMS parts.
type previewData struct {
	Count     int64
	Estimated bool
	Sample    []contacts.Contact
	Problems  []segment.Problem
	Error     string
	Rendered  []templates.Rendered
	RenderErr string
	// VarProblems are the campaign variables that stop it from being submitted.
	VarProblems []contacts.FieldError
	Lang        string
}

func (p previewData) T(key string) string { return tr(p.Lang, key) }

func (p previewData) Tf(key string, args ...any) string { return fmt.Sprintf(tr(p.Lang, key), args...) }

// campaignPreview answers the form's fetch with an HTML fragment.
func (c *Console) campaignPreview(w http.ResponseWriter, r *http.Request, q *req) error {
	if done, err := emptySegmentHint(w, r, q.Lang); done {
		return err
	}
	expr := r.PostFormValue("expr")
	if name := strings.TrimSpace(r.PostFormValue("segment_name")); name != "" {
		sv, err := c.deps.Campaigns.Segments().GetByName(r.Context(), name)
		if err != nil && !errors.Is(err, segment.ErrNotFound) {
			return err
		}
		expr = sv.Expression
	}
	d := previewData{Lang: q.Lang}
	seg, err := segment.Compile(expr)
	var se *segment.Error
	switch {
	case errors.As(err, &se):
		d.Problems = se.Problems
	case err != nil:
		d.Error = err.Error()
	default:
		p, err := c.deps.Campaigns.Segments().Preview(r.Context(), seg, 0)
		if errors.As(err, &se) { // an attribute compared with the wrong type
			d.Problems = se.Problems
			break
		}
		if err != nil {
			return err
		}
		d.Count, d.Estimated = p.Count, p.Estimated
		for i, ct := range p.Sample {
			if i == 5 {
				break
			}
			d.Sample = append(d.Sample, show(q.P, ct))
		}
	}
	if key := strings.TrimSpace(r.PostFormValue("template")); key != "" {
		// Rendered as the review and the run render it: with the campaign's own
		// variables as typed (none typed: none given), never the template's samples.
		in := campaigns.PreviewInput{Template: key, Vars: map[string]any{}}
		for _, name := range []string{"ch1", "ch2", "ch3"} {
			if ch := r.PostFormValue(name); ch != "" && !slices.Contains(in.Channels, ch) {
				in.Channels = append(in.Channels, ch)
			}
		}
		if js := strings.TrimSpace(r.PostFormValue("vars")); js != "" {
			if err := json.Unmarshal([]byte(js), &in.Vars); err != nil {
				d.RenderErr = tr(q.Lang, "camp.vars_invalid") + ": " + err.Error()
			}
		}
		// The first contact of the segment's sample; the sample contact when it has none.
		in.Contact = contacts.SampleContact(q.Lang)
		if len(d.Sample) > 0 {
			in.Contact = d.Sample[0]
		}
		if d.RenderErr == "" {
			pv, err := c.deps.Campaigns.Preview(r.Context(), in)
			if err != nil {
				d.RenderErr = err.Error()
			} else {
				d.Rendered, d.VarProblems = pv.Rendered, pv.Problems
			}
		}
	}
	t := c.pages["campaign_preview"]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return t.ExecuteTemplate(w, "preview", d)
}

// campaignCSV exports the funnel of each run.
func (c *Console) campaignCSV(w http.ResponseWriter, r *http.Request, q *req) error {
	cp, err := c.campaignOf(r)
	if err != nil {
		return err
	}
	runs, err := c.runs(r.Context(), []int64{cp.ID}, true)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="campaign-%d.csv"`, cp.ID))
	cw := csv.NewWriter(w)
	_ = cw.Write(c.csvHeader(q.Lang, []string{"campaign_id", "run_id", "fire_at", "status", "audience", "recipients", "written", "queued", "sent", "delivered",
		"failed", "suppressed", "cancelled", "opened", "clicked"}))
	for _, rr := range runs {
		f := rr.F
		_ = cw.Write([]string{strconv.FormatInt(cp.ID, 10), strconv.FormatInt(rr.ID, 10), c.csvTime(rr.FireAt), c.csvRunStatus(q.Lang, rr.Status),
			i64(f.Audience), i64(f.Recipients), i64(f.Written), i64(f.Queued), i64(f.Sent), i64(f.Delivered), i64(f.Failed),
			i64(f.Suppressed), i64(f.Cancelled), i64(f.Opened), i64(f.Clicked)})
	}
	cw.Flush()
	return cw.Error()
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }

// campaignTestSend sends the campaign's message to one customer (by customer
// number), marked as a test: outside the campaign's statistics, without the
// consent, cap and quiet-hour checks (the campaigns package's rules).
func (c *Console) campaignTestSend(w http.ResponseWriter, r *http.Request, q *req) error {
	cp, err := c.campaignOf(r)
	if err != nil {
		return err
	}
	ext := strings.TrimSpace(r.PostFormValue("contact"))
	if ext == "" {
		return badRequest("name the customer number to send the test to")
	}
	if _, err := c.deps.Campaigns.TestSend(r.Context(), campaignBy(r, q), cp.ID, ext, r.PostFormValue("channel")); err != nil {
		var ve *contacts.ValidationError
		if errors.As(err, &ve) {
			return badRequest(ve.Error())
		}
		return err
	}
	seeOther(w, r, fmt.Sprintf("%s/campaigns/%d", Prefix, cp.ID), "test_sent")
	return nil
}
