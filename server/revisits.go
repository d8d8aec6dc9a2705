package server

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"carillon/calendar"
	"carillon/contacts"
	"carillon/internal/identity"
	"carillon/revisits"
	"carillon/server/edge"
)

// revisitRoutes mounts the managers' side when the server has the service.
func (s *Server) revisitRoutes() {
	if s.deps.Revisits == nil {
		return
	}
	s.handle("POST /api/contacts/{id}/revisits", identity.PermRevisitsWrite, s.logRevisit)
	s.handle("GET /api/contacts/{id}/revisits", identity.PermRevisitsRead, s.listRevisits)
	s.handle("GET /api/revisits/due", identity.PermRevisitsRead, s.dueRevisits)
	s.handle("POST /api/reassignments", identity.PermRevisitsWrite, s.reassign)
	s.handle("GET /api/covers", identity.PermRevisitsRead, s.listCovers)
	s.handle("POST /api/covers", identity.PermRevisitsWrite, s.createCover)
	s.handle("DELETE /api/covers/{id}", identity.PermCoversCancel, s.cancelCover)
	s.handle("GET /api/reports/revisits", identity.PermReportsRead, s.revisitReport)
	s.handle("GET /api/revisit-cadences", identity.PermSignedIn, s.getCadences)
	s.handle("PUT /api/revisit-cadences/{tier}", identity.PermSettingsWrite, s.putCadence)
	s.handle("GET /api/revisit-alert-rules", identity.PermSignedIn, s.listAlertRules)
	s.handle("PUT /api/revisit-alert-rules/{key}", identity.PermSettingsWrite, s.putAlertRule)
	s.handle("POST /api/feedback", identity.PermRevisitsWrite, s.createFeedback)
	s.handle("GET /api/feedback", identity.PermRevisitsRead, s.listFeedback)
	s.handle("GET /api/feedback/weekly", identity.PermRevisitsRead, s.weeklyFeedback)
	s.handle("GET /api/feedback/{id}", identity.PermRevisitsRead, s.getFeedback)
	s.handle("PATCH /api/feedback/{id}", identity.PermRevisitsWrite, s.updateFeedback)
}

// queryDate reads a YYYY-MM-DD query parameter; zero when absent.
func queryDate(r *http.Request, name string) (calendar.Date, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return calendar.Date{}, nil
	}
	d, err := calendar.ParseDate(v)
	if err != nil {
		return d, badRequest("%s: %q is not a YYYY-MM-DD date", name, v)
	}
	return d, nil
}

// revisitScope is the caller's contact scope widened by the colleagues they
// cover today: a manager covering a colleague on leave works their customers.
func (s *Server) revisitScope(r *http.Request) (contacts.Scope, error) {
	sc := scope(principalOf(r))
	if !sc.Restricted || len(sc.ManagerIDs) == 0 {
		return sc, nil
	}
	covered, err := s.deps.Revisits.CoveredBy(r.Context(), sc.ManagerIDs, s.deps.Revisits.Today())
	if err != nil {
		return sc, err
	}
	sc.ManagerIDs = append(slices.Clone(sc.ManagerIDs), covered...)
	return sc, nil
}

// revisitContactID is contactID with the cover-widened scope.
func (s *Server) revisitContactID(r *http.Request) (int64, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, err
	}
	sc, err := s.revisitScope(r)
	if err != nil {
		return 0, err
	}
	if err := s.deps.Contacts.CheckScope(r.Context(), sc, id); err != nil {
		return 0, err
	}
	return id, nil
}

func (s *Server) logRevisit(w http.ResponseWriter, r *http.Request) error {
	id, err := s.revisitContactID(r)
	if err != nil {
		return err
	}
	var in revisits.RevisitInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	rv, err := s.deps.Revisits.LogRevisit(r.Context(), who(r), id, in, revisits.LogOptions{ByManagerID: principalOf(r).OwnManagerID()})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, rv)
	return nil
}

func (s *Server) listRevisits(w http.ResponseWriter, r *http.Request) error {
	id, err := s.revisitContactID(r)
	if err != nil {
		return err
	}
	limit, before, err := queryPage(r)
	if err != nil {
		return err
	}
	items, err := s.deps.Revisits.Revisits(r.Context(), id, before, limit)
	if err != nil {
		return err
	}
	var next int64
	if len(items) > 0 {
		next = edge.NextCursor(len(items), limit, 50, items[len(items)-1].ID)
	}
	writePage(w, items, next)
	return nil
}

// managersAsked resolves ?manager=CODE or ?team=NAME against the caller's
// scope: a customer manager may ask for themself, as a team lead their team,
// as a cover the colleague on leave; a manager outside the scope is 404. With neither, a restricted caller
// gets their scope and anyone else must name one.
func (s *Server) managersAsked(r *http.Request) ([]int64, error) {
	sc, err := s.revisitScope(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	var ids []int64
	switch {
	case q.Get("manager") != "":
		m, err := s.deps.Contacts.GetManager(r.Context(), q.Get("manager"))
		if err != nil {
			return nil, err
		}
		ids = []int64{m.ID}
	case q.Get("team") != "":
		ms, err := s.deps.Contacts.ListManagers(r.Context(), q.Get("team"))
		if err != nil {
			return nil, err
		}
		if len(ms) == 0 {
			return nil, contacts.ErrNotFound
		}
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
	case sc.Restricted:
		return slices.Clone(sc.ManagerIDs), nil
	default:
		return nil, badRequest("name a manager (?manager=CODE) or a team (?team=NAME)")
	}
	if sc.Restricted {
		for _, id := range ids {
			if !slices.Contains(sc.ManagerIDs, id) {
				return nil, contacts.ErrNotFound
			}
		}
	}
	return ids, nil
}

func (s *Server) dueRevisits(w http.ResponseWriter, r *http.Request) error {
	ids, err := s.managersAsked(r)
	if err != nil {
		return err
	}
	d, err := queryDate(r, "date")
	if err != nil {
		return err
	}
	ahead, err := queryInt(r, "ahead")
	if err != nil {
		return err
	}
	items, err := s.deps.Revisits.Due(r.Context(), revisits.DueOptions{ManagerIDs: ids, Day: d, Ahead: ahead})
	if err != nil {
		return err
	}
	if d.IsZero() {
		d = s.deps.Revisits.Today()
	}
	// Due days past the holiday data count weekends only: say so.
	chk := s.deps.Revisits.Calendar().CheckHolidayData(d, d.AddDays(max(ahead, 0)))
	writeJSON(w, http.StatusOK, map[string]any{"items": items, "holiday_data": chk.HolidayData,
		"missing_holiday_years": chk.Missing, "holiday_warning": chk.Warning})
	return nil
}

func (s *Server) getCadences(w http.ResponseWriter, r *http.Request) error {
	c, err := s.deps.Revisits.Cadences(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"days": c})
	return nil
}

func (s *Server) putCadence(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Days int `json:"days"`
	}
	if err := s.decode(w, r, &body); err != nil {
		return err
	}
	tier := r.PathValue("tier")
	if err := s.deps.Revisits.SetCadence(r.Context(), who(r), tier, body.Days); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"tier": tier, "days": body.Days})
	return nil
}

func feedbackScope(p identity.Principal) revisits.FeedbackScope {
	sc := scope(p)
	return revisits.FeedbackScope{Restricted: sc.Restricted, ManagerIDs: sc.ManagerIDs}
}

func (s *Server) createFeedback(w http.ResponseWriter, r *http.Request) error {
	var in revisits.FeedbackInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	if in.ContactID > 0 {
		if err := s.deps.Contacts.CheckScope(r.Context(), scope(principalOf(r)), in.ContactID); err != nil {
			return err
		}
	}
	fb, err := s.deps.Revisits.CreateFeedback(r.Context(), who(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, fb)
	return nil
}

func (s *Server) listFeedback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, after, err := queryPage(r)
	if err != nil {
		return err
	}
	f := revisits.FeedbackFilter{Scope: feedbackScope(principalOf(r)), Owner: q.Get("owner"), Category: q.Get("category"),
		State: q.Get("state"), After: after, Limit: limit}
	if v := q.Get("contact_id"); v != "" {
		if f.ContactID, err = strconv.ParseInt(v, 10, 64); err != nil || f.ContactID <= 0 {
			return badRequest("contact_id: %q is not a contact id", v)
		}
	}
	items, err := s.deps.Revisits.ListFeedback(r.Context(), f)
	if err != nil {
		return err
	}
	var next int64
	if len(items) > 0 {
		next = edge.NextCursor(len(items), limit, 50, items[len(items)-1].ID)
	}
	writePage(w, items, next)
	return nil
}

func (s *Server) getFeedback(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	fb, err := s.deps.Revisits.GetFeedback(r.Context(), feedbackScope(principalOf(r)), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fb)
	return nil
}

func (s *Server) updateFeedback(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var ch revisits.FeedbackChange
	if err := s.decode(w, r, &ch); err != nil {
		return err
	}
	fb, err := s.deps.Revisits.UpdateFeedback(r.Context(), who(r), feedbackScope(principalOf(r)), id, ch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fb)
	return nil
}

// weeklyFeedback is a team lead's weekly feedback summary: ?lead=CODE (a
// restricted caller: themself by default) and ?week=YYYY-MM-DD, the Monday of
// the week (default: last week).
func (s *Server) weeklyFeedback(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	lead := r.URL.Query().Get("lead")
	if lead == "" {
		lead = p.User.ManagerCode
	}
	if lead == "" {
		return badRequest("name the team lead (?lead=CODE)")
	}
	m, err := s.deps.Contacts.GetManager(r.Context(), lead)
	if err != nil {
		return err
	}
	if sc := scope(p); sc.Restricted && !slices.Contains(sc.ManagerIDs, m.ID) {
		return contacts.ErrNotFound
	}
	today := s.deps.Revisits.Today()
	week, err := queryDate(r, "week")
	if err != nil {
		return err
	}
	if week.IsZero() {
		week = revisits.WeekOf(today).AddDays(-7)
	}
	sums, err := s.deps.Revisits.WeeklySummaries(r.Context(), week, today, []string{lead})
	if err != nil {
		return err
	}
	sum, ok := sums[lead]
	if !ok {
		return &apiError{status: http.StatusNotFound, code: "not_found", msg: "no team is led by " + lead}
	}
	writeJSON(w, http.StatusOK, sum)
	return nil
}

func (s *Server) listAlertRules(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.deps.Revisits.AlertRules(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": rules})
	return nil
}

// putAlertRule creates or replaces a change alert rule (the path names it).
func (s *Server) putAlertRule(w http.ResponseWriter, r *http.Request) error {
	var rule revisits.AlertRule
	if err := s.decode(w, r, &rule); err != nil {
		return err
	}
	if rule.Key != "" && rule.Key != r.PathValue("key") {
		return badRequest("key: the body's %q differs from the path's %q", rule.Key, r.PathValue("key"))
	}
	rule.Key = r.PathValue("key")
	out, err := s.deps.Revisits.PutAlertRule(r.Context(), who(r), rule)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// inScope checks that a restricted caller's scope holds manager code (404
// otherwise).
func (s *Server) inScope(r *http.Request, code string) error {
	sc := scope(principalOf(r))
	if !sc.Restricted {
		return nil
	}
	m, err := s.deps.Contacts.GetManager(r.Context(), code)
	if err != nil {
		return err
	}
	if !slices.Contains(sc.ManagerIDs, m.ID) {
		return contacts.ErrNotFound
	}
	return nil
}

// reassign moves customers between managers; a team lead within their team.
func (s *Server) reassign(w http.ResponseWriter, r *http.Request) error {
	var in revisits.ReassignInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	fs := feedbackScope(principalOf(r))
	if fs.Restricted && in.To != "" {
		if err := s.inScope(r, in.To); err != nil {
			return err
		}
	}
	res, err := s.deps.Revisits.Reassign(r.Context(), who(r), &fs, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) listCovers(w http.ResponseWriter, r *http.Request) error {
	d, err := queryDate(r, "date")
	if err != nil {
		return err
	}
	if d.IsZero() {
		d = s.deps.Revisits.Today()
	}
	covers, err := s.deps.Revisits.Covers(r.Context(), d, feedbackScope(principalOf(r)))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": covers})
	return nil
}

// createCover records a leave and its cover; a team lead within their team.
func (s *Server) createCover(w http.ResponseWriter, r *http.Request) error {
	var in revisits.CoverInput
	if err := s.decode(w, r, &in); err != nil {
		return err
	}
	for _, code := range []string{in.Manager, in.Cover} {
		if code != "" {
			if err := s.inScope(r, code); err != nil {
				return err
			}
		}
	}
	cv, err := s.deps.Revisits.CreateCover(r.Context(), who(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, cv)
	return nil
}

func (s *Server) cancelCover(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.deps.Revisits.CancelCover(r.Context(), who(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revisitReport is the ranking: ?from=&to=&team=, JSON or ?format=csv. A
// customer manager sees the rows of their scope, with the ranks among all.
func (s *Server) revisitReport(w http.ResponseWriter, r *http.Request) error {
	from, err := queryDate(r, "from")
	if err != nil {
		return err
	}
	to, err := queryDate(r, "to")
	if err != nil {
		return err
	}
	p := principalOf(r)
	opts := revisits.ReportOptions{From: from, To: to, Team: r.URL.Query().Get("team")}
	if !p.HasAny(identity.RoleAdmin, identity.RoleAuditor) {
		opts.Scope = feedbackScope(p)
	}
	rep, err := s.deps.Revisits.RevisitReport(r.Context(), opts)
	if err != nil {
		return err
	}
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		writeJSON(w, http.StatusOK, rep)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="revisits-%s-%s.csv"`, rep.From, rep.To))
		return rep.WriteCSV(w)
	default:
		return badRequest("format: %q is not json or csv", f)
	}
	return nil
}
