package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"carillon/campaigns/segment"
	"carillon/internal/apperr"
	"carillon/internal/identity"
)

// Saved segments and the segment builder: rows of field, operator and value
// for people who do not write the filter language, rendered to the language
// and read back by campaigns/segment (Render, ParseRows), saved through its
// Store (which owns segments).

func (c *Console) segmentRoutes() {
	if c.deps.Campaigns == nil {
		return
	}
	c.page("GET "+Prefix+"/segments", identity.PermCampaignsRead, c.segmentList)
	c.page("GET "+Prefix+"/segments/new", identity.PermCampaignsWrite, c.segmentNew)
	c.page("GET "+Prefix+"/segments/fields", identity.PermCampaignsRead, c.segmentFields)
	c.page("POST "+Prefix+"/segments/rows", identity.PermCampaignsRead, c.segmentRows)
	c.page("POST "+Prefix+"/segments/preview", identity.PermSegmentsPreview, c.campaignPreview) // the campaign form's live count and sample
	c.page("POST "+Prefix+"/segments", identity.PermCampaignsWrite, c.segmentCreate)
	c.page("GET "+Prefix+"/segments/{id}", identity.PermCampaignsRead, c.segmentEdit)
	c.page("POST "+Prefix+"/segments/{id}", identity.PermCampaignsWrite, c.segmentUpdate)
}

type segmentListData struct {
	Rows     []segment.Saved
	CanWrite bool
}

func (c *Console) segmentList(w http.ResponseWriter, r *http.Request, q *req) error {
	list, err := c.deps.Campaigns.Segments().List(r.Context())
	if err != nil {
		return err
	}
	c.render(w, r, q, http.StatusOK, "segments", "seg.title", segmentListData{Rows: list, CanWrite: q.P.Can(identity.PermCampaignsWrite)})
	return nil
}

// segmentForm is the builder's page, as typed.
type segmentForm struct {
	ID          int64
	Name        string
	Description string
	Expr        string
	// RowsJSON is the builder's rows; Mode is "rows" when the rows are the
	// filter, "text" when the text is (too complex for rows, or no script).
	RowsJSON string
	Mode     string
	Complex  bool
	Errors   map[string][]string
	Problems []segment.Problem
	CanWrite bool
	CSRF     string
}

// withRows fills the rows from the form's text, when rows can say it.
func (f *segmentForm) withRows() {
	rs, err := segment.ParseRows(f.Expr)
	if err != nil {
		f.Mode, f.Complex, f.RowsJSON = "text", errors.Is(err, segment.ErrTooComplex), ""
		return
	}
	js, _ := json.Marshal(rs)
	f.Mode, f.RowsJSON = "rows", string(js)
}

func (c *Console) showSegmentForm(w http.ResponseWriter, r *http.Request, q *req, status int, f segmentForm) error {
	f.CSRF, f.CanWrite = q.Sess.CSRF, q.P.Can(identity.PermCampaignsWrite)
	title := "seg.new"
	if f.ID != 0 {
		title = "seg.edit"
	}
	c.render(w, r, q, status, "segment", title, f)
	return nil
}

func (c *Console) segmentNew(w http.ResponseWriter, r *http.Request, q *req) error {
	f := segmentForm{}
	f.withRows()
	return c.showSegmentForm(w, r, q, http.StatusOK, f)
}

func (c *Console) segmentOf(r *http.Request) (segment.Saved, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return segment.Saved{}, notFound()
	}
	return c.deps.Campaigns.Segments().Get(r.Context(), id)
}

func (c *Console) segmentEdit(w http.ResponseWriter, r *http.Request, q *req) error {
	sv, err := c.segmentOf(r)
	if err != nil {
		return err
	}
	f := segmentForm{ID: sv.ID, Name: sv.Name, Description: sv.Description, Expr: sv.Expression}
	f.withRows()
	return c.showSegmentForm(w, r, q, http.StatusOK, f)
}

// segmentFormOf reads the posted form. In rows mode the filter is the rows
// rendered here, whatever the text says; a row that cannot be rendered is
// an error under the builder.
func segmentFormOf(r *http.Request) segmentForm {
	f := segmentForm{Name: strings.TrimSpace(r.PostFormValue("name")), Description: strings.TrimSpace(r.PostFormValue("description")),
		Expr: strings.ReplaceAll(r.PostFormValue("expr"), "\r\n", "\n"), RowsJSON: r.PostFormValue("rows"), Mode: r.PostFormValue("mode"),
		Errors: map[string][]string{}}
	if f.Mode != "rows" {
		f.Mode = "text"
		return f
	}
	var rs segment.Rows
	if err := json.Unmarshal([]byte(f.RowsJSON), &rs); err != nil {
		f.Errors["rows"] = append(f.Errors["rows"], "the rows are not readable / 无法读取条件行")
		return f
	}
	expr, err := segment.Render(rs)
	if err != nil {
		f.Errors["rows"] = append(f.Errors["rows"], err.Error())
		return f
	}
	f.Expr = expr
	return f
}

// save creates or changes the segment; a refusal is filed under the form's fields.
func (c *Console) segmentSave(w http.ResponseWriter, r *http.Request, q *req, id int64) error {
	f := segmentFormOf(r)
	f.ID = id
	if len(f.Errors) == 0 && strings.TrimSpace(f.Expr) == "" {
		f.Errors["rows"] = append(f.Errors["rows"], tr(q.Lang, "seg.need_condition"))
	}
	if len(f.Errors) == 0 {
		in := segment.Input{Name: &f.Name, Expression: &f.Expr, Description: &f.Description}
		store := c.deps.Campaigns.Segments()
		var sv segment.Saved
		var err error
		if id == 0 {
			sv, err = store.Create(r.Context(), q.actor(r), in)
		} else {
			sv, err = store.Update(r.Context(), q.actor(r), id, in)
		}
		if err == nil {
			seeOther(w, r, fmt.Sprintf("%s/segments/%d", Prefix, sv.ID), "saved")
			return nil
		}
		var se *segment.Error
		fe, family := apperr.As(err)
		switch {
		case errors.As(err, &se):
			f.Problems = se.Problems
		case errors.Is(err, segment.ErrConflict):
			f.Errors["name"] = append(f.Errors["name"], tr(q.Lang, "seg.name_taken"))
		case family && fe.Kind() == apperr.KindInvalid:
			f.Errors["name"] = append(f.Errors["name"], tr(q.Lang, "seg.name_invalid"))
		default:
			return err
		}
	}
	if f.Mode == "rows" && len(f.Errors["rows"]) == 0 {
		f.withRows()
	}
	return c.showSegmentForm(w, r, q, http.StatusBadRequest, f)
}

func (c *Console) segmentCreate(w http.ResponseWriter, r *http.Request, q *req) error {
	return c.segmentSave(w, r, q, 0)
}

func (c *Console) segmentUpdate(w http.ResponseWriter, r *http.Request, q *req) error {
	sv, err := c.segmentOf(r)
	if err != nil {
		return err
	}
	return c.segmentSave(w, r, q, sv.ID)
}

// rowsAnswer is the builder's conversion: rows to text, or text to rows.
type rowsAnswer struct {
	Expr     string            `json:"expr"`
	Rows     *segment.Rows     `json:"rows,omitempty"`
	Complex  bool              `json:"complex,omitempty"`
	Error    string            `json:"error,omitempty"`
	Problems []segment.Problem `json:"problems,omitempty"`
}

// segmentRows converts for the builder: posted "rows" (JSON) become the
// filter's text; posted "expr" comes back as rows when rows can say it.
func (c *Console) segmentRows(w http.ResponseWriter, r *http.Request, q *req) error {
	var a rowsAnswer
	if js := r.PostFormValue("rows"); js != "" {
		var rs segment.Rows
		if err := json.Unmarshal([]byte(js), &rs); err != nil {
			return badRequest("rows must be JSON rows")
		}
		expr, err := segment.Render(rs)
		if err != nil {
			a.Error = err.Error()
		}
		a.Expr, a.Rows = expr, &rs
	} else {
		a.Expr = r.PostFormValue("expr")
		rs, err := segment.ParseRows(a.Expr)
		var se *segment.Error
		switch {
		case err == nil:
			a.Rows = &rs
		case errors.Is(err, segment.ErrTooComplex):
			a.Complex = true
		case errors.As(err, &se):
			a.Problems = se.Problems
		default:
			return err
		}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(a)
}

// emptySegmentHint answers a live count asked before any condition is given:
// a hint, not an error (the empty form is not a mistake).
func emptySegmentHint(w http.ResponseWriter, r *http.Request, lang string) (bool, error) {
	if strings.TrimSpace(r.PostFormValue("expr")) != "" || strings.TrimSpace(r.PostFormValue("segment_name")) != "" {
		return false, nil
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err := fmt.Fprintf(w, `<p class="muted" id="seg-hint">%s</p>`, template.HTMLEscapeString(tr(lang, "seg.empty_hint")))
	return true, err
}

// builderField is one field the builder offers.
type builderField struct {
	Name    string       `json:"name"` // the language's name; "attrs" with Key for an attribute
	Key     string       `json:"key,omitempty"`
	Label   string       `json:"label"` // in the page's language
	En      string       `json:"en"`
	Zh      string       `json:"zh"`
	Type    string       `json:"type"` // string, number, boolean, tags
	Ops     []segment.Op `json:"ops"`
	Choices []choice     `json:"choices,omitempty"`
}

type choice struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

type builderMeta struct {
	Fields []builderField        `json:"fields"`
	Ops    map[segment.Op]string `json:"ops"`
	// AttrOps are the operators of an attribute by its type (one the data's sample did not show).
	AttrOps map[string][]segment.Op `json:"attr_ops"`
	Texts   map[string]string       `json:"texts"`
}

// builderFields are the fields offered, in the order shown, with their texts' keys.
var builderFields = []string{"tier", "tags", "manager.team", "manager.code", "age", "gender", "consent.sms", "consent.email",
	"consent.wechat", "has_phone", "has_email", "has_wechat", "locale", "timezone", "external_id"}

// segmentFields is the builder's field metadata: names in both languages,
// types, operators, and the choices read through their owners (tags, teams
// and managers from contacts, attributes typed from the data).
func (c *Console) segmentFields(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	kinds := map[string]segment.Kind{}
	for _, f := range segment.Fields() {
		kinds[f.Name] = f.Kind
	}
	tags, err := c.deps.Contacts.TagsInUse(ctx, segment.AttrSample, 200)
	if err != nil {
		return err
	}
	mgrs, err := c.deps.Contacts.ListManagers(ctx, "")
	if err != nil {
		return err
	}
	attrs, err := c.deps.Campaigns.Segments().Attributes(ctx)
	if err != nil {
		return err
	}
	var teams, codes []choice
	seen := map[string]bool{}
	for _, m := range mgrs {
		codes = append(codes, choice{Value: m.Code, Label: m.Code + " " + m.Name})
		if m.Team != "" && !seen[m.Team] {
			seen[m.Team] = true
			teams = append(teams, choice{Value: m.Team, Label: m.Team})
		}
	}
	plain := func(vs ...string) []choice {
		out := make([]choice, len(vs))
		for i, v := range vs {
			out[i] = choice{Value: v, Label: v}
		}
		return out
	}
	choices := map[string][]choice{"tier": plain("A", "B", "C", "D"), "tags": plain(tags...), "manager.team": teams, "manager.code": codes,
		"gender": {{"male", tr(q.Lang, "seg.gender.male")}, {"female", tr(q.Lang, "seg.gender.female")}}}
	meta := builderMeta{Ops: map[segment.Op]string{}, Texts: map[string]string{}, AttrOps: map[string][]segment.Op{}}
	for _, t := range []string{segment.AttrNumber, segment.AttrString, segment.AttrBoolean} {
		meta.AttrOps[t] = segment.OpsFor("attrs", t)
	}
	for _, name := range builderFields {
		key := "seg.field." + name
		t := map[segment.Kind]string{segment.KindString: "string", segment.KindInt: "number", segment.KindBool: "boolean", segment.KindStrings: "tags"}[kinds[name]]
		meta.Fields = append(meta.Fields, builderField{Name: name, Label: tr(q.Lang, key), En: tr("en", key), Zh: tr("zh", key),
			Type: t, Ops: segment.OpsFor(name, ""), Choices: choices[name]})
	}
	for _, a := range attrs {
		t := a.Type
		if t != segment.AttrNumber && t != segment.AttrBoolean {
			t = segment.AttrString
		}
		meta.Fields = append(meta.Fields, builderField{Name: "attrs", Key: a.Key, Label: fmt.Sprintf(tr(q.Lang, "seg.attr"), a.Key),
			En: fmt.Sprintf(tr("en", "seg.attr"), a.Key), Zh: fmt.Sprintf(tr("zh", "seg.attr"), a.Key), Type: t, Ops: segment.OpsFor("attrs", t)})
	}
	for _, op := range []segment.Op{segment.OpEq, segment.OpNe, segment.OpLt, segment.OpLe, segment.OpGt, segment.OpGe, segment.OpIn,
		segment.OpNotIn, segment.OpHas, segment.OpNotHas, segment.OpStarts, segment.OpEnds, segment.OpContains, segment.OpYes,
		segment.OpNo, segment.OpExists} {
		meta.Ops[op] = tr(q.Lang, "seg.op."+string(op))
	}
	for _, k := range []string{"and", "or", "add_row", "add_group", "remove", "field", "op", "value", "complex", "group", "match_groups", "text_error"} {
		meta.Texts[k] = tr(q.Lang, "seg.ui."+k)
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(meta)
}
