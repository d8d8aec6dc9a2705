package revisits

import (
	"carillon/calendar"
	"carillon/internal/pii"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"time"
)

// digestVars are the digest's template variables: .Digest with the built-in
// template's fields (Date, Total, Overdue, URL, Items) and the rest of the
// digest beside them for templates that show it.
func (s *Service) digestVars(d *Digest) map[string]any {
	items := make([]map[string]any, len(d.Items))
	for i, it := range d.Items {
		m := map[string]any{"ContactID": it.ContactID, "Name": it.Name, "Tier": it.Tier, "DueDate": it.DueOn, "Overdue": it.Overdue, "DaysLate": it.DaysLate,
			"PhoneTail": pii.Tail(it.phone), "ExternalID": it.ExternalID, "Covered": it.Covered}
		if it.Last != nil {
			m["LastVisit"], m["LastMethod"], m["LastOutcome"] = it.Last.On, it.Last.Method, truncateRunes(it.Last.Outcome, 100)
		}
		items[i] = m
	}
	u := s.cfg.ConsoleURL + "/revisits?" + url.Values{"manager": {d.Manager}, "date": {d.Date.String()}}.Encode()
	return map[string]any{"Digest": map[string]any{
		"Date": d.Date, "Total": len(d.Items), "Overdue": d.OverdueCount(), "DueToday": d.DueToday(), "URL": u,
		"Items": items, "Escalated": templateValue(d.Escalated), "Team": templateValue(d.Team), "Upcoming": templateValue(d.Upcoming),
		"Festivals": templateValue(d.Festivals), "Replies": templateValue(d.Replies), "Complaints": templateValue(d.Complaints),
		"Alerts": templateValue(d.Alerts), "Weekly": weeklyVars(d.Weekly),
	}}
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// templateValue turns the digest's parts into template variables: structs
// become maps keyed by their Go field names (.Digest.Escalated[].ManagerName),
// as the templates' schemas name variables; dates and times stay values;
// raw JSON is decoded. Fields marked json:"-" are left out.
func templateValue(v any) any {
	return tv(reflect.ValueOf(v))
}

var (
	dateType = reflect.TypeOf(calendar.Date{})
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage(nil))
)

func tv(v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	switch {
	case v.Type() == dateType, v.Type() == timeType:
		return v.Interface()
	case v.Type() == rawType:
		var out any
		if err := json.Unmarshal(v.Bytes(), &out); err != nil {
			return nil
		}
		return out
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return tv(v.Elem())
	case reflect.Struct:
		m := make(map[string]any, v.NumField())
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			m[f.Name] = tv(v.Field(i))
		}
		return m
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range v.Len() {
			out[i] = tv(v.Index(i))
		}
		return out
	case reflect.Map:
		m := make(map[string]any, v.Len())
		for _, k := range v.MapKeys() {
			m[fmt.Sprint(k.Interface())] = tv(v.MapIndex(k))
		}
		return m
	default:
		return v.Interface()
	}
}

// weeklyVars is the weekly feedback summary as the digest template shows it:
// counts (the console lists the records); nil when the digest has none.
func weeklyVars(w *WeeklySummary) any {
	if w == nil {
		return nil
	}
	n := 0
	for _, c := range w.New {
		n += c
	}
	return map[string]any{"New": n, "Resolved": w.Resolved, "Open": len(w.Open)}
}
