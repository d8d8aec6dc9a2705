package channels

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"

	"carillon/internal/pii"
)

// Kinds of refused requests, for errors.Is.
var (
	ErrUnauthorized = errors.New("bad signature or secret") // 401
	ErrForbidden    = errors.New("forbidden")               // 403
	ErrMalformed    = errors.New("malformed request")       // 400
	ErrTooLarge     = errors.New("request body too large")  // 413
)

// DefaultMaxBody is the largest push body a parser reads (1 MiB).
const DefaultMaxBody int64 = 1 << 20

// RequestError is a push refused by a parser. errors.Is(err, ErrUnauthorized |
// ErrMalformed | ErrTooLarge | ErrForbidden) tells which; HTTPStatus maps it.
type RequestError struct {
	Kind   error
	Reason string
}

func (e *RequestError) Error() string {
	if e.Reason == "" {
		return e.Kind.Error()
	}
	return e.Kind.Error() + ": " + e.Reason
}

func (e *RequestError) Unwrap() error { return e.Kind }

// HTTPStatus is the status a webhook handler answers for this error.
func (e *RequestError) HTTPStatus() int {
	switch e.Kind {
	case ErrUnauthorized:
		return http.StatusUnauthorized
	case ErrForbidden:
		return http.StatusForbidden
	case ErrTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// Unauthorized returns a *RequestError of kind ErrUnauthorized. Personal data in
// the reason (which may quote the request) is masked (pii.Text).
func Unauthorized(reason string) error {
	return &RequestError{Kind: ErrUnauthorized, Reason: pii.Text(reason)}
}

// Malformed returns a *RequestError of kind ErrMalformed. Its reason usually quotes
// the refused push (a header line, a parser's complaint), so personal data in it is
// masked (pii.Text): the refusal is logged and answered.
func Malformed(format string, args ...any) error {
	return &RequestError{Kind: ErrMalformed, Reason: pii.Text(fmt.Sprintf(format, args...))}
}

// ReadBody reads a push body of at most max bytes (DefaultMaxBody when max <= 0);
// a larger body is an ErrTooLarge *RequestError.
func ReadBody(r *http.Request, max int64) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxBody
	}
	if r.ContentLength > max {
		return nil, &RequestError{Kind: ErrTooLarge, Reason: fmt.Sprintf("body of %d bytes exceeds %d", r.ContentLength, max)}
	}
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, Malformed("read body: %v", err)
	}
	if int64(len(b)) > max {
		return nil, &RequestError{Kind: ErrTooLarge, Reason: fmt.Sprintf("body exceeds %d bytes", max)}
	}
	return b, nil
}

// ReadForm parses a form-encoded push body of at most max bytes.
func ReadForm(r *http.Request, max int64) error {
	b, err := ReadBody(r, max)
	if err != nil {
		return err
	}
	r.Body = io.NopCloser(bytesReader(b))
	if err := r.ParseForm(); err != nil {
		return Malformed("form: %v", err)
	}
	return nil
}

// CheckToken compares the secret token a push carries (the callback URL's "token"
// query parameter, or X-Carillon-Token header) with want, in constant time. Aliyun
// and Tencent do not sign their pushes; the callback URL carries the secret.
func CheckToken(r *http.Request, want string) error {
	if want == "" {
		return Unauthorized("no webhook secret configured")
	}
	got := r.URL.Query().Get("token")
	if got == "" {
		got = r.Header.Get("X-Carillon-Token")
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return Unauthorized("webhook token does not match")
	}
	return nil
}

// StatusOf maps any parser error to an HTTP status (500 for unknown errors).
func StatusOf(err error) int {
	var re *RequestError
	if errors.As(err, &re) {
		return re.HTTPStatus()
	}
	return http.StatusInternalServerError
}
