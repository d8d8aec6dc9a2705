package channels

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// The unsubscribe rule for replies (SMS, WeChat text), documented in
// docs/consent.md:
//
//  1. The reply is normalised: full-width forms fold to their ASCII or common
//     form (ＴＤ → TD, ，→ ,), letters are upper-cased, and every run of
//     punctuation, symbols and whitespace becomes one separator.
//  2. Only a short reply can unsubscribe: at most MaxUnsubscribeReply letters
//     and digits once separators are removed. A longer text is a conversation
//     and goes to the customer's manager.
//  3. A question never unsubscribes ("退订了吗？", "how do I stop?"): a reply
//     with a question mark, or whose last word ends in 吗, 么 or 呢.
//  4. A keyword matches as a whole token anywhere in the reply. Latin keywords
//     (TD, STOP, UNSUBSCRIBE, STOPALL, CANCEL, END, QUIT) must be a whole run of
//     Latin letters ("回复TD退订" has TD; "TDX" and "STOPPED" do not). The
//     one-letter keywords T, R and N count only when they are the whole reply.
//     Chinese keywords (退订, 拒收, 退定) match inside a run of Han characters
//     ("我要退订"); 取消 counts only as a whole word, since "取消预约" is about
//     an appointment.
//  5. A negation just before a keyword cancels it: 不, 别, 勿, 没, 未, 莫, 无需,
//     不用, 不要 within the two characters before a Chinese keyword ("不要退订",
//     "别退订"), and NO, NOT, DONT, DON'T before a Latin one ("DON'T STOP").
//
// A reply that does not unsubscribe is kept for the customer's manager.

// MaxUnsubscribeReply is the longest reply, in letters and digits, that can
// unsubscribe.
const MaxUnsubscribeReply = 20

var latinStop = map[string]bool{"TD": true, "STOP": true, "UNSUBSCRIBE": true, "STOPALL": true, "CANCEL": true, "END": true, "QUIT": true}
var latinWhole = map[string]bool{"T": true, "R": true, "N": true}
var latinNegation = map[string]bool{"NO": true, "NOT": true, "DONT": true, "DON": true}
var hanStop = []string{"退订", "拒收", "退定"}
var hanWhole = map[string]bool{"取消": true, "取消订阅": true, "退订": true}
var hanNegation = []string{"无需", "不用", "不要", "不", "别", "勿", "没", "未", "莫"}

// IsUnsubscribeReply reports whether a reply revokes consent by the rule above.
func IsUnsubscribeReply(text string) bool {
	words, question, ok := unsubscribeWords(text)
	if !ok || question || len(words) == 0 {
		return false
	}
	if len(words) == 1 && (latinWhole[words[0]] || latinStop[words[0]] || hanWhole[words[0]]) {
		return true
	}
	for i, w := range words {
		switch {
		case isLatin(w):
			if latinStop[w] && (i == 0 || !latinNegation[words[i-1]]) {
				return true
			}
		case hanWhole[w] && (i == 0 || !negatedBy(words[i-1], "")):
			return true
		default:
			for _, k := range hanStop {
				for off := 0; ; {
					j := strings.Index(w[off:], k)
					if j < 0 {
						break
					}
					j += off
					if !negatedBy(w[:j], prevWord(words, i)) {
						return true
					}
					off = j + len(k)
				}
			}
		}
	}
	return false
}

// unsubscribeWords normalises a reply into words: runs of Latin letters, of
// Han characters, of digits, each its own word. It reports whether the reply
// is a question and whether it is short enough to be an unsubscribe.
func unsubscribeWords(text string) (words []string, question, ok bool) {
	t := strings.ToUpper(width.Fold.String(text))
	var b strings.Builder
	kind, n := 0, 0 // kind: 0 separator, 1 Latin, 2 Han, 3 digit, 4 other letter
	flush := func() {
		if b.Len() > 0 {
			words = append(words, b.String())
			b.Reset()
		}
	}
	for _, r := range t {
		k := 0
		switch {
		case r == '?':
			question = true
		case r == '\'' || r == '’':
			continue // DON'T → DONT
		case r < utf8.RuneSelf && unicode.IsLetter(r):
			k = 1
		case unicode.Is(unicode.Han, r):
			k = 2
		case unicode.IsDigit(r):
			k = 3
		case unicode.IsLetter(r):
			k = 4
		}
		if k != kind {
			flush()
			kind = k
		}
		if k != 0 {
			b.WriteRune(r)
			n++
		}
	}
	flush()
	if len(words) > 0 {
		last := words[len(words)-1]
		for _, p := range []string{"吗", "么", "呢", "嘛"} {
			if strings.HasSuffix(last, p) {
				question = true
			}
		}
	}
	return words, question, n <= MaxUnsubscribeReply
}

func isLatin(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return r < utf8.RuneSelf && unicode.IsLetter(r)
}

// prevWord is the word before words[i] when it is Han, so a negation across a
// Latin keyword or digits does not count.
func prevWord(words []string, i int) string {
	if i == 0 || isLatin(words[i-1]) {
		return ""
	}
	return words[i-1]
}

// negatedBy reports whether the two characters before a Chinese keyword (the
// text before it in its word, else the end of the previous word) hold a
// negation.
func negatedBy(before, prev string) bool {
	if before == "" {
		before = prev
	}
	rs := []rune(before)
	if len(rs) > 2 {
		rs = rs[len(rs)-2:]
	}
	tail := string(rs)
	for _, n := range hanNegation {
		if strings.Contains(tail, n) {
			return true
		}
	}
	return false
}
