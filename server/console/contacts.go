package console

import (
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"carillon/contacts"
	"carillon/internal/identity"
)

func (c *Console) contactRoutes() {
	c.page("GET "+Prefix+"/contacts", identity.PermContactsRead, c.contactSearch)
	c.page("GET "+Prefix+"/contacts/export.csv", identity.PermContactsExportList, c.contactsCSV)
	c.page("GET "+Prefix+"/contacts/{id}", identity.PermContactsRead, c.contactPage)
	c.page("POST "+Prefix+"/contacts/{id}/consents", identity.PermContactsWrite, c.setConsent)
	c.bulkRoutes()
}

// search is a contact search: q is a customer number, a phone number's last
// digits (4 or more) or the beginning of a name; tag and tier filter. The
// contacts store runs it (contacts.(*Store).SearchIDs).
type search = contacts.SearchQuery

type searchData struct {
	S     search
	Rows  []contacts.Contact
	Next  template.URL // query of the next page (encoded by url.Values)
	First template.URL // query of the first page, when not on it
	Tiers []string
	// Total counts the matches (up to searchCountCap: More says there are
	// more); Pages numbers the pages; ManagerOf names the rows' managers.
	Total     int
	More      bool
	Pages     pager
	ManagerOf map[int64]string
	// Export is the query of the search's CSV export (everything matching).
	Export template.URL
	// Page is the page shown (1 first); CanTag offers the bulk tag form,
	// Bulk is that form as it was filled in; Notice says what a bulk
	// change did.
	Page   int
	CanTag bool
	Bulk   bulkForm
	Notice string
}

// searchCountCap bounds a search's count: past it the list says "more than".
const searchCountCap = 10_000

// searchOf reads a contacts search from the page's query: the text, tag and
// tier, checked, masked to phone tails for roles that may not see personal data.
func searchOf(v url.Values, p identity.Principal) (search, error) {
	s := search{Q: strings.TrimSpace(v.Get("q")), Tag: strings.TrimSpace(v.Get("tag")), Tier: v.Get("tier")}
	if len(s.Q) > 100 || len(s.Tag) > 100 {
		return s, badRequest("the search is longer than 100 characters")
	}
	if s.Tier != "" && !contains([]string{"A", "B", "C", "D"}, s.Tier) {
		return s, badRequest("tier must be A, B, C or D")
	}
	s.TailOnly = !p.SeesPersonalData()
	return s, nil
}

func (c *Console) contactSearch(w http.ResponseWriter, r *http.Request, q *req) error {
	v := r.URL.Query()
	d, err := c.searchList(r, q, v)
	if err != nil {
		return err
	}
	d.Notice = bulkNotice(q.Lang, v)
	if v.Get("fragment") == "1" {
		return c.fragment(w, r, q, "contacts", "results", d)
	}
	c.render(w, r, q, http.StatusOK, "contacts", "contacts.title", d)
	return nil
}

// searchList is the contacts list of the search, page and cursor in v (the
// page's query, or the bulk tag form that came from it).
func (c *Console) searchList(r *http.Request, q *req, v url.Values) (searchData, error) {
	s, err := searchOf(v, q.P)
	if err != nil {
		return searchData{}, err
	}
	s.Limit = DefaultPageSize
	after, err := afterParam(v, "after must be a contact id")
	if err != nil {
		return searchData{}, err
	}
	s.After = after
	page := 1
	if p := v.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > searchCountCap/DefaultPageSize {
			return searchData{}, badRequest(fmt.Sprintf("page must be a number from 1 to %d", searchCountCap/DefaultPageSize))
		}
		page = n
	}
	s.Offset = (page - 1) * DefaultPageSize
	ids, more, err := c.deps.Contacts.SearchIDs(r.Context(), scope(q.P), s)
	if err != nil {
		return searchData{}, err
	}
	d := searchData{S: s, Tiers: []string{"A", "B", "C", "D"}, ManagerOf: map[int64]string{}, Page: page,
		CanTag: q.P.Can(identity.PermContactsBulkTag), Bulk: bulkForm{Selected: map[int64]bool{}}}
	if d.Total, d.More, err = c.deps.Contacts.CountSearch(r.Context(), scope(q.P), s, searchCountCap); err != nil {
		return searchData{}, err
	}
	if len(ids) > 0 {
		got, err := c.deps.Contacts.GetMany(r.Context(), ids)
		if err != nil {
			return searchData{}, err
		}
		var managers []int64
		for _, id := range ids {
			if ct, ok := got[id]; ok {
				d.Rows = append(d.Rows, show(q.P, ct))
				if ct.ManagerID != 0 && !slices.Contains(managers, ct.ManagerID) {
					managers = append(managers, ct.ManagerID)
				}
			}
		}
		ms, err := c.deps.Contacts.ManagersByID(r.Context(), managers)
		if err != nil {
			return searchData{}, err
		}
		for id, m := range ms {
			d.ManagerOf[id] = m.Name
		}
	}
	base := listQuery(s)
	if s.After > 0 {
		base.Set("after", strconv.FormatInt(s.After, 10))
	}
	d.Export = template.URL(cmp.Or(base.Encode(), "all=1")) //nolint:gosec // encoded by url.Values
	d.Pages = pagerOf(d.Total, page, DefaultPageSize, base, "page", "contact-results")
	if more {
		nv := cloneQuery(base)
		nv.Set("page", strconv.Itoa(page+1))
		d.Next = template.URL(nv.Encode()) //nolint:gosec // encoded by url.Values
	}
	if s.After > 0 || page > 1 {
		base.Del("after")
		d.First = template.URL(cmp.Or(base.Encode(), "all=1")) //nolint:gosec // encoded by url.Values
	}
	return d, nil
}

// timelineKinds are the timeline filters offered: a prefix of event kinds.
var timelineKinds = []string{"message.", "reply.", "consent.", "contact.", "revisit.", "feedback."}

type contactData struct {
	C        contacts.Contact
	Manager  *contacts.Manager
	Consents []contacts.Consent
	Events   []contacts.Event
	Kind     string
	Kinds    []string
	Next     template.URL // query of the next page (encoded by url.Values)
	Cursor   string
	CanEdit  bool
	Channels []string
	Purposes []string
	Birthday string
	Attrs    []attrField
	// The revisit form, for the customer's manager.
	CanRevisit bool
	Methods    []string
	Outcomes   []string
	Tiers      []string
}

func (c *Console) contactID(r *http.Request, p identity.Principal) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound()
	}
	if err := c.deps.Contacts.CheckScope(r.Context(), scope(p), id); err != nil {
		return 0, err
	}
	return id, nil
}

func (c *Console) contactPage(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := c.contactID(r, q.P)
	if err != nil {
		return err
	}
	ct, err := c.deps.Contacts.Get(r.Context(), id)
	if err != nil {
		return err
	}
	kind := r.URL.Query().Get("kind")
	if kind != "" && !contains(timelineKinds, kind) {
		return badRequest("unknown timeline filter")
	}
	cursor := r.URL.Query().Get("cursor")
	tl, err := c.deps.Contacts.Timeline(r.Context(), id, contacts.TimelineFilter{Kind: kind, Cursor: cursor, Limit: DefaultPageSize})
	if err != nil {
		return err
	}
	cons, err := c.deps.Contacts.Consents(r.Context(), id)
	if err != nil {
		return err
	}
	if !q.P.SeesPersonalData() {
		for i := range tl.Items {
			tl.Items[i] = tl.Items[i].Masked()
		}
	}
	d := contactData{C: show(q.P, ct), Consents: cons, Events: tl.Items, Kind: kind, Kinds: timelineKinds, Cursor: cursor,
		CanEdit: q.P.Can(identity.PermContactsWrite) && ct.ErasedAt == nil, Channels: []string{contacts.ChannelSMS, contacts.ChannelEmail, contacts.ChannelWeChat},
		Purposes: []string{contacts.PurposeMarketing, contacts.PurposeCare, contacts.PurposeService}, Birthday: birthdayText(ct.Birthday, q.Lang)}
	if tl.Next != "" {
		nv := url.Values{"cursor": {tl.Next}}
		if kind != "" {
			nv.Set("kind", kind)
		}
		d.Next = template.URL(nv.Encode()) //nolint:gosec // encoded by url.Values
	}
	if c.deps.Revisits != nil && q.P.Can(identity.PermMyCustomers) && ct.ErasedAt == nil {
		d.CanRevisit, d.Methods, d.Outcomes, d.Tiers = true, revisitMethods, revisitOutcomes, []string{"A", "B", "C", "D"}
	}
	d.Attrs = attrFields(ct.Attrs, q.Lang)
	if ct.Manager != "" {
		m, err := c.deps.Contacts.GetManager(r.Context(), ct.Manager)
		if err == nil {
			d.Manager = &m
		}
	}
	c.render(w, r, q, http.StatusOK, "contact", "contact.title", d)
	return nil
}

// birthdayText shows a birthday on the calendar the customer keeps.
func birthdayText(b *contacts.Birthday, lang string) string {
	if b == nil {
		return ""
	}
	solar := ""
	if b.Month > 0 {
		if b.Year > 0 {
			solar = fmt.Sprintf("%04d-%02d-%02d", b.Year, b.Month, b.Day)
		} else {
			solar = fmt.Sprintf("%02d-%02d", b.Month, b.Day)
		}
	}
	if b.Calendar == "lunar" && b.LunarMonth > 0 {
		leap := ""
		if b.LunarLeap {
			leap = tr(lang, "contact.leap")
		}
		s := fmt.Sprintf(tr(lang, "contact.lunar_birthday"), leap, b.LunarMonth, b.LunarDay)
		if solar != "" {
			s += " (" + solar + ")"
		}
		return s
	}
	return solar
}

// setConsent records a consent statement made to an administrator, with the
// reason they give.
func (c *Console) setConsent(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := c.contactID(r, q.P)
	if err != nil {
		return err
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" {
		return badRequest("a reason is required to change a consent")
	}
	granted, err := strconv.ParseBool(r.PostFormValue("granted"))
	if err != nil {
		return badRequest("granted must be true or false")
	}
	changed, err := c.deps.Contacts.SetConsent(r.Context(), nil, q.actor(r), id, contacts.ConsentChange{
		Channel: r.PostFormValue("channel"), Purpose: r.PostFormValue("purpose"), Granted: granted, Source: "console", Reason: reason})
	if err != nil {
		return err
	}
	notice := "unchanged"
	if changed {
		notice = "consent"
	}
	seeOther(w, r, fmt.Sprintf("%s/contacts/%d", Prefix, id), notice)
	return nil
}
