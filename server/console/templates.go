package console

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/width"

	"carillon/contacts"
	"carillon/internal/identity"
	"carillon/templates"
)

func (c *Console) templateRoutes() {
	if c.deps.Templates == nil {
		return
	}
	c.page("GET "+Prefix+"/templates", identity.PermTemplatesRead, c.templateList)
	c.templateAuthorRoutes()
	c.page("GET "+Prefix+"/templates/{key}", identity.PermTemplatesRead, c.templatePage)
	c.page("POST "+Prefix+"/templates/{key}", identity.PermTemplatesWrite, c.saveTemplate)
	c.page("POST "+Prefix+"/templates/{key}/versions/{v}/activate", identity.PermTemplatesWrite, c.activateTemplate)
}

func (c *Console) templateList(w http.ResponseWriter, r *http.Request, q *req) error {
	list, err := c.deps.Templates.List(r.Context())
	if err != nil {
		return err
	}
	c.render(w, r, q, http.StatusOK, "templates", "tpl.title", list)
	return nil
}

// formField is one editable text of a variant, named as the template
// package names it in its problems ("sms.zh-CN.text"), so a problem lands
// under its field.
type formField struct {
	Name      string
	Label     string
	Value     string
	Multiline bool
	Problems  []problemView
}

// problemView is a validation problem with the line it points at.
type problemView struct {
	Field   string
	Line    int
	Column  int
	Message string
	Excerpt string // the line in error
	Caret   string // spaces and a caret under the column
}

type variantForm struct {
	Channel templates.Channel
	Locale  string
	Fields  []formField
}

type templateData struct {
	T        templates.Template
	V        templates.Version
	Variants []variantForm
	Problems []problemView // those not under a field
	Invalid  bool
	Refusal  string // the message key of a refused copy or variant change
	CanEdit  bool
	Note     string
	Preview  *templates.Preview
	PrevErr  string
	PrevQ    previewQuery
	Channels []templates.Channel
}

type previewQuery struct {
	Contact string
	Channel string
	Locale  string
}

// fieldsOf lists a variant's editable texts.
func fieldsOf(v templates.Variant) []formField {
	name := func(part string) string { return string(v.Channel) + "." + v.Locale + "." + part }
	var fs []formField
	switch {
	case v.SMS != nil:
		fs = append(fs, formField{Name: name("sign_name"), Label: "sign_name", Value: v.SMS.SignName},
			formField{Name: name("text"), Label: "text", Value: v.SMS.Text, Multiline: true},
			formField{Name: name("body"), Label: "body", Value: v.SMS.Body, Multiline: true})
		for _, p := range slices.Sorted(maps.Keys(v.SMS.Providers)) {
			pt := v.SMS.Providers[p]
			fs = append(fs, formField{Name: name("providers." + p + ".code"), Label: p + " code", Value: pt.Code})
			for _, k := range slices.Sorted(maps.Keys(pt.Params)) {
				fs = append(fs, formField{Name: name("providers." + p + ".params." + k), Label: p + " " + k, Value: pt.Params[k]})
			}
		}
	case v.Email != nil:
		fs = append(fs, formField{Name: name("subject"), Label: "subject", Value: v.Email.Subject},
			formField{Name: name("html"), Label: "html", Value: v.Email.HTML, Multiline: true},
			formField{Name: name("text"), Label: "text", Value: v.Email.Text, Multiline: true})
	case v.WeChat != nil:
		fs = append(fs, formField{Name: name("template_id"), Label: "template_id", Value: v.WeChat.TemplateID},
			formField{Name: name("url"), Label: "url", Value: v.WeChat.URL})
		for _, k := range slices.Sorted(maps.Keys(v.WeChat.Fields)) {
			fs = append(fs, formField{Name: name("fields." + k), Label: k, Value: v.WeChat.Fields[k]})
		}
	case v.WeCom != nil:
		fs = append(fs, formField{Name: name("content"), Label: "content (" + v.WeCom.Format + ")", Value: v.WeCom.Content, Multiline: true})
	}
	return fs
}

// fromForm returns a copy of v with its editable texts read from get.
func fromForm(v templates.Variant, get func(string) string) templates.Variant {
	name := func(part string) string { return get(string(v.Channel) + "." + v.Locale + "." + part) }
	switch {
	case v.SMS != nil:
		s := *v.SMS
		s.SignName, s.Text, s.Body = name("sign_name"), name("text"), name("body")
		s.Providers = map[string]templates.ProviderTemplate{}
		for p, pt := range v.SMS.Providers {
			np := templates.ProviderTemplate{Code: name("providers." + p + ".code"), Params: map[string]string{}}
			for k := range pt.Params {
				np.Params[k] = name("providers." + p + ".params." + k)
			}
			s.Providers[p] = np
		}
		v.SMS = &s
	case v.Email != nil:
		e := *v.Email
		e.Subject, e.HTML, e.Text = name("subject"), name("html"), name("text")
		v.Email = &e
	case v.WeChat != nil:
		wc := *v.WeChat
		wc.TemplateID, wc.URL = name("template_id"), name("url")
		wc.Fields = map[string]string{}
		for k := range v.WeChat.Fields {
			wc.Fields[k] = name("fields." + k)
		}
		v.WeChat = &wc
	case v.WeCom != nil:
		m := *v.WeCom
		m.Content = name("content")
		v.WeCom = &m
	}
	return v
}

// viewProblem points a problem at its line and column in the field's text.
func viewProblem(p templates.Problem, text string) problemView {
	pv := problemView{Field: p.Field, Line: p.Line, Column: p.Column, Message: p.Message}
	if p.Line > 0 {
		lines := strings.Split(text, "\n")
		if p.Line <= len(lines) {
			pv.Excerpt = lines[p.Line-1]
			pv.Caret = caretUnder(pv.Excerpt, p.Column)
		}
	}
	return pv
}

// caretUnder is a caret under rune column col (1-based) of line, padded by
// display width: an East Asian wide or fullwidth character takes two columns
// of a monospace font, any other one; a tab is kept as a tab.
func caretUnder(line string, col int) string {
	var b strings.Builder
	i := 1
	for _, r := range line {
		if i >= col {
			break
		}
		i++
		switch k := width.LookupRune(r).Kind(); {
		case r == '\t':
			b.WriteRune('\t')
		case k == width.EastAsianWide || k == width.EastAsianFullwidth:
			b.WriteString("  ")
		default:
			b.WriteByte(' ')
		}
	}
	b.WriteByte('^')
	return b.String()
}

func (c *Console) templateData(r *http.Request, q *req, key string, n int) (*templateData, error) {
	t, err := c.deps.Templates.Get(r.Context(), key)
	if err != nil {
		return nil, err
	}
	v, err := c.deps.Templates.Version(r.Context(), key, n)
	if err != nil {
		return nil, err
	}
	d := &templateData{T: t, V: v, CanEdit: q.P.Can(identity.PermTemplatesWrite), Channels: templates.Channels()}
	for _, x := range v.Variants {
		d.Variants = append(d.Variants, variantForm{Channel: x.Channel, Locale: x.Locale, Fields: fieldsOf(x)})
	}
	return d, nil
}

func (c *Console) templatePage(w http.ResponseWriter, r *http.Request, q *req) error {
	key := r.PathValue("key")
	n := 0
	if s := r.URL.Query().Get("version"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			return badRequest("version must be a positive number")
		}
	}
	d, err := c.templateData(r, q, key, n)
	if err != nil {
		return err
	}
	qv := r.URL.Query()
	if qv.Get("preview") != "" {
		d.PrevQ = previewQuery{Contact: strings.TrimSpace(qv.Get("contact")), Channel: qv.Get("channel"), Locale: strings.TrimSpace(qv.Get("locale"))}
		if err := c.preview(r, q, d); err != nil {
			return err
		}
	}
	c.render(w, r, q, http.StatusOK, "template", "tpl.edit_title", d)
	return nil
}

// preview renders the shown version against a contact the user may see (by
// customer number; none: the sample contact). Personal data in the render is
// masked for roles that may not see it.
func (c *Console) preview(r *http.Request, q *req, d *templateData) error {
	req := templates.PreviewRequest{Version: d.V.Version, Channel: templates.Channel(d.PrevQ.Channel), Locale: d.PrevQ.Locale}
	if req.Channel != "" && !slices.Contains(templates.Channels(), req.Channel) {
		return badRequest("unknown channel")
	}
	if d.PrevQ.Contact != "" {
		ct, err := c.deps.Contacts.GetByExternalID(r.Context(), d.PrevQ.Contact)
		if err == nil {
			err = c.deps.Contacts.CheckScope(r.Context(), scope(q.P), ct.ID)
		}
		if errors.Is(err, contacts.ErrNotFound) {
			d.PrevErr = tr(q.Lang, "tpl.no_contact")
			return nil
		}
		if err != nil {
			return err
		}
		ct = show(q.P, ct)
		tc := ct.ForTemplate()
		req.Contact = &tc
	}
	p, err := c.deps.Templates.Preview(r.Context(), d.T.Key, req)
	var ve *templates.ValidationError
	switch {
	case errors.Is(err, templates.ErrNoVariant), errors.Is(err, templates.ErrRenderLimit):
		d.PrevErr = err.Error()
	case errors.As(err, &ve):
		d.PrevErr = ve.Error()
	case err != nil:
		return err
	default:
		d.Preview = &p
	}
	return nil
}

// saveTemplate saves the edited texts as a new version of the template,
// based on the version the form was opened from. A refused definition shows
// the form again with each problem under its field, at its line and column.
func (c *Console) saveTemplate(w http.ResponseWriter, r *http.Request, q *req) error {
	key := r.PathValue("key")
	base, err := strconv.Atoi(r.PostFormValue("base"))
	if err != nil || base < 1 {
		return badRequest("the form names no base version")
	}
	d, err := c.templateData(r, q, key, base)
	if err != nil {
		return err
	}
	def := d.V.Definition
	def.Description = strings.TrimSpace(r.PostFormValue("description"))
	def.Names = map[string]string{}
	for field, loc := range map[string]string{"name_zh": "zh-CN", "name_en": "en"} {
		if n := strings.TrimSpace(r.PostFormValue(field)); n != "" {
			def.Names[loc] = n
		}
	}
	def.Variants = make([]templates.Variant, len(d.V.Variants))
	for i, v := range d.V.Variants {
		def.Variants[i] = fromForm(v, func(name string) string { return strings.ReplaceAll(r.PostFormValue(name), "\r\n", "\n") })
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	v, _, err := c.deps.Templates.Save(r.Context(), q.actor(r), def, templates.SaveOptions{Activate: r.PostFormValue("activate") == "on", Note: note})
	var ve *templates.ValidationError
	if errors.As(err, &ve) {
		d.V.Definition = def
		d.Invalid, d.Note = true, note
		d.Variants = nil
		for _, x := range def.Variants {
			d.Variants = append(d.Variants, variantForm{Channel: x.Channel, Locale: x.Locale, Fields: fieldsOf(x)})
		}
		d.Problems = placeProblems(d.Variants, ve.Problems)
		c.render(w, r, q, http.StatusBadRequest, "template", "tpl.edit_title", d)
		return nil
	}
	if err != nil {
		return err
	}
	seeOther(w, r, fmt.Sprintf("%s/templates/%s?version=%d", Prefix, key, v.Version), "saved")
	return nil
}

func (c *Console) activateTemplate(w http.ResponseWriter, r *http.Request, q *req) error {
	n, err := strconv.Atoi(r.PathValue("v"))
	if err != nil || n < 1 {
		return notFound()
	}
	key := r.PathValue("key")
	if err := c.deps.Templates.Activate(r.Context(), q.actor(r), key, n); err != nil {
		return err
	}
	seeOther(w, r, fmt.Sprintf("%s/templates/%s?version=%d", Prefix, key, n), "activated")
	return nil
}
