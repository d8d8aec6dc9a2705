package templates

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"carillon/calendar"
	"carillon/internal/textdist"
)

// Variable declares one of a campaign template's own variables, .Campaign.<Name>.
// A campaign that uses the template gives each required one a value of its type;
// one left out takes Default. Sample is for editing the template only: the
// template's own preview and the save-time trial render use it, a campaign's
// review and previews never do.
type Variable struct {
	Name     string `json:"name"`               // lower-case letters, digits and _, starting with a letter
	Type     Type   `json:"type"`               // string, int, number, money, date or bool
	Required bool   `json:"required,omitempty"` // a campaign must give it
	Default  any    `json:"default,omitempty"`  // the value of a campaign that leaves it out (not with Required)
	Sample   any    `json:"sample,omitempty"`   // the value the template's own preview shows
	Label    string `json:"label,omitempty"`    // what a marketer is asked for, in Chinese
	LabelEN  string `json:"label_en,omitempty"` // and in English
}

// VariableTypes are the types a campaign variable may have.
var VariableTypes = []Type{String, Int, Number, Money, Date, Bool}

var varNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// checkVariables checks a definition's declarations.
func checkVariables(def Definition) []Problem {
	var probs []Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if def.Source != SourceCampaign {
		if len(def.Variables) > 0 {
			bad("variables", "only campaign templates (source %q) declare variables; %q provides its own", SourceCampaign, def.Source)
		}
		return probs
	}
	seen := map[string]bool{}
	for i, v := range def.Variables {
		at := fmt.Sprintf("variables[%d]", i)
		if !varNameRE.MatchString(v.Name) {
			bad(at+".name", "%q is not a variable name (lower-case letters, digits and _, starting with a letter, at most 40)", v.Name)
			continue
		}
		at = "variables." + v.Name
		if seen[v.Name] {
			bad(at, "declared twice")
		}
		seen[v.Name] = true
		if !slices.Contains(VariableTypes, v.Type) {
			bad(at+".type", "%q is not a variable type (one of %s)", v.Type, joinTypes(VariableTypes))
			continue
		}
		if v.Required && v.Default != nil {
			bad(at+".default", "a required variable has no default: the campaign must give it")
		}
		if v.Default != nil {
			if _, err := v.value(v.Default); err != nil {
				bad(at+".default", "%s", err)
			}
		}
		if v.Sample != nil {
			if _, err := v.value(v.Sample); err != nil {
				bad(at+".sample", "%s", err)
			}
		}
		if len([]rune(v.Label)) > 100 || len([]rune(v.LabelEN)) > 100 {
			bad(at+".label", "at most 100 characters")
		}
	}
	return probs
}

func joinTypes(ts []Type) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// schemaFor is the schema a version renders with: its source's, with a campaign
// template's declared variables in place of the open .Campaign map (a version
// saved before declarations existed keeps the open map).
func schemaFor(def Definition, schemas map[string]Schema) Schema {
	if def.Source != SourceCampaign || len(def.Variables) == 0 {
		return schemas[def.Source]
	}
	return declaredSchema(def, schemas)
}

// declaredSchema is the schema a campaign template is checked against at save:
// only what it declares may be used, so an undeclared .Campaign.x is refused.
func declaredSchema(def Definition, schemas map[string]Schema) Schema {
	s := schemas[def.Source].With()
	delete(s, "Campaign")
	for _, v := range def.Variables {
		s["Campaign."+v.Name] = v.Type
	}
	return s
}

// value checks x (as JSON decodes it, or as a caller passes it) against the
// variable's type and returns it in its stored form: a string, an integer or a
// float64, a YYYY-MM-DD string for a date, a bool.
func (v Variable) value(x any) (any, error) {
	switch v.Type {
	case String:
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("must be text, not %s", kindOf(x))
		}
		if len([]rune(s)) > 500 {
			return nil, fmt.Errorf("at most 500 characters")
		}
		return s, nil
	case Int:
		f, ok := number(x)
		if !ok || f != math.Trunc(f) {
			return nil, fmt.Errorf("must be a whole number, not %s", kindOf(x))
		}
		return int64(f), nil
	case Number, Money:
		f, ok := number(x)
		if !ok {
			return nil, fmt.Errorf("must be a number, not %s", kindOf(x))
		}
		return f, nil
	case Date:
		s, ok := x.(string)
		if d, ok2 := x.(calendar.Date); ok2 {
			return d.String(), nil
		}
		if !ok {
			return nil, fmt.Errorf("must be a date (YYYY-MM-DD), not %s", kindOf(x))
		}
		d, err := calendar.ParseDate(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("must be a date (YYYY-MM-DD): %q", s)
		}
		return d.String(), nil
	case Bool:
		b, ok := x.(bool)
		if !ok {
			return nil, fmt.Errorf("must be true or false, not %s", kindOf(x))
		}
		return b, nil
	}
	return nil, fmt.Errorf("type %q cannot be given", v.Type)
}

// number reads a JSON number, a Go number, or a decimal string ("3.10", "500,000").
func number(x any) (float64, bool) {
	switch n := x.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(n), ",", ""), 64)
		return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
	}
	return 0, false
}

func kindOf(x any) string {
	switch x := x.(type) {
	case nil:
		return "empty"
	case string:
		return fmt.Sprintf("the text %q", x)
	case bool:
		return fmt.Sprintf("%t", x)
	case float64, int, int64, json.Number:
		return fmt.Sprintf("the number %v", x)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprintf("%T", x)
}

// CampaignVars checks a campaign's variables against the version's declarations
// and returns them as the campaign's messages carry them: each given value in its
// type's form, each one left out that has a default set to it. A required
// variable missing (or empty text), a value of the wrong type and a name the
// template does not declare are problems (field vars.<name>), all of them at
// once; with them it still returns what could be resolved, for a preview that
// shows the problems beside the text. A version that declares nothing (saved
// before declarations existed) takes the values as given.
func (v Version) CampaignVars(given map[string]any) (map[string]any, error) {
	out := map[string]any{}
	if len(v.Variables) == 0 {
		maps.Copy(out, given)
		return out, nil
	}
	var probs []Problem
	declared := map[string]Variable{}
	for _, d := range v.Variables {
		declared[d.Name] = d
	}
	for _, name := range slices.Sorted(maps.Keys(given)) {
		if _, ok := declared[name]; !ok {
			msg := fmt.Sprintf("template %s does not declare %q", v.Key, name)
			if s := textdist.Closest(name, slices.Collect(maps.Keys(declared))); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			probs = append(probs, Problem{Field: "vars." + name, Message: msg})
		}
	}
	for _, d := range v.Variables {
		x, ok := given[d.Name]
		if !ok || x == nil || x == "" {
			switch {
			case d.Required:
				probs = append(probs, Problem{Field: "vars." + d.Name, Message: fmt.Sprintf("%s is required (%s)", d.describe(), d.Type)})
			case d.Default != nil:
				out[d.Name], _ = d.value(d.Default)
			}
			continue
		}
		val, err := d.value(x)
		if err != nil {
			probs = append(probs, Problem{Field: "vars." + d.Name, Message: d.describe() + " " + err.Error()})
			continue
		}
		out[d.Name] = val
	}
	if len(probs) > 0 {
		return out, &ValidationError{Problems: probs}
	}
	return out, nil
}

func (d Variable) describe() string {
	if d.LabelEN != "" {
		return fmt.Sprintf("%s (%s)", d.Name, d.LabelEN)
	}
	return d.Name
}

// sampleCampaign is what the template's own preview and trial render show for
// .Campaign: each variable's sample, else its default, else a placeholder that
// shows which variable it is.
func sampleCampaign(vars []Variable) map[string]any {
	out := map[string]any{}
	for _, d := range vars {
		for _, x := range []any{d.Sample, d.Default} {
			if x == nil {
				continue
			}
			if val, err := d.value(x); err == nil {
				out[d.Name] = val
				break
			}
		}
		if _, ok := out[d.Name]; !ok {
			out[d.Name] = placeholder(d)
		}
	}
	return out
}

func placeholder(d Variable) any {
	switch d.Type {
	case Int:
		return int64(1)
	case Number, Money:
		return 1.0
	case Date:
		return "2026-01-01"
	case Bool:
		return true
	}
	return "〈" + d.Name + "〉"
}

// typedCampaign converts the stored form of a version's declared variables to
// what its text works with: a date variable becomes a calendar.Date.
func typedCampaign(vars map[string]any, decl []Variable) {
	c, ok := vars["Campaign"].(map[string]any)
	if !ok {
		return
	}
	for _, d := range decl {
		x, ok := c[d.Name]
		if !ok {
			continue
		}
		switch d.Type {
		case Date:
			if s, ok := x.(string); ok {
				if day, err := calendar.ParseDate(s); err == nil {
					c[d.Name] = day
				}
			}
		case Int:
			if f, ok := number(x); ok {
				c[d.Name] = int64(f)
			}
		case Number, Money:
			if f, ok := number(x); ok {
				c[d.Name] = f
			}
		}
	}
}
