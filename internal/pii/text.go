package pii

import (
	"regexp"
	"strings"
)

// textRE finds personal data inside free text: email addresses, WeChat
// openid-like tokens (an o and 27 more letters, digits, _ or -), and phone-like
// digit runs (seven digits or more, an optional leading +, single spaces or dashes
// between digits). Dates (2024-10-01, 2024-10-01 09:00:00) are matched only to be
// left alone, so that a timestamp is not taken for a phone number.
var textRE = regexp.MustCompile(`(?P<email>[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)` +
	`|(?P<openid>o[A-Za-z0-9_\-]{27})` +
	`|(?P<date>\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?)` +
	`|(?P<phone>\+?\d(?:[ \-]?\d){6,})`)

var (
	emailGroup  = textRE.SubexpIndex("email")
	openidGroup = textRE.SubexpIndex("openid")
	phoneGroup  = textRE.SubexpIndex("phone")
)

// Text masks the personal data inside free text that comes from outside — a
// bounce's Diagnostic-Code, a provider's error message, a refused push's reason, a
// customer's reply shown to a role that may not read it: every email address
// (Email), openid-like token (OpenID) and phone-number-like run of seven digits or
// more (Phone; a mainland mobile written without +86 is read as one). Everything
// else is kept. Text of a masked text is the same text.
func Text(s string) string {
	ms := textRE.FindAllStringSubmatchIndex(s, -1)
	if ms == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range ms {
		start, end := m[0], m[1]
		var masked string
		switch {
		case m[2*emailGroup] >= 0:
			masked = Email(s[start:end])
		case m[2*openidGroup] >= 0 && bounded(s, start, end, isTokenByte):
			masked = OpenID(s[start:end])
		case m[2*phoneGroup] >= 0 && bounded(s, start, end, isWordByte):
			masked = phoneIn(s[start:end])
		default:
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(masked)
		last = end
	}
	b.WriteString(s[last:])
	return b.String()
}

// phoneIn masks a phone-like run found in text.
func phoneIn(run string) string {
	var d strings.Builder
	for _, r := range run {
		if r >= '0' && r <= '9' {
			d.WriteRune(r)
		}
	}
	ds := d.String()
	if len(ds) == 11 && ds[0] == '1' && ds[1] >= '3' && !strings.HasPrefix(run, "+") {
		return Phone("+86" + ds)
	}
	return Phone(ds)
}

// bounded reports whether s[start:end] is not part of a longer token: the bytes
// either side are not in the token's alphabet.
func bounded(s string, start, end int, in func(byte) bool) bool {
	return (start == 0 || !in(s[start-1])) && (end == len(s) || !in(s[end]))
}

func isWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '*'
}

func isTokenByte(c byte) bool { return isWordByte(c) || c == '-' }
