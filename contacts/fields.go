package contacts

import (
	"carillon/internal/locale"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/6tail/lunar-go/calendar"
	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/width"

	"carillon/internal/pii"
)

// Status of a contact. Only active contacts receive anything.
type Status string

const (
	StatusActive   Status = "active"
	StatusDormant  Status = "dormant"
	StatusClosed   Status = "closed"
	StatusDeceased Status = "deceased"
)

// Channels a consent or suppression applies to.
const (
	ChannelSMS    = "sms"
	ChannelEmail  = "email"
	ChannelWeChat = "wechat"
)

// MaxAttrsBytes caps a contact's attrs as JSON, alike through the API and an
// import's extra columns.
const MaxAttrsBytes = 64 * 1024

// Purposes a message may have: service (notices the bank must send: a deposit
// maturing, security), care (greetings: birthdays, festivals; allowed unless
// the customer refused them on the channel) and marketing (needs consent).
const (
	PurposeService   = "service"
	PurposeCare      = "care"
	PurposeMarketing = "marketing"
)

// DefaultRegion is the region a phone number without a country code belongs to.
const DefaultRegion = "CN"

// DefaultTimeZone and DefaultLocale apply to contacts and managers that name none.
const (
	DefaultTimeZone = "Asia/Shanghai"
	DefaultLocale   = "zh-CN"
)

// MaxCellLength bounds any one value (a name, a tag list, an attribute).
const MaxCellLength = 4096

// fold normalises a cell: trims space (including the ideographic space) and turns
// full-width ASCII into half-width, as Excel files typed with a Chinese IME contain.
// checkIdentifier refuses control characters and line breaks inside an
// identifier (an external id, a manager code): one that held them would change
// meaning in every CSV row, log line or report it is written to.
func checkIdentifier(v string) error {
	i := strings.IndexFunc(v, isControlOrBreak)
	if i < 0 {
		return nil
	}
	r, _ := utf8.DecodeRuneInString(v[i:])
	return fmt.Errorf("must not contain control characters or line breaks (%U at byte %d) / 不能包含控制字符或换行符（第 %d 字节：%U）", r, i, i, r)
}

func isControlOrBreak(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }

func fold(s string) string {
	s = strings.TrimFunc(s, unicode.IsSpace)
	for _, r := range s {
		if r >= 0xFF01 && r <= 0xFF5E || r == 0x3000 {
			return strings.TrimFunc(width.Narrow.String(s), unicode.IsSpace)
		}
	}
	return s
}

// ParsePhone normalises a phone number to E.164, numbers without a country code
// being taken as mainland China's. The error masks the number.
func ParsePhone(s string) (string, error) {
	s = fold(s)
	if s == "" {
		return "", nil
	}
	num, err := phonenumbers.Parse(s, DefaultRegion)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("not a valid phone number: %s", pii.Phone(s))
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// ParseEmail checks an address and returns it trimmed; the domain is lower-cased.
func ParseEmail(s string) (string, error) {
	s = fold(s)
	if s == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || !strings.Contains(s[strings.LastIndexByte(s, '@'):], ".") {
		return "", fmt.Errorf("not a valid email address: %s", pii.Email(s))
	}
	at := strings.LastIndexByte(s, '@')
	return s[:at] + strings.ToLower(s[at:]), nil
}

// ParseOpenID checks the shape of a WeChat openid (28 URL-safe characters for an
// Official Account; any 6–64 of them are accepted).
func ParseOpenID(s string) (string, error) {
	s = fold(s)
	if s == "" {
		return "", nil
	}
	if len(s) < 6 || len(s) > 64 {
		return "", fmt.Errorf("not a WeChat openid: %s", pii.OpenID(s))
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return "", fmt.Errorf("not a WeChat openid: %s", pii.OpenID(s))
		}
	}
	return s, nil
}

var zones sync.Map // name -> error (nil when valid)

// ParseTimeZone checks an IANA time zone name.
func ParseTimeZone(s string) (string, error) {
	s = fold(s)
	if s == "" {
		return "", nil
	}
	if v, ok := zones.Load(s); ok {
		if v != nil {
			return "", v.(error)
		}
		return s, nil
	}
	var bad error
	if _, err := time.LoadLocation(s); err != nil || s == "Local" {
		bad = fmt.Errorf("unknown time zone %q (use an IANA name such as Asia/Shanghai)", s)
		zones.Store(s, bad)
		return "", bad
	}
	zones.Store(s, nil)
	return s, nil
}

// ParseLocale accepts a BCP 47 tag such as zh-CN or en; zh and en alone are
// kept (locale.Parse, which templates use too).
func ParseLocale(s string) (string, error) { return locale.Parse(s) }

// ParseTier accepts A–D in either case (and 全角 letters).
func ParseTier(s string) (string, error) {
	s = strings.ToUpper(fold(s))
	switch s {
	case "":
		return "", nil
	case "A", "B", "C", "D":
		return s, nil
	}
	return "", fmt.Errorf("unknown tier %q (A, B, C or D)", s)
}

// ParseGender accepts male/female in English and Chinese; unknown or blank is "".
func ParseGender(s string) (string, error) {
	switch strings.ToLower(fold(s)) {
	case "", "unknown", "未知", "u", "-":
		return "", nil
	case "male", "m", "男", "先生":
		return "male", nil
	case "female", "f", "女", "女士":
		return "female", nil
	}
	return "", fmt.Errorf("unknown gender %q (male/female, 男/女)", s)
}

// ParseStatus accepts the statuses in English and Chinese.
func ParseStatus(s string) (Status, error) {
	switch strings.ToLower(fold(s)) {
	case "":
		return "", nil
	case "active", "正常":
		return StatusActive, nil
	case "dormant", "休眠":
		return StatusDormant, nil
	case "closed", "销户":
		return StatusClosed, nil
	case "deceased", "已故":
		return StatusDeceased, nil
	}
	return "", fmt.Errorf("unknown status %q (active, dormant, closed, deceased / 正常, 休眠, 销户, 已故)", s)
}

// ParseCalendar accepts solar|lunar|公历|农历 (and 阳历, 阴历).
func ParseCalendar(s string) (string, error) {
	switch strings.ToLower(fold(s)) {
	case "":
		return "", nil
	case "solar", "公历", "阳历", "gregorian":
		return "solar", nil
	case "lunar", "农历", "阴历":
		return "lunar", nil
	}
	return "", fmt.Errorf("unknown calendar %q (solar, lunar, 公历, 农历)", s)
}

// ParseBool accepts yes/no/1/0/是/否/Y/N/true/false/同意/不同意.
func ParseBool(s string) (value bool, set bool, err error) {
	switch strings.ToLower(fold(s)) {
	case "":
		return false, false, nil
	case "yes", "y", "1", "true", "是", "同意", "t":
		return true, true, nil
	case "no", "n", "0", "false", "否", "不同意", "f":
		return false, true, nil
	}
	return false, false, fmt.Errorf("not a yes/no value: %q (yes/no, 1/0, 是/否, Y/N)", s)
}

// SolarDate is a birthday on the solar calendar; Year is 0 when unknown.
type SolarDate struct{ Year, Month, Day int }

// ParseSolarBirthday accepts YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD,
// YYYY年M月D日 and, with the year unknown, MM-DD. 29 February needs a leap year
// when the year is given.
func ParseSolarBirthday(s string) (SolarDate, error) {
	s = fold(s)
	if s == "" {
		return SolarDate{}, nil
	}
	d, ok := parseDateParts(s)
	if !ok {
		return SolarDate{}, fmt.Errorf("not a date: %q (use YYYY-MM-DD)", s)
	}
	if d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > daysIn(d.Year, d.Month) {
		return SolarDate{}, fmt.Errorf("no such date: %q", s)
	}
	if d.Year != 0 && (d.Year < 1880 || d.Year > time.Now().Year()) {
		return SolarDate{}, fmt.Errorf("birth year out of range: %q", s)
	}
	return d, nil
}

func daysIn(year, month int) int {
	if year == 0 { // year unknown: allow 29 February
		year = 2000
	}
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// parseDateParts splits a date in the accepted shapes.
func parseDateParts(s string) (SolarDate, bool) {
	r := strings.NewReplacer("年", "-", "月", "-", "日", "", "/", "-", ".", "-")
	t := r.Replace(s)
	if len(t) == 8 && isDigits(t) {
		t = t[:4] + "-" + t[4:6] + "-" + t[6:]
	}
	parts := strings.Split(t, "-")
	nums := make([]int, 0, 3)
	for _, p := range parts {
		if p == "" || len(p) > 4 || !isDigits(p) {
			return SolarDate{}, false
		}
		n, _ := strconv.Atoi(p)
		nums = append(nums, n)
	}
	switch {
	case len(nums) == 3 && len(parts[0]) == 4:
		return SolarDate{nums[0], nums[1], nums[2]}, true
	case len(nums) == 2 && len(parts[0]) <= 2:
		return SolarDate{0, nums[0], nums[1]}, true
	}
	return SolarDate{}, false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// LunarDate is a birthday on the lunar calendar (no year: the lunar year of birth
// matters only for the age, which the solar birth year gives).
type LunarDate struct {
	Month, Day int
	Leap       bool
}

// ParseLunarBirthday accepts MM-DD, a leap month as 闰MM-DD or LMM-DD, and the
// Chinese forms 八月十五, 闰四月初八, 正月初一, 腊月三十.
func ParseLunarBirthday(s string) (LunarDate, error) {
	s = fold(s)
	if s == "" {
		return LunarDate{}, nil
	}
	var d LunarDate
	t := s
	for _, p := range []string{"农历", "閏", "闰", "L", "l"} {
		if strings.HasPrefix(t, p) {
			if p != "农历" {
				d.Leap = true
			}
			t = t[len(p):]
		}
	}
	if m, day, ok := parseChineseLunar(t); ok {
		d.Month, d.Day = m, day
	} else {
		t = strings.NewReplacer("/", "-", ".", "-", "月", "-", "日", "").Replace(t)
		parts := strings.Split(t, "-")
		if len(parts) != 2 || !isDigits(parts[0]) || !isDigits(parts[1]) || len(parts[0]) > 2 || len(parts[1]) > 2 {
			return LunarDate{}, fmt.Errorf("not a lunar date: %q (use MM-DD, 闰MM-DD or LMM-DD for a leap month)", s)
		}
		d.Month, _ = strconv.Atoi(parts[0])
		d.Day, _ = strconv.Atoi(parts[1])
	}
	if d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 30 {
		return LunarDate{}, fmt.Errorf("no such lunar date: %q (months 1–12, days 1–30)", s)
	}
	if d.Leap && d.Month == 1 {
		// No leap first month occurs between 1900 and 2100.
		return LunarDate{}, fmt.Errorf("no such lunar date: %q (there is no leap first month)", s)
	}
	return d, nil
}

var (
	lunarMonths = map[string]int{"正": 1, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "冬": 11, "十一": 11, "腊": 12, "十二": 12}
	lunarDigits = map[rune]int{'一': 1, '二': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}
)

func parseChineseLunar(s string) (int, int, bool) {
	i := strings.Index(s, "月")
	if i <= 0 {
		return 0, 0, false
	}
	m, ok := lunarMonths[s[:i]]
	if !ok {
		return 0, 0, false
	}
	rs := []rune(s[i+len("月"):])
	switch {
	case len(rs) == 2 && rs[0] == '初':
		if rs[1] == '十' {
			return m, 10, true
		}
		d, ok := lunarDigits[rs[1]]
		return m, d, ok
	case len(rs) == 2 && rs[0] == '十' && lunarDigits[rs[1]] > 0:
		return m, 10 + lunarDigits[rs[1]], true
	case len(rs) == 2 && rs[0] == '廿' && lunarDigits[rs[1]] > 0:
		return m, 20 + lunarDigits[rs[1]], true
	case len(rs) == 2 && rs[0] == '二' && rs[1] == '十':
		return m, 20, true
	case len(rs) == 2 && rs[0] == '三' && rs[1] == '十':
		return m, 30, true
	}
	return 0, 0, false
}

// LunarOf returns the lunar month and day of a full solar date.
func LunarOf(d SolarDate) (LunarDate, error) {
	if d.Year == 0 {
		return LunarDate{}, errors.New("the lunar date of a birthday needs the solar year")
	}
	l := calendar.NewLunarFromSolar(calendar.NewSolarFromYmd(d.Year, d.Month, d.Day))
	m := l.GetMonth()
	return LunarDate{Month: abs(m), Day: l.GetDay(), Leap: m < 0}, nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
