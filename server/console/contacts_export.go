package console

import (
	"encoding/csv"
	"net/http"
	"strings"

	"carillon/contacts"
)

// contactsCSV streams every contact the search matches (in the user's
// scope, masked as the list shows them) as CSV: headers in the page's
// language, times in the console's zone, formula-like cells prefixed with
// "'" (contacts.Cell). The contacts store audits it.
func (c *Console) contactsCSV(w http.ResponseWriter, r *http.Request, q *req) error {
	v := r.URL.Query()
	s := search{Q: strings.TrimSpace(v.Get("q")), Tag: strings.TrimSpace(v.Get("tag")), Tier: v.Get("tier")}
	if len(s.Q) > 100 || len(s.Tag) > 100 {
		return badRequest("the search is longer than 100 characters")
	}
	if s.Tier != "" && !contains([]string{"A", "B", "C", "D"}, s.Tier) {
		return badRequest("tier must be A, B, C or D")
	}
	s.TailOnly = !q.P.SeesPersonalData()
	cols := []string{"external_id", "name", "phone", "email", "tier", "manager", "tags", "status", "created_at", "updated_at"}
	started := false
	var cw *csv.Writer
	_, err := c.deps.Contacts.ExportSearch(r.Context(), q.actor(r), scope(q.P), s, func(ct contacts.Contact) error {
		if !started {
			started = true
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", `attachment; filename="contacts.csv"`)
			_, _ = w.Write([]byte("\ufeff"))
			cw = csv.NewWriter(w)
			if err := cw.Write(c.csvHeader(q.Lang, cols)); err != nil {
				return err
			}
		}
		ct = show(q.P, ct)
		status := string(ct.Status)
		if q.Lang != "en" {
			status = trOr(q.Lang, "contact.status."+status, status)
		}
		if err := cw.Write([]string{contacts.Cell(ct.ExternalID), contacts.Cell(ct.Name), contacts.Cell(ct.Phone), contacts.Cell(ct.Email),
			ct.Tier, contacts.Cell(ct.Manager), contacts.Cell(strings.Join(ct.Tags, ";")), status, c.csvTime(ct.CreatedAt), c.csvTime(ct.UpdatedAt)}); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	})
	if err != nil {
		if started {
			return nil // the header is gone; the store logged nothing, the audit says it stopped
		}
		return err
	}
	if !started {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="contacts.csv"`)
		_, _ = w.Write([]byte("\ufeff"))
		cw = csv.NewWriter(w)
		_ = cw.Write(c.csvHeader(q.Lang, cols))
		cw.Flush()
		return cw.Error()
	}
	return nil
}

func init() {
	addMessages(map[string][2]string{
		"lang.csv.external_id": {"external_id", "客户编号"},
		"lang.csv.name":        {"name", "姓名"},
		"lang.csv.phone":       {"phone", "手机号"},
		"lang.csv.email":       {"email", "邮箱"},
		"lang.csv.tier":        {"tier", "等级"},
		"lang.csv.manager":     {"manager", "客户经理"},
		"lang.csv.tags":        {"tags", "标签"},
		"lang.csv.created_at":  {"created_at", "建档时间"},
		"lang.csv.updated_at":  {"updated_at", "更新时间"},
		"contacts.export_csv":  {"Export CSV", "导出"},
	})
}
