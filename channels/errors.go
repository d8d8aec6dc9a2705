package channels

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"carillon/internal/pii"
)

// Class is what the delivery worker should do about a failed send.
type Class int

// The three classes of send failures.
const (
	// Temporary: retry later, possibly through another provider.
	Temporary Class = iota
	// RateLimited: retry after the given time; a kind of temporary failure.
	RateLimited
	// Permanent: the address will never work; give up on this message.
	Permanent
)

func (c Class) String() string {
	switch c {
	case RateLimited:
		return "rate_limited"
	case Permanent:
		return "permanent"
	}
	return "temporary"
}

// Scope says what a rate limit applies to.
type Scope int

// Rate-limit scopes.
const (
	// ScopeProvider: the provider (or our account with it) is throttled.
	ScopeProvider Scope = iota
	// ScopeRecipient: only this recipient is limited (too many messages to one
	// number); delay or fall back this message only, never the provider.
	ScopeRecipient
)

// Error is a classified send failure. Adapters return it (wrapped or not); use
// errors.As or the helpers IsPermanent, IsRateLimited, IsTemporary, RetryAfter.
type Error struct {
	Class      Class
	Scope      Scope         // for RateLimited
	RetryAfter time.Duration // for RateLimited (and Temporary when the provider says)
	// Address is set on permanent errors that condemn the address itself (invalid
	// number, unknown mailbox, user blocked us): delivery may suppress it. Other
	// permanent errors concern the message (unapproved template, field too long).
	Address  bool
	Provider string
	Code     string // the provider's error code, e.g. isv.MOBILE_NUMBER_ILLEGAL
	Message  string // the provider's message, masked (pii.Text) by the constructors
	Err      error  // the underlying error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	b.WriteString(": ")
	b.WriteString(e.Class.String())
	if e.Class == RateLimited && e.Scope == ScopeRecipient {
		b.WriteString(" (recipient)")
	}
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	// A provider's message or a transport error may quote the address it refused.
	return pii.Text(b.String())
}

func (e *Error) Unwrap() error { return e.Err }

// ErrMaybeAccepted is in the chain of a failure that leaves open whether the
// provider accepted the message: it went out whole and the answer never came
// (an SMTP connection lost after DATA's final dot). Such a message is not sent
// again at once, through this provider or another; delivery waits for a receipt.
var ErrMaybeAccepted = errors.New("the provider may have accepted the message")

// NewTemporary returns a temporary failure.
func NewTemporary(provider, code, msg string, err error) *Error {
	return &Error{Class: Temporary, Provider: provider, Code: code, Message: pii.Text(msg), Err: err}
}

// NewPermanent returns a permanent failure.
func NewPermanent(provider, code, msg string, err error) *Error {
	return &Error{Class: Permanent, Provider: provider, Code: code, Message: pii.Text(msg), Err: err}
}

// NewRateLimited returns a rate-limit failure of the given scope.
func NewRateLimited(provider, code, msg string, scope Scope, after time.Duration) *Error {
	return &Error{Class: RateLimited, Scope: scope, RetryAfter: after, Provider: provider, Code: code, Message: pii.Text(msg)}
}

// ClassOf classifies any error: a *Error says its class; anything else (network
// errors, timeouts, cancelled contexts) is temporary.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return Temporary
}

// IsPermanent reports whether err says the address will never work.
func IsPermanent(err error) bool { return err != nil && ClassOf(err) == Permanent }

// IsRateLimited reports whether err is a rate limit.
func IsRateLimited(err error) bool { return err != nil && ClassOf(err) == RateLimited }

// IsTemporary reports whether a retry may succeed (temporary or rate-limited).
func IsTemporary(err error) bool { return err != nil && ClassOf(err) != Permanent }

// IsBadAddress reports whether err says the address itself will never work.
func IsBadAddress(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Class == Permanent && e.Address
}

// NewBadAddress returns a permanent failure that condemns the address.
func NewBadAddress(provider, code, msg string) *Error {
	return &Error{Class: Permanent, Address: true, Provider: provider, Code: code, Message: pii.Text(msg)}
}

// RecipientScoped reports whether err limits only this message's recipient.
func RecipientScoped(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Class == RateLimited && e.Scope == ScopeRecipient
}

// RetryAfter returns how long to wait before retrying, 0 when the error does not say.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// TransportError classifies an error from an HTTP round trip (connection refused,
// timeout, reset): always temporary. ctx errors are kept in the chain.
func TransportError(provider string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	code := "network"
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		code = "timeout"
	}
	return NewTemporary(provider, code, "", err)
}

// HTTPStatusError classifies an HTTP answer without a usable provider error body:
// 429 is rate-limited (with Retry-After); anything else is temporary (a bare 4xx
// means our request or credentials are wrong, not that the address is).
func HTTPStatusError(provider string, resp *http.Response, body []byte) error {
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200]
	}
	code := fmt.Sprintf("http_%d", resp.StatusCode)
	if resp.StatusCode == http.StatusTooManyRequests {
		return NewRateLimited(provider, code, msg, ScopeProvider, ParseRetryAfter(resp.Header.Get("Retry-After"), time.Second))
	}
	return NewTemporary(provider, code, msg, nil)
}

// ParseRetryAfter reads a Retry-After header (seconds or HTTP date), def when absent.
func ParseRetryAfter(v string, def time.Duration) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return def
	}
	var s int
	if _, err := fmt.Sscanf(v, "%d", &s); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return def
}

// ErrPurpose is returned (as a permanent error) when a provider may not carry a
// message's purpose, e.g. marketing through WeChat template messages.
var ErrPurpose = errors.New("purpose not allowed on this provider")

// ErrInvalidMessage is wrapped by permanent errors for messages that can never be
// sent as built (missing template, field too long, free text to a mainland provider).
var ErrInvalidMessage = errors.New("invalid message")
