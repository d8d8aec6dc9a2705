package edge

import (
	"net/url"
	"strconv"
)

// Pages of a list, the API's and the console's alike: a list is read by a
// limit and an id cursor (the API's cursor, the console's after), and the next
// page starts after the last item of a full page.

// QueryNumber reads query parameter name as a non-negative integer: 0 when
// absent; ok is false when it is not such a number.
func QueryNumber(q url.Values, name string) (n int64, ok bool) {
	v := q.Get(name)
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// NextCursor is the cursor of the page after one of n items read with limit
// (0: def), whose last item has lastID: 0 when the page was not full.
func NextCursor(n, limit, def int, lastID int64) int64 {
	if limit == 0 {
		limit = def
	}
	if n > 0 && n == limit {
		return lastID
	}
	return 0
}

// NextQuery is base with name set to the cursor next (base itself is left as
// it is).
func NextQuery(base url.Values, name string, next int64) url.Values {
	v := url.Values{}
	for k, vs := range base {
		v[k] = vs
	}
	v.Set(name, strconv.FormatInt(next, 10))
	return v
}
