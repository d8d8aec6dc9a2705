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
	s, err := searchOf(r.URL.Query(), q.P)
	if err != nil {
		return err
	}
	cols := []string{"external_id", "name", "phone", "email", "tier", "manager", "tags", "status", "created_at", "updated_at"}
	// The header goes out with the first row (or at the end when none
	// matched), so a refused search is still answered with its error page.
	var cw *csv.Writer
	begin := func() error {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="contacts.csv"`)
		_, _ = w.Write([]byte("\ufeff"))
		cw = csv.NewWriter(w)
		return cw.Write(c.csvHeader(q.Lang, cols))
	}
	_, err = c.deps.Contacts.ExportSearch(r.Context(), q.actor(r), scope(q.P), s, func(ct contacts.Contact) error {
		if cw == nil {
			if err := begin(); err != nil {
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
	switch {
	case err != nil && cw != nil:
		return nil // the header is gone; the audit row says the export stopped
	case err != nil:
		return err
	case cw == nil:
		if err := begin(); err != nil {
			return err
		}
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
