package console

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"carillon/contacts"
	"carillon/internal/identity"
	"carillon/templates"
)

// Template authoring: a new template from a form, a copy of one under a new
// key, and a locale variant added to or removed from one. Each saves through
// the templates package (Create for a new key, Save for a new version), which
// validates and audits; a refused definition shows the form again with each
// problem under its field.

func (c *Console) templateAuthorRoutes() {
	if c.deps.Templates == nil {
		return
	}
	c.page("GET "+Prefix+"/templates/new", identity.PermTemplatesWrite, c.newTemplatePage)
	c.page("POST "+Prefix+"/templates/new", identity.PermTemplatesWrite, c.createTemplate)
	c.page("POST "+Prefix+"/templates/preview", identity.PermTemplatesWrite, c.livePreview)
	c.page("POST "+Prefix+"/templates/{key}/copy", identity.PermTemplatesWrite, c.copyTemplate)
	c.page("POST "+Prefix+"/templates/{key}/variants", identity.PermTemplatesWrite, c.changeVariant)
}

// authorLocales are the locales the new-template form offers.
var authorLocales = []string{"zh-CN", "en"}

// newTemplateData is the new-template form.
type newTemplateData struct {
	Key, NameZh, NameEn, Description string
	Purpose                          templates.Purpose
	Source                           string
	Channel                          templates.Channel
	Locales                          []string // chosen
	WeChatFields                     string   // the WeChat template's field names, space-separated
	WeComFormat                      string
	Note                             string

	AllLocales []string
	Sources    []string
	Channels   []templates.Channel
	Purposes   []templates.Purpose
	Variants   []variantForm
	Problems   []problemView // those not under a field
	Invalid    bool
	Taken      bool
	PrevQ      previewQuery
}

// blankVariant is a variant of ch in loc with empty texts; a WeChat one has
// the given fields, a WeCom one the given format.
func blankVariant(ch templates.Channel, loc string, wechatFields []string, wecomFormat string) templates.Variant {
	v := templates.Variant{Channel: ch, Locale: loc}
	switch ch {
	case templates.SMS:
		v.SMS = &templates.SMSVariant{}
	case templates.Email:
		v.Email = &templates.EmailVariant{}
	case templates.WeChat:
		v.WeChat = &templates.WeChatVariant{Fields: map[string]string{}}
		for _, f := range wechatFields {
			v.WeChat.Fields[f] = ""
		}
	case templates.WeCom:
		v.WeCom = &templates.WeComVariant{Format: wecomFormat}
	}
	return v
}

// newTemplateForm reads the new-template form (GET query or POST body) into
// its data and the definition it describes.
func (c *Console) newTemplateForm(r *http.Request) (*newTemplateData, templates.Definition) {
	get := func(k string) string { return strings.TrimSpace(r.FormValue(k)) }
	d := &newTemplateData{Key: get("key"), NameZh: get("name_zh"), NameEn: get("name_en"), Description: get("description"),
		Purpose: templates.Purpose(cmpOr(get("purpose"), string(templates.Service))), Source: cmpOr(get("source"), templates.SourceCampaign),
		Channel: templates.Channel(cmpOr(get("channel"), string(templates.SMS))), WeChatFields: get("wechat_fields"),
		WeComFormat: cmpOr(get("wecom_format"), templates.FormatText), Note: get("note"),
		PrevQ:      previewQuery{Contact: get("pv_contact"), Locale: get("pv_locale")},
		AllLocales: authorLocales, Sources: slices.Sorted(maps.Keys(c.deps.Templates.Schemas())), Channels: templates.Channels(),
		Purposes: []templates.Purpose{templates.Service, templates.Marketing}}
	_ = r.ParseForm()
	for _, l := range r.Form["locale"] {
		if slices.Contains(authorLocales, l) && !slices.Contains(d.Locales, l) {
			d.Locales = append(d.Locales, l)
		}
	}
	if len(d.Locales) == 0 {
		d.Locales = []string{"zh-CN"}
	}
	slices.SortFunc(d.Locales, func(a, b string) int { return slices.Index(authorLocales, a) - slices.Index(authorLocales, b) })
	if !slices.Contains(d.Channels, d.Channel) {
		d.Channel = templates.SMS
	}
	def := templates.Definition{Key: d.Key, Purpose: d.Purpose, Source: d.Source, DefaultLocale: d.Locales[0], Description: d.Description,
		Names: map[string]string{}}
	if d.NameZh != "" {
		def.Names["zh-CN"] = d.NameZh
	}
	if d.NameEn != "" {
		def.Names["en"] = d.NameEn
	}
	text := func(name string) string { return strings.ReplaceAll(r.FormValue(name), "\r\n", "\n") }
	for _, loc := range d.Locales {
		v := fromForm(blankVariant(d.Channel, loc, strings.Fields(strings.ReplaceAll(d.WeChatFields, ",", " ")), d.WeComFormat), text)
		def.Variants = append(def.Variants, v)
		d.Variants = append(d.Variants, variantForm{Channel: v.Channel, Locale: v.Locale, Fields: fieldsOf(v)})
	}
	return d, def
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (c *Console) newTemplatePage(w http.ResponseWriter, r *http.Request, q *req) error {
	d, _ := c.newTemplateForm(r)
	c.render(w, r, q, http.StatusOK, "template_new", "tpl.new_title", d)
	return nil
}

// createTemplate saves the form as version 1 of a new key. The "fields"
// button only shows the form again with the texts of the chosen channel and
// locales (what was typed kept), saving nothing.
func (c *Console) createTemplate(w http.ResponseWriter, r *http.Request, q *req) error {
	d, def := c.newTemplateForm(r)
	if r.PostFormValue("step") == "fields" {
		c.render(w, r, q, http.StatusOK, "template_new", "tpl.new_title", d)
		return nil
	}
	if def.Key == "new" {
		d.Invalid, d.Taken = true, true
		c.render(w, r, q, http.StatusConflict, "template_new", "tpl.new_title", d)
		return nil
	}
	_, _, err := c.deps.Templates.Create(r.Context(), q.actor(r), def, d.Note)
	if errors.Is(err, templates.ErrExists) {
		d.Invalid, d.Taken = true, true
		c.render(w, r, q, http.StatusConflict, "template_new", "tpl.new_title", d)
		return nil
	}
	var ve *templates.ValidationError
	if errors.As(err, &ve) {
		d.Invalid = true
		d.Problems = placeProblems(d.Variants, ve.Problems)
		c.render(w, r, q, http.StatusBadRequest, "template_new", "tpl.new_title", d)
		return nil
	}
	if err != nil {
		return err
	}
	seeOther(w, r, fmt.Sprintf("%s/templates/%s", Prefix, def.Key), "created")
	return nil
}

// placeProblems puts each problem under the field it names and returns those
// that name none of them.
func placeProblems(vs []variantForm, probs []templates.Problem) []problemView {
	byName := map[string]*formField{}
	for i := range vs {
		for j := range vs[i].Fields {
			f := &vs[i].Fields[j]
			f.Problems = nil
			byName[f.Name] = f
		}
	}
	var rest []problemView
	for _, p := range probs {
		if f, ok := byName[p.Field]; ok {
			f.Problems = append(f.Problems, viewProblem(p, f.Value))
		} else {
			rest = append(rest, viewProblem(p, ""))
		}
	}
	return rest
}

// baseVersion reads the version a form was opened from.
func (c *Console) baseVersion(r *http.Request, key string) (templates.Version, error) {
	n, err := strconv.Atoi(r.PostFormValue("base"))
	if err != nil || n < 1 {
		return templates.Version{}, badRequest("the form names no base version")
	}
	return c.deps.Templates.Version(r.Context(), key, n)
}

// copyTemplate saves the shown version's definition under a new key, with the
// names given (none: the original's).
func (c *Console) copyTemplate(w http.ResponseWriter, r *http.Request, q *req) error {
	key := r.PathValue("key")
	v, err := c.baseVersion(r, key)
	if err != nil {
		return err
	}
	def := v.Definition
	def.Key = strings.TrimSpace(r.PostFormValue("new_key"))
	def.Names = maps.Clone(v.Names)
	if def.Names == nil {
		def.Names = map[string]string{}
	}
	for field, loc := range map[string]string{"copy_name_zh": "zh-CN", "copy_name_en": "en"} {
		if n := strings.TrimSpace(r.PostFormValue(field)); n != "" {
			def.Names[loc] = n
		}
	}
	if def.Key == "new" {
		return c.refuseOnPage(w, r, q, key, v.Version, http.StatusConflict, "tpl.key_taken", nil)
	}
	_, _, err = c.deps.Templates.Create(r.Context(), q.actor(r), def, fmt.Sprintf("copy of %s v%d", key, v.Version))
	var ve *templates.ValidationError
	switch {
	case errors.Is(err, templates.ErrExists):
		return c.refuseOnPage(w, r, q, key, v.Version, http.StatusConflict, "tpl.key_taken", nil)
	case errors.As(err, &ve):
		return c.refuseOnPage(w, r, q, key, v.Version, http.StatusBadRequest, "tpl.refused", ve.Problems)
	case err != nil:
		return err
	}
	seeOther(w, r, fmt.Sprintf("%s/templates/%s", Prefix, def.Key), "created")
	return nil
}

// changeVariant adds a locale variant of a channel the template has (its
// texts copied from the channel's default-locale variant, to translate) or
// removes one, as a new version that is not made active: the new texts are
// reviewed and activated from the version list.
func (c *Console) changeVariant(w http.ResponseWriter, r *http.Request, q *req) error {
	key := r.PathValue("key")
	v, err := c.baseVersion(r, key)
	if err != nil {
		return err
	}
	ch := templates.Channel(r.PostFormValue("channel"))
	loc := strings.TrimSpace(r.PostFormValue("locale"))
	def := v.Definition
	var note string
	switch r.PostFormValue("op") {
	case "add":
		from, err := v.Lookup(ch, v.DefaultLocale)
		if errors.Is(err, templates.ErrNoVariant) {
			return badRequest("the template has no variant of that channel to start from")
		}
		if err != nil {
			return err
		}
		nv := from
		nv.Locale = loc
		def.Variants = append(slices.Clone(v.Variants), nv)
		note = fmt.Sprintf("add %s %s", ch, loc)
	case "remove":
		def.Variants = slices.DeleteFunc(slices.Clone(v.Variants), func(x templates.Variant) bool { return x.Channel == ch && x.Locale == loc })
		if len(def.Variants) == len(v.Variants) {
			return badRequest("the template has no such variant")
		}
		note = fmt.Sprintf("remove %s %s", ch, loc)
	default:
		return badRequest("op must be add or remove")
	}
	nv, _, err := c.deps.Templates.Save(r.Context(), q.actor(r), def, templates.SaveOptions{Note: note})
	if ve, ok := templates.IsValidation(err); ok {
		return c.refuseOnPage(w, r, q, key, v.Version, http.StatusBadRequest, "tpl.refused", ve.Problems)
	}
	if err != nil {
		return err
	}
	seeOther(w, r, fmt.Sprintf("%s/templates/%s?version=%d", Prefix, key, nv.Version), "saved")
	return nil
}

// refuseOnPage shows the template page of version n again with a refusal:
// msgKey in the alert, the problems listed.
func (c *Console) refuseOnPage(w http.ResponseWriter, r *http.Request, q *req, key string, n, status int, msgKey string, probs []templates.Problem) error {
	d, err := c.templateData(r, q, key, n)
	if err != nil {
		return err
	}
	d.Refusal = msgKey
	for _, p := range probs {
		d.Problems = append(d.Problems, viewProblem(p, ""))
	}
	c.render(w, r, q, status, "template", "tpl.edit_title", d)
	return nil
}

// liveData is the live preview fragment.
type liveData struct {
	Problems []problemView
	PrevErr  string
	Preview  *templates.Preview
}

// livePreview renders the new-template form's draft for the chosen customer
// (by customer number, within the user's scope; none: the sample customer)
// through templates.Store.PreviewDraft: the render path and limits of a
// saved version's preview and of delivery. Personal data is masked as on the
// contact's page. A draft that does not parse shows its parse errors.
func (c *Console) livePreview(w http.ResponseWriter, r *http.Request, q *req) error {
	d, def := c.newTemplateForm(r)
	var ld liveData
	req := templates.PreviewRequest{Locale: d.PrevQ.Locale}
	if d.PrevQ.Contact != "" {
		ct, err := c.deps.Contacts.GetByExternalID(r.Context(), d.PrevQ.Contact)
		if err == nil {
			err = c.deps.Contacts.CheckScope(r.Context(), scope(q.P), ct.ID)
		}
		if errors.Is(err, contacts.ErrNotFound) {
			ld.PrevErr = tr(q.Lang, "tpl.no_contact")
			return c.liveFragment(w, r, q, ld)
		}
		if err != nil {
			return err
		}
		tc := show(q.P, ct).ForTemplate()
		req.Contact = &tc
	}
	p, err := c.deps.Templates.PreviewDraft(r.Context(), def, req)
	var ve *templates.ValidationError
	switch {
	case errors.As(err, &ve):
		for _, pr := range ve.Problems {
			ld.Problems = append(ld.Problems, viewProblem(pr, ""))
		}
	case errors.Is(err, templates.ErrNoVariant), errors.Is(err, templates.ErrRenderLimit):
		ld.PrevErr = err.Error()
	case err != nil && r.Context().Err() == nil:
		ld.PrevErr = err.Error() // an execution error of the draft
	case err != nil:
		return err
	default:
		ld.Preview = &p
	}
	return c.liveFragment(w, r, q, ld)
}

func (c *Console) liveFragment(w http.ResponseWriter, r *http.Request, q *req, ld liveData) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return c.pages["template_new"].ExecuteTemplate(w, "livepreview", c.view(r, q, "tpl.new_title", ld))
}
