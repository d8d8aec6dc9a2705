package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"carillon/contacts"
	"carillon/internal/identity"
)

// Bulk tags on the contacts list: rows ticked (or every contact the search
// matches) get a tag added or removed, after a confirmation page that counts
// them and shows a few. The contacts store does the work in the user's
// scope (contacts.(*Store).PreviewBulkTag and ApplyBulkTag): an id posted
// from outside it is never matched.

// bulkSampleSize is how many of the contacts a bulk change covers its
// confirmation shows.
const bulkSampleSize = 5

// bulkMaxIDs bounds the rows one form may tick (a page holds DefaultPageSize).
const bulkMaxIDs = 1000

// bulkForm is the bulk tag form as the user filled it in.
type bulkForm struct {
	IDs      []int64
	Selected map[int64]bool
	All      bool
	Tag      string
	Remove   bool
	// Err is what was wrong with the form, in the page's language.
	Err string
}

// bulkConfirm is the confirmation page's data.
type bulkConfirm struct {
	S      search
	B      bulkForm
	Page   int
	Res    contacts.BulkTagResult
	Sample []contacts.Contact
	// Others counts the matches the sample leaves out.
	Others int
}

func (c *Console) bulkRoutes() {
	c.page("POST "+Prefix+"/contacts/bulk-tag", identity.PermContactsBulkTag, c.bulkTag)
}

// bulkFormOf reads the bulk tag form (the search it came with is read by searchOf).
func bulkFormOf(f url.Values) (bulkForm, error) {
	b := bulkForm{All: f.Get("all") == "1", Tag: strings.TrimSpace(f.Get("bulk_tag")), Selected: map[int64]bool{}}
	switch f.Get("op") {
	case "", "add":
	case "remove":
		b.Remove = true
	default:
		return b, badRequest("op must be add or remove")
	}
	if len(f["id"]) > bulkMaxIDs {
		return b, badRequest("too many rows chosen")
	}
	for _, s := range f["id"] {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return b, badRequest("a chosen row is not a contact id")
		}
		if !b.Selected[id] {
			b.Selected[id] = true
			b.IDs = append(b.IDs, id)
		}
	}
	return b, nil
}

// bulkTag previews a bulk tag change (the confirmation page), applies it
// (confirm=1) or goes back to the list with the form kept (back=1). A form
// that names no contact or a bad tag goes back to the list too, its search,
// ticks and tag kept, the problem said above the form.
func (c *Console) bulkTag(w http.ResponseWriter, r *http.Request, q *req) error {
	if err := r.ParseForm(); err != nil {
		return badRequest("the form could not be read")
	}
	f := r.PostForm
	s, err := searchOf(f, q.P)
	if err != nil {
		return err
	}
	b, err := bulkFormOf(f)
	if err != nil {
		return err
	}
	if f.Get("back") == "1" {
		return c.bulkAgain(w, r, q, f, b, http.StatusOK)
	}
	if !b.All && len(b.IDs) == 0 {
		b.Err = tr(q.Lang, "bulk.err.none")
		return c.bulkAgain(w, r, q, f, b, http.StatusBadRequest)
	}
	tag, err := contacts.ValidTag(b.Tag)
	if err != nil {
		b.Err = bulkTagError(q.Lang, err)
		return c.bulkAgain(w, r, q, f, b, http.StatusBadRequest)
	}
	b.Tag = tag
	if !b.All {
		s.IDs = b.IDs
	}
	bt := contacts.BulkTag{Search: s, Tag: tag, Remove: b.Remove}
	if f.Get("confirm") == "1" {
		res, err := c.deps.Contacts.ApplyBulkTag(r.Context(), q.actor(r), scope(q.P), bt)
		if ve := (*contacts.ValidationError)(nil); errors.As(err, &ve) {
			b.Err = bulkTagError(q.Lang, err)
			return c.bulkAgain(w, r, q, f, b, http.StatusBadRequest)
		}
		if err != nil {
			return err
		}
		back := listQuery(s)
		back.Set("ok", "ok.bulk")
		back.Set("n", strconv.Itoa(res.Changed))
		back.Set("same", strconv.Itoa(res.Matched-res.Changed))
		back.Set("bt", tag)
		if b.Remove {
			back.Set("op", "remove")
		}
		http.Redirect(w, r, Prefix+"/contacts?"+back.Encode(), http.StatusSeeOther)
		return nil
	}
	res, err := c.deps.Contacts.PreviewBulkTag(r.Context(), scope(q.P), bt)
	if ve := (*contacts.ValidationError)(nil); errors.As(err, &ve) {
		b.Err = bulkTagError(q.Lang, err)
		return c.bulkAgain(w, r, q, f, b, http.StatusBadRequest)
	}
	if err != nil {
		return err
	}
	d := bulkConfirm{S: s, B: b, Res: res, Page: pageOf(f)}
	sq := s
	sq.Limit = bulkSampleSize
	ids, _, err := c.deps.Contacts.SearchIDs(r.Context(), scope(q.P), sq)
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		got, err := c.deps.Contacts.GetMany(r.Context(), ids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if ct, ok := got[id]; ok {
				d.Sample = append(d.Sample, show(q.P, ct))
			}
		}
	}
	d.Others = max(res.Matched-len(d.Sample), 0)
	c.render(w, r, q, http.StatusOK, "contacts_bulk", "bulk.title", d)
	return nil
}

// bulkAgain shows the contacts list of the form's search and page again,
// with the form as it was.
func (c *Console) bulkAgain(w http.ResponseWriter, r *http.Request, q *req, f url.Values, b bulkForm, status int) error {
	d, err := c.searchList(r, q, f)
	if err != nil {
		return err
	}
	d.Bulk = b
	c.render(w, r, q, status, "contacts", "contacts.title", d)
	return nil
}

// pageOf is the list page a form came from (1 when absent or bad).
func pageOf(v url.Values) int {
	n, err := strconv.Atoi(v.Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// listQuery is a search as the list's query.
func listQuery(s search) url.Values {
	v := url.Values{}
	for k, val := range map[string]string{"q": s.Q, "tag": s.Tag, "tier": s.Tier} {
		if val != "" {
			v.Set(k, val)
		}
	}
	return v
}

// bulkTagError is what contacts.ValidTag (or the store, for a search too
// large) refused, in lang.
func bulkTagError(lang string, err error) string {
	var ve *contacts.ValidationError
	if errors.As(err, &ve) && len(ve.Fields) > 0 {
		switch msg := ve.Fields[0].Message; {
		case ve.Fields[0].Field == "search":
			return trMessage(lang, msg)
		case msg == "is required":
			return tr(lang, "bulk.err.tag_required")
		case strings.HasPrefix(msg, "a tag has at most"):
			return fmt.Sprintf(tr(lang, "bulk.err.tag_long"), contacts.MaxTagLength)
		case strings.HasPrefix(msg, "a tag holds"):
			return tr(lang, "bulk.err.tag_chars")
		}
	}
	return trDetail(lang, err.Error())
}

// bulkNotice is the notice a bulk change's redirect asks for (?ok=ok.bulk),
// "" for any other page. Its numbers and tag come from the query: they are
// checked (a tag as contacts.ValidTag reads one) before they are shown.
func bulkNotice(lang string, v url.Values) string {
	if v.Get("ok") != "ok.bulk" {
		return ""
	}
	n, err1 := strconv.Atoi(v.Get("n"))
	same, err2 := strconv.Atoi(v.Get("same"))
	tag, err3 := contacts.ValidTag(v.Get("bt"))
	if err1 != nil || err2 != nil || err3 != nil || n < 0 || same < 0 {
		return ""
	}
	key, sameKey := "bulk.notice_added", "bulk.notice_had"
	if v.Get("op") == "remove" {
		key, sameKey = "bulk.notice_removed", "bulk.notice_lacked"
	}
	out := fmt.Sprintf(tr(lang, key), num(n), tag)
	if same > 0 {
		out += fmt.Sprintf(tr(lang, sameKey), num(same))
	}
	return out
}

func init() {
	addMessages(map[string][2]string{
		"bulk.title":            {"Tag customers", "批量标签"},
		"bulk.legend":           {"Tag the chosen customers", "为选中的客户设置标签"},
		"bulk.choose":           {"Choose", "选择"},
		"bulk.choose_row":       {"Choose %s", "选择 %s"},
		"bulk.all":              {"All %s customers matching this search", "选择全部符合此搜索的 %s 位客户"},
		"bulk.all_more":         {"All customers matching this search (more than %s)", "选择全部符合此搜索的客户（超过 %s 位）"},
		"bulk.op":               {"Action", "操作"},
		"bulk.add":              {"Add tag", "添加标签"},
		"bulk.remove":           {"Remove tag", "移除标签"},
		"bulk.tag":              {"Tag", "标签"},
		"bulk.preview":          {"Preview", "预览"},
		"bulk.hint":             {"Tick rows below, or all matching customers; nothing changes before you confirm.", "勾选下方的客户，或选择全部符合搜索的客户；确认之前不会有任何改动。"},
		"bulk.confirm_add":      {"Add the tag %s to these customers?", "为这些客户添加标签「%s」？"},
		"bulk.confirm_rm":       {"Remove the tag %s from these customers?", "从这些客户移除标签「%s」？"},
		"bulk.matched":          {"Customers chosen", "选中的客户"},
		"bulk.changed":          {"Customers that will change", "将有变化的客户"},
		"bulk.none_matched":     {"None of the chosen customers is one you may change: nothing to do.", "选中的客户中没有您可以修改的：无需操作。"},
		"bulk.sample":           {"Among them", "其中包括"},
		"bulk.others":           {"and %s more", "另有 %s 位"},
		"bulk.confirm":          {"Confirm", "确认"},
		"bulk.back":             {"Back to the list", "返回列表"},
		"bulk.notice_added":     {"Tag %[2]s added to %[1]s customers.", "已为 %[1]s 位客户添加标签 %[2]s。"},
		"bulk.notice_removed":   {"Tag %[2]s removed from %[1]s customers.", "已为 %[1]s 位客户移除标签 %[2]s。"},
		"bulk.notice_had":       {" %s already had it.", "另有 %s 位已有此标签。"},
		"bulk.notice_lacked":    {" %s did not have it.", "另有 %s 位本无此标签。"},
		"bulk.err.none":         {"Choose at least one customer, or all matching customers, then try again.", "请至少勾选一位客户，或选择全部符合搜索的客户，然后重试。"},
		"bulk.err.tag_required": {"Type the tag to add or remove.", "请填写要添加或移除的标签。"},
		"bulk.err.tag_long":     {"A tag has at most %d characters.", "标签最多 %d 个字符。"},
		"bulk.err.tag_chars":    {"A tag holds letters, digits, _ - and . only (no spaces or punctuation).", "标签只能包含文字、数字和 _ - . 符号（不能有空格或其他标点）。"},
		"lang.err.bulk_max":     {"the search matches more than %s customers", "搜索匹配的客户超过 %s 位，请缩小搜索范围"},
	})
}
