package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"carillon/calendar"
	"carillon/templates"
)

// The campaign form without code: one input per variable the template
// declares (kept in sync with the JSON box under "Advanced"), a schedule
// picker that writes the cron spec, and time pickers for the send window.

// varField is one declared template variable as the form shows it.
type varField struct {
	Name     string
	Label    string
	Input    string // the input's type: text, number, date, bool
	Step     string // number inputs: "1" for int, "0.01" for money, "any"
	Required bool
	Value    string
	Errors   []string
}

// varFieldsData is the fragment of the variable inputs (the form, and the
// form's fetch when the template changes).
type varFieldsData struct {
	Fields []varField
	Lang   string
}

func (d varFieldsData) T(key string) string { return tr(d.Lang, key) }

// declaredVars are the variables the template's active version declares
// (none for a template unknown or saved before declarations existed).
func (c *Console) declaredVars(ctx context.Context, key string) ([]templates.Variable, error) {
	if key == "" || c.deps.Templates == nil {
		return nil, nil
	}
	v, err := c.deps.Templates.Active(ctx, key)
	if errors.Is(err, templates.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return v.Variables, nil
}

func inputOf(t templates.Type) (input, step string) {
	switch t {
	case templates.Int:
		return "number", "1"
	case templates.Money:
		return "number", "0.01"
	case templates.Number:
		return "number", "any"
	case templates.Date:
		return "date", ""
	case templates.Bool:
		return "bool", ""
	}
	return "text", ""
}

// shownValue is a stored variable value as its input shows it.
func shownValue(x any) string {
	switch x := x.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(x)
}

// varFields builds the inputs of the declared variables from the vars JSON
// (when it is not an object, the inputs show what was typed into them).
func varFields(lang string, decl []templates.Variable, varsJSON string, typed map[string]string, errs map[string][]string) []varField {
	vars := map[string]any{}
	_ = json.Unmarshal([]byte(varsJSON), &vars)
	out := make([]varField, 0, len(decl))
	for _, d := range decl {
		f := varField{Name: d.Name, Label: d.Label, Required: d.Required, Errors: errs["vars."+d.Name]}
		if lang == "en" && d.LabelEN != "" || f.Label == "" {
			f.Label = d.LabelEN
		}
		// Without a label the variable's name stands alone, shown as the code it is.
		f.Input, f.Step = inputOf(d.Type)
		if s, ok := typed[d.Name]; ok {
			f.Value = s
		} else {
			f.Value = shownValue(vars[d.Name])
		}
		out = append(out, f)
	}
	return out
}

// varFromInput reads one variable's input as its type stores it; "" leaves it out.
func varFromInput(lang string, t templates.Type, s string) (any, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, ""
	}
	switch t {
	case templates.Int:
		n, err := strconv.ParseInt(strings.ReplaceAll(s, ",", ""), 10, 64)
		if err != nil {
			return nil, tr(lang, "form.var_int")
		}
		return n, ""
	case templates.Number, templates.Money:
		f, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, tr(lang, "form.var_number")
		}
		return f, ""
	case templates.Date:
		d, err := calendar.ParseDate(s)
		if err != nil {
			return nil, tr(lang, "form.var_date")
		}
		return d.String(), ""
	case templates.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, tr(lang, "form.var_bool")
		}
		return b, ""
	}
	if len([]rune(s)) > 500 {
		return nil, tr(lang, "form.var_long")
	}
	return s, ""
}

// mergeVarInputs writes the inputs of the declared variables into the form's
// vars JSON (keys the template does not declare stay as typed in the box). A form posted without the inputs (the
// API's shape, a script) keeps its JSON as it is.
func (c *Console) mergeVarInputs(ctx context.Context, r *http.Request, lang string, f *campaignForm, errs map[string][]string) error {
	decl, err := c.declaredVars(ctx, f.Template)
	if err != nil {
		return err
	}
	f.typedVars = map[string]string{}
	given := false
	for _, d := range decl {
		if _, ok := r.PostForm["var."+d.Name]; ok {
			given = true
			f.typedVars[d.Name] = r.PostForm.Get("var." + d.Name)
		}
	}
	// The JSON box edited by hand (it differs from what the form showed) wins
	// over the inputs; the script keeps the two in sync.
	norm := func(k string) string { return strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get(k), "\r\n", "\n")) }
	if _, ok := r.PostForm["vars_shown"]; ok && norm("vars_shown") != norm("vars") {
		given = false
	}
	if !given {
		return nil
	}
	vars := map[string]any{}
	if f.Vars != "" {
		if err := json.Unmarshal([]byte(f.Vars), &vars); err != nil {
			return nil // the JSON box's own error is reported by input
		}
	}
	for _, d := range decl {
		s, ok := f.typedVars[d.Name]
		if !ok {
			continue
		}
		val, msg := varFromInput(lang, d.Type, s)
		switch {
		case msg != "":
			errs["vars."+d.Name] = append(errs["vars."+d.Name], msg)
		case val == nil:
			delete(vars, d.Name)
		default:
			vars[d.Name] = val
		}
	}
	f.Vars = varsText(vars)
	return nil
}

// varsText is the vars JSON as the form shows it (and compares it).
func varsText(vars map[string]any) string {
	if len(vars) == 0 {
		return ""
	}
	js, _ := json.MarshalIndent(vars, "", "  ")
	return string(js)
}

// campaignVarFields answers the form's fetch when the template changes.
func (c *Console) campaignVarFields(w http.ResponseWriter, r *http.Request, q *req) error {
	decl, err := c.declaredVars(r.Context(), strings.TrimSpace(r.PostFormValue("template")))
	if err != nil {
		return err
	}
	d := varFieldsData{Fields: varFields(q.Lang, decl, r.PostFormValue("vars"), nil, nil), Lang: q.Lang}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return c.pages["campaign_form"].ExecuteTemplate(w, "varfields", d)
}

// The schedule picker.

// Repeats of the picker; "custom" is a cron spec typed under "Advanced".
var repeats = []string{"daily", "weekly", "monthly", "custom"}

// simpleCronRE is a spec the picker writes: CRON_TZ=zone M H dom * dow.
var simpleCronRE = regexp.MustCompile(`^CRON_TZ=(\S+) (\d{1,2}) (\d{1,2}) (\*|\d{1,2}) \* (\*|[0-6](?:,[0-6])*)$`)

// pickerOf reads a stored spec back into the picker; a spec it cannot show
// is "custom".
func pickerOf(spec string) (every, at, dom string, dow []string) {
	m := simpleCronRE.FindStringSubmatch(spec)
	if m == nil {
		if spec == "" {
			return "weekly", "", "", nil
		}
		return "custom", "", "", nil
	}
	mi, _ := strconv.Atoi(m[2])
	h, _ := strconv.Atoi(m[3])
	at = fmt.Sprintf("%02d:%02d", h, mi)
	switch {
	case m[4] != "*" && m[5] == "*":
		return "monthly", at, m[4], nil
	case m[4] == "*" && m[5] == "*":
		return "daily", at, "", nil
	case m[4] == "*":
		return "weekly", at, "", strings.Split(m[5], ",")
	}
	return "custom", "", "", nil
}

// pickerCron writes the spec of the picker's choice in the console's zone;
// errors are filed under schedule.cron.
func (c *Console) pickerCron(lang string, f campaignForm) (string, string) {
	t, err := time.Parse("15:04", f.RTime)
	if err != nil {
		return "", tr(lang, "form.sched_time")
	}
	spec := fmt.Sprintf("CRON_TZ=%s %d %d ", c.loc.String(), t.Minute(), t.Hour())
	switch f.Every {
	case "daily":
		return spec + "* * *", ""
	case "weekly":
		var days []string
		for _, d := range []string{"1", "2", "3", "4", "5", "6", "0"} {
			if slices.Contains(f.DOW, d) {
				days = append(days, d)
			}
		}
		if len(days) == 0 {
			return "", tr(lang, "form.sched_days")
		}
		return spec + "* * " + strings.Join(days, ","), ""
	case "monthly":
		n, err := strconv.Atoi(f.DOM)
		if err != nil || n < 1 || n > 28 {
			return "", tr(lang, "form.sched_dom")
		}
		return spec + strconv.Itoa(n) + " * *", ""
	}
	return f.Cron, ""
}

// firing is one coming firing of a schedule, in the console's zone.
type firing struct {
	At      time.Time
	Weekday string
}

// nextFirings are the next n firings of spec after the console's now.
func (c *Console) nextFirings(lang, spec string, n int) ([]firing, error) {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	var out []firing
	t := c.now()
	for range n {
		t = sched.Next(t)
		if t.IsZero() {
			break
		}
		t = t.In(c.loc)
		out = append(out, firing{At: t, Weekday: tr(lang, "form.wd."+strconv.Itoa(int(t.Weekday())))})
	}
	return out, nil
}

// scheduleData is the fragment of the next firings.
type scheduleData struct {
	Cron    string
	Firings []firing
	Error   string
	Lang    string
}

func (d scheduleData) T(key string) string { return tr(d.Lang, key) }

func (c *Console) scheduleOf(lang string, f campaignForm) scheduleData {
	d := scheduleData{Lang: lang}
	if f.Kind != "cron" {
		return d
	}
	spec, msg := c.pickerCron(lang, f)
	if msg != "" {
		d.Error = msg
		return d
	}
	d.Cron = spec
	if spec == "" {
		return d
	}
	fs, err := c.nextFirings(lang, spec, 5)
	if err != nil {
		d.Error = tr(lang, "form.sched_bad") + ": " + err.Error()
	}
	d.Firings = fs
	return d
}

// campaignSchedule answers the form's fetch as the schedule changes.
func (c *Console) campaignSchedule(w http.ResponseWriter, r *http.Request, q *req) error {
	f := formFromRequest(r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return c.pages["campaign_form"].ExecuteTemplate(w, "firings", c.scheduleOf(q.Lang, f))
}

// windowOf reads the send window: the text box (the API's shape) when
// posted, else the two time pickers.
func windowOf(r *http.Request, lang string, errs map[string][]string) string {
	if _, ok := r.PostForm["window"]; ok {
		return strings.TrimSpace(r.PostForm.Get("window"))
	}
	from, to := strings.TrimSpace(r.PostFormValue("window_from")), strings.TrimSpace(r.PostFormValue("window_to"))
	switch {
	case from == "" && to == "":
		return ""
	case from == "" || to == "":
		errs["window"] = append(errs["window"], tr(lang, "form.window_both"))
		return ""
	}
	return from + "-" + to
}

func splitWindow(w string) (string, string) {
	a, b, _ := strings.Cut(w, "-")
	return a, b
}

// Repeats are the picker's choices.
func (campaignForm) Repeats() []string { return repeats }

// Weekdays are the days of the week, Monday first, as cron numbers them.
func (campaignForm) Weekdays() []string { return []string{"1", "2", "3", "4", "5", "6", "0"} }

// DayOn reports whether the day (cron's number) is ticked.
func (f campaignForm) DayOn(d string) bool { return slices.Contains(f.DOW, d) }
