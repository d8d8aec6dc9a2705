package console

import (
	"fmt"
	"html/template"
	"net/url"
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
	pg := pager{Total: len(items), Page: 1, Pages: (len(items) + size - 1) / size}
	if n, err := strconv.Atoi(v.Get(param)); err == nil && n >= 1 && n <= pg.Pages {
		pg.Page = n
	}
	if pg.Pages <= 1 {
		pg.From, pg.To = min(1, len(items)), len(items)
		return items, pg
	}
	lo := (pg.Page - 1) * size
	hi := min(lo+size, len(items))
	pg.From, pg.To = lo+1, hi
	link := func(n int) pageLink {
		q := url.Values{}
		for k, vs := range v {
			q[k] = vs
		}
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
	return items[lo:hi], pg
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
