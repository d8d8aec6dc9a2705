package pii

import (
	"bufio"
	"io"
	"regexp"
)

// Finding is unmasked personal data found in a log.
type Finding struct {
	Line int
	Kind string // phone, email, openid
	Text string // the match, masked, so a report leaks nothing either
}

var scanners = []struct {
	kind string
	re   *regexp.Regexp
}{
	{"phone", regexp.MustCompile(`(?:^|[^\d*])((?:\+?86)?1[3-9]\d{9}|\+\d{10,15})(?:$|[^\d])`)},
	// the same written with spaces or dashes: 138 1234 5678, +86-138-1234-5678,
	// +1 415 555 2671 (as bounces and provider messages quote them)
	{"phone", regexp.MustCompile(`(?:^|[^\d*])((?:\+?86[ \-]?)?1[3-9]\d[ \-]\d{4}[ \-]\d{4}|\+\d{1,3}(?:[ \-]\d{2,5}){2,5})(?:$|[^\d])`)},
	{"email", regexp.MustCompile(`[A-Za-z0-9._%+\-]{2,}@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}`)},
	{"openid", regexp.MustCompile(`(?:^|[^A-Za-z0-9_\-])(o[A-Za-z0-9_\-]{27})(?:$|[^A-Za-z0-9_\-])`)},
}

// Scan reads r line by line and reports unmasked phone numbers, emails and openids.
func Scan(r io.Reader) ([]Finding, error) {
	var out []Finding
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		for _, s := range scanners {
			for _, m := range s.re.FindAllStringSubmatch(line, -1) {
				hit := m[0]
				if len(m) > 1 {
					hit = m[1]
				}
				if s.kind == "phone" && digits(hit) < 7 {
					continue
				}
				out = append(out, Finding{Line: n, Kind: s.kind, Text: Mask(s.kind, hit)})
			}
		}
	}
	return out, sc.Err()
}

func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}
