package revisits

import (
	"carillon/internal/pii"
	"encoding/json"
	"net/url"
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
		"Items": items, "Escalated": partVars(d.Escalated, Escalation.vars), "Team": partVars(d.Team, TeamLine.vars),
		"Upcoming": partVars(d.Upcoming, Upcoming.vars), "Festivals": partVars(d.Festivals, Upcoming.vars),
		"Replies": partVars(d.Replies, Reply.vars), "Complaints": partVars(d.Complaints, OverdueFeedback.vars),
		"Alerts": partVars(d.Alerts, Alert.vars), "Weekly": weeklyVars(d.Weekly),
	}}
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

// The digest's parts as template variables: each part is a map keyed by its Go
// field names (.Digest.Escalated[].ManagerName), as the templates' schemas
// name variables; dates and times stay values; an alert's JSON data is decoded.

func partVars[T any](xs []T, f func(T) map[string]any) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}

func (e Escalation) vars() map[string]any {
	return map[string]any{"Manager": e.Manager, "ManagerName": e.ManagerName, "ContactID": e.ContactID,
		"ExternalID": e.ExternalID, "Name": e.Name, "Tier": e.Tier, "DueOn": e.DueOn, "DaysLate": e.DaysLate}
}

func (l TeamLine) vars() map[string]any {
	return map[string]any{"Manager": l.Manager, "Name": l.Name, "Due": l.Due, "Done": l.Done, "Overdue": l.Overdue}
}

func (u Upcoming) vars() map[string]any {
	return map[string]any{"Date": u.Date, "Kind": u.Kind, "ContactID": u.ContactID, "ExternalID": u.ExternalID,
		"Name": u.Name, "Note": u.Note}
}

func (r Reply) vars() map[string]any {
	return map[string]any{"ID": r.ID, "ContactID": r.ContactID, "ExternalID": r.ExternalID, "Name": r.Name,
		"At": r.At, "Text": r.Text}
}

func (f OverdueFeedback) vars() map[string]any {
	return map[string]any{"ID": f.ID, "ContactID": f.ContactID, "ExternalID": f.ExternalID, "Name": f.Name,
		"Owner": f.Owner, "State": f.State, "OpenedOn": f.OpenedOn, "SLADue": f.SLADue, "DaysOver": f.DaysOver}
}

func (a Alert) vars() map[string]any {
	var data any
	if len(a.Data) > 0 && json.Unmarshal(a.Data, &data) != nil {
		data = nil
	}
	return map[string]any{"ID": a.ID, "ContactID": a.ContactID, "ExternalID": a.ExternalID, "Name": a.Name,
		"Rule": a.Rule, "RuleName": a.RuleName, "RuleNameEN": a.RuleNameEN, "Data": data, "At": a.At}
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
