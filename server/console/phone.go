package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// myPageSize is how many rows a list of My customers shows a page.
const myPageSize = 30

// pageLink is one link of a pager: a page number, or a gap between numbers.
type pageLink struct {
	N       int
	Href    template.URL // query and anchor of the page (encoded by url.Values)
	Current bool
	Gap     bool
}

// pager is a list's place: its total, the rows shown and the page numbers.
type pager struct {
	Total, Page, Pages, From, To int
	Links                        []pageLink
}

// paginate cuts items to the page named by query parameter param of v (1
// when absent or out of range), size a page; the links keep v's other
// parameters and end with #anchor.
func paginate[T any](items []T, v url.Values, param, anchor string, size int) ([]T, pager) {
	page, _ := strconv.Atoi(v.Get(param))
	pg := pagerOf(len(items), page, size, v, param, anchor)
	return items[max(pg.From-1, 0):pg.To], pg
}

// pagerOf is the pager of total rows, size a page, on page (1 when out of
// range); the links keep v's other parameters and end with #anchor.
func pagerOf(total, page, size int, v url.Values, param, anchor string) pager {
	pg := pager{Total: total, Page: 1, Pages: (total + size - 1) / size}
	if page >= 1 && page <= pg.Pages {
		pg.Page = page
	}
	pg.From, pg.To = min((pg.Page-1)*size+1, total), min(pg.Page*size, total)
	if pg.Pages <= 1 {
		return pg
	}
	link := func(n int) pageLink {
		q := cloneQuery(v)
		q.Del("ok") // a notice is shown once
		q.Set(param, strconv.Itoa(n))
		return pageLink{N: n, Current: n == pg.Page, Href: template.URL(q.Encode() + "#" + url.PathEscape(anchor))} //nolint:gosec // encoded by url.Values
	}
	for n := 1; n <= pg.Pages; n++ {
		near := n == 1 || n == pg.Pages || (n >= pg.Page-2 && n <= pg.Page+2)
		switch {
		case near:
			pg.Links = append(pg.Links, link(n))
		case len(pg.Links) > 0 && !pg.Links[len(pg.Links)-1].Gap:
			pg.Links = append(pg.Links, pageLink{Gap: true})
		}
	}
	return pg
}

func cloneQuery(v url.Values) url.Values {
	q := make(url.Values, len(v))
	for k, vs := range v {
		q[k] = slices.Clone(vs)
	}
	return q
}

// fragment writes template name of page alone (a part of the page that a
// script fetches again), with the data a page gets.
func (c *Console) fragment(w http.ResponseWriter, r *http.Request, q *req, page, name string, data any) error {
	t, ok := c.pages[page]
	if !ok {
		return fmt.Errorf("console: page %s missing", page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, c.view(r, q, "", data)); err != nil {
		return fmt.Errorf("console: fragment %s of %s: %w", name, page, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", q.Lang)
	_, err := w.Write(buf.Bytes())
	return err
}

// num writes a count with thousands separators: 1234567 → "1,234,567".
// Other values are written as fmt writes them.
func num(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int32:
		n = int64(x)
	case int64:
		n = x
	case uint32:
		n = int64(x)
	case uint64:
		if x > 1<<62 {
			return strconv.FormatUint(x, 10)
		}
		n = int64(x) //nolint:gosec // bounded above
	default:
		return fmt.Sprint(v)
	}
	return groupDigits(strconv.FormatInt(n, 10))
}

// groupDigits puts a comma every three digits of an integer's decimal form.
func groupDigits(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	if len(s) <= 3 {
		return sign + s
	}
	var b strings.Builder
	b.WriteString(sign)
	head := len(s) % 3
	if head > 0 {
		b.WriteString(s[:head])
	}
	for i := head; i < len(s); i += 3 {
		if b.Len() > len(sign) {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// tel is the tel: link of a phone number, "" for a masked or empty one (a
// masked number gets no link). Only digits and a leading + are kept.
func tel(phone string) template.URL {
	if phone == "" || strings.Contains(phone, "*") {
		return ""
	}
	var b strings.Builder
	for i, r := range phone {
		if (r >= '0' && r <= '9') || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	if b.Len() < 3 {
		return ""
	}
	return template.URL("tel:" + b.String()) //nolint:gosec // digits and + only
}
