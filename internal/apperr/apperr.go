// Package apperr is the one family of domain errors the server maps: a thing
// not found, a conflict with what is stored, an input refused, an act not
// allowed. Each domain keeps its own sentinels (campaigns.ErrNotFound,
// contacts.ErrConflict, …) as values of this family, so errors.Is(err,
// campaigns.ErrNotFound) still holds and the server maps a kind once,
// whichever domain said it.
package apperr

import "errors"

// Kind is what went wrong, as a caller may act on it.
type Kind int

// The kinds.
const (
	KindNotFound  Kind = iota + 1 // the thing does not exist (or is out of the caller's scope)
	KindConflict                  // it conflicts with what is stored (a duplicate, a status, a stale copy)
	KindInvalid                   // the input is refused
	KindForbidden                 // the caller may not do this
)

// Code is the kind's default machine-readable code ("not_found", …).
func (k Kind) Code() string {
	switch k {
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindInvalid:
		return "invalid"
	case KindForbidden:
		return "forbidden"
	}
	return "internal"
}

// The kinds' sentinels: errors.Is(err, apperr.ErrNotFound) holds for every
// domain's not-found error.
var (
	ErrNotFound  = errors.New("not found")
	ErrConflict  = errors.New("conflict")
	ErrInvalid   = errors.New("invalid")
	ErrForbidden = errors.New("forbidden")
)

func (k Kind) sentinel() error {
	switch k {
	case KindNotFound:
		return ErrNotFound
	case KindConflict:
		return ErrConflict
	case KindInvalid:
		return ErrInvalid
	case KindForbidden:
		return ErrForbidden
	}
	return nil
}

// Error is a domain's error of one kind. Compare with errors.Is against the
// domain's sentinel or the kind's.
type Error struct {
	kind Kind
	text string
	said string
	code string
}

// NotFound is a not-found error reading text; said is what an API caller is
// told ("" for "not found").
func NotFound(text, said string) *Error {
	return &Error{kind: KindNotFound, text: text, said: said}
}

// Conflict is a conflict reading text; code refines the kind's code for API
// callers ("" for "conflict").
func Conflict(text, code string) *Error {
	return &Error{kind: KindConflict, text: text, code: code}
}

// Invalid is a refused input reading text.
func Invalid(text string) *Error { return &Error{kind: KindInvalid, text: text} }

// Forbidden is a refused act reading text.
func Forbidden(text string) *Error { return &Error{kind: KindForbidden, text: text} }

func (e *Error) Error() string { return e.text }

// Is makes the error match its kind's sentinel.
func (e *Error) Is(target error) bool { return target == e.kind.sentinel() }

// Kind is the error's kind.
func (e *Error) Kind() Kind { return e.kind }

// Code is the machine-readable code: the error's own, else its kind's.
func (e *Error) Code() string {
	if e.code != "" {
		return e.code
	}
	return e.kind.Code()
}

// Said is what a caller is told of a not-found error (it names nothing the
// caller did not ask for): the error's own words, else "not found".
func (e *Error) Said() string {
	if e.said != "" {
		return e.said
	}
	return "not found"
}

// As finds the first error of the family in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
