package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// NULMessage is the answer to a request with a NUL character in it.
const NULMessage = "请求中含有空字符（NUL），已拒绝。The request contains a NUL character and was refused."

// RefuseNUL answers 400 to a request with a NUL character in its path, its
// query, a form field or a JSON string of its body (up to maxBody bytes; a
// larger body is left to the handler's own cap). Postgres cannot store one in
// text: without this it became a 500 and an error in the log. JSON API paths
// get the API's error body, others plain text.
func RefuseNUL(maxBody int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bad := strings.ContainsRune(r.URL.Path, 0) || formHasNUL([]byte(r.URL.RawQuery))
		if !bad && r.Body != nil && r.Body != http.NoBody {
			mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if mt == "application/json" || mt == "application/x-www-form-urlencoded" || strings.HasSuffix(mt, "+json") {
				head, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
				r.Body = struct {
					io.Reader
					io.Closer
				}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
				if IsTimeout(err) {
					refuse(w, r, http.StatusRequestTimeout, "request_timeout", TimeoutMessage)
					return
				}
				if err == nil {
					if mt == "application/x-www-form-urlencoded" {
						bad = formHasNUL(head)
					} else {
						bad = jsonHasNUL(head)
					}
				}
			}
		}
		if !bad {
			next.ServeHTTP(w, r)
			return
		}
		refuse(w, r, http.StatusBadRequest, "nul_character", NULMessage)
	})
}

// TimeoutMessage is the answer to a body that did not arrive in time.
const TimeoutMessage = "请求内容未在规定时间内送达。The request body did not arrive in time."

// refuse answers the edge's own refusals and closes the connection (the rest
// of the body is not read): JSON API paths get the API's error body
// ({"error": {"code", "message"}}), others plain text.
func refuse(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("Connection", "close")
	if strings.HasPrefix(r.URL.Path, "/api/") || strings.HasPrefix(r.URL.Path, "/riverui/api/") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
		return
	}
	http.Error(w, msg, status)
}

func formHasNUL(body []byte) bool {
	if !bytes.Contains(body, []byte("%00")) && bytes.IndexByte(body, 0) < 0 {
		return false
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return bytes.Contains(body, []byte("%00"))
	}
	for k, vs := range v {
		if strings.ContainsRune(k, 0) {
			return true
		}
		for _, s := range vs {
			if strings.ContainsRune(s, 0) {
				return true
			}
		}
	}
	return false
}

// jsonHasNUL reports whether a JSON key or string holds U+0000. A raw NUL byte
// is not JSON at all (the handler refuses it); only the escape needs reading.
func jsonHasNUL(body []byte) bool {
	if !bytes.Contains(body, []byte(`\u0000`)) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) || err != nil {
			return false // not JSON: the handler says so
		}
		if s, ok := tok.(string); ok && strings.ContainsRune(s, 0) {
			return true
		}
	}
}
