// Package locale reads the language tags contacts and templates carry
// (zh-CN, en): one parser, so a contact's locale and a template variant's
// locale are spelled the same way.
package locale

import (
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/width"
)

// Parse accepts a BCP 47 tag such as zh-CN or en; zh and en alone are kept.
// Full-width characters (as an input method types them) are narrowed, the
// language is lower-cased and a two-letter region upper-cased. An empty input
// is "" without an error.
func Parse(s string) (string, error) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	for _, r := range s {
		if r >= 0xFF01 && r <= 0xFF5E || r == 0x3000 {
			s = strings.TrimFunc(width.Narrow.String(s), unicode.IsSpace)
			break
		}
	}
	if s == "" {
		return "", nil
	}
	if len(s) > 35 {
		return "", fmt.Errorf("not a locale: %q", s[:35])
	}
	for i, part := range strings.Split(strings.ReplaceAll(s, "_", "-"), "-") {
		if part == "" || len(part) > 8 || (i == 0 && (len(part) < 2 || len(part) > 3)) {
			return "", fmt.Errorf("not a locale: %q (use a tag such as zh-CN or en)", s)
		}
		for _, r := range part {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return "", fmt.Errorf("not a locale: %q (use a tag such as zh-CN or en)", s)
			}
		}
	}
	parts := strings.Split(strings.ReplaceAll(s, "_", "-"), "-")
	parts[0] = strings.ToLower(parts[0])
	for i := 1; i < len(parts); i++ {
		if len(parts[i]) == 2 {
			parts[i] = strings.ToUpper(parts[i])
		}
	}
	return strings.Join(parts, "-"), nil
}
