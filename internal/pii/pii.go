// Package pii masks personal data (phone numbers, email addresses, WeChat openids)
// for logs, error messages, timeline events and API responses to roles that may not
// see them. The SQL functions carillon_mask_phone/_email/_openid (migration 001) do the
// same in the database; a test keeps the two in step.
package pii

import (
	"log/slog"
	"strings"
)

// Phone masks a phone number: a mainland mobile (+86 and 11 digits) keeps its first
// three and last four digits (138****5678); any other number of seven digits or more
// keeps at most four leading digits and the last four, every other digit a star
// (+1415***2671, +1234********3456 for 16 digits); shorter ones are all stars.
func Phone(p string) string {
	if p == "" {
		return ""
	}
	var d strings.Builder
	for _, r := range p {
		if r >= '0' && r <= '9' {
			d.WriteRune(r)
		}
	}
	ds := d.String()
	if len(ds) < 7 {
		return strings.Repeat("*", len([]rune(p)))
	}
	if strings.HasPrefix(ds, "86") && len(ds) == 13 {
		return ds[2:5] + "****" + ds[len(ds)-4:]
	}
	lead := min(4, len(ds)-7)
	return "+" + ds[:lead] + strings.Repeat("*", len(ds)-lead-4) + ds[len(ds)-4:]
}

// Email keeps the first character of the local part and the domain: z***@example.com.
func Email(e string) string {
	if e == "" {
		return ""
	}
	at := strings.IndexByte(e, '@')
	if at < 1 {
		return "***"
	}
	return e[:1] + "***" + e[at:]
}

// OpenID keeps four characters at each end of a WeChat openid.
func OpenID(o string) string {
	if o == "" {
		return ""
	}
	if len(o) <= 8 {
		return "****"
	}
	return o[:4] + "****" + o[len(o)-4:]
}

// Tail is the customer-facing form of a phone number: its last four digits.
func Tail(p string) string {
	if len(p) < 4 {
		return p
	}
	return p[len(p)-4:]
}

// Attr returns a slog attribute holding a masked address of the given kind
// ("phone", "email", "openid"); unknown kinds are fully masked.
func Attr(key, kind, value string) slog.Attr {
	return slog.String(key, Mask(kind, value))
}

// Mask masks value as the given kind of address.
func Mask(kind, value string) string {
	switch kind {
	case "phone", "sms":
		return Phone(value)
	case "email":
		return Email(value)
	case "openid", "wechat", "wecom":
		return OpenID(value)
	}
	if value == "" {
		return ""
	}
	return "****"
}
