package contacts

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// sniffSize is how much of a file decides its encoding.
const sniffSize = 1 << 20

// Encodings a CSV file may come in.
const (
	EncodingUTF8    = "utf-8"
	EncodingUTF8BOM = "utf-8-bom"
	EncodingGB18030 = "gb18030" // a superset of GBK, what Excel in China saves
)

// decode detects the encoding of r (a UTF-8 BOM, else valid UTF-8 in the first MiB,
// else GB18030) and returns a reader of UTF-8 text.
func decode(r io.Reader) (io.Reader, string, error) {
	br := bufio.NewReaderSize(r, sniffSize)
	head, err := br.Peek(sniffSize)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, "", err
	}
	if bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
		return br, EncodingUTF8BOM, nil
	}
	if bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}) {
		return nil, "", errors.New("the file is UTF-16 (Excel's \"Unicode text\"): save it as CSV UTF-8 or CSV")
	}
	if validUTF8Prefix(head, len(head) == sniffSize) {
		return br, EncodingUTF8, nil
	}
	return transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), EncodingGB18030, nil
}

// validUTF8Prefix is utf8.Valid allowing a rune cut at the end of a partial read.
func validUTF8Prefix(b []byte, partial bool) bool {
	if partial {
		for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
			if r, size := utf8.DecodeLastRune(b); r != utf8.RuneError || size != 1 {
				break
			}
			b = b[:len(b)-1]
		}
	}
	return utf8.Valid(b)
}

// headerAliases maps header names, English and Chinese, to canonical fields.
var contactHeaders = map[string]string{
	"external_id": "external_id", "客户号": "external_id", "客户编号": "external_id", "customer_id": "external_id",
	"name": "name", "姓名": "name", "客户姓名": "name",
	"gender": "gender", "性别": "gender",
	"phone": "phone", "手机": "phone", "手机号": "phone", "手机号码": "phone", "mobile": "phone",
	"email": "email", "邮箱": "email", "电子邮箱": "email",
	"wechat_openid": "wechat_openid", "微信openid": "wechat_openid", "openid": "wechat_openid",
	"birthday": "birthday", "生日": "birthday", "出生日期": "birthday",
	"lunar_birthday": "lunar_birthday", "农历生日": "lunar_birthday",
	"birthday_calendar": "birthday_calendar", "生日历法": "birthday_calendar",
	"tier": "tier", "客户等级": "tier", "等级": "tier",
	"manager": "manager", "客户经理": "manager", "manager_code": "manager",
	"tags": "tags", "标签": "tags",
	"locale": "locale", "语言": "locale",
	"timezone": "timezone", "time_zone": "timezone", "时区": "timezone",
	"status": "status", "状态": "status", "客户状态": "status",
	"consent_sms": "consent_sms", "短信营销同意": "consent_sms",
	"consent_email": "consent_email", "邮件营销同意": "consent_email",
	"consent_wechat": "consent_wechat", "微信营销同意": "consent_wechat",
	"care_sms": "care_sms", "短信关怀": "care_sms", "短信关怀同意": "care_sms",
	"care_email": "care_email", "邮件关怀": "care_email", "邮件关怀同意": "care_email",
	"care_wechat": "care_wechat", "微信关怀": "care_wechat", "微信关怀同意": "care_wechat",
	"consent_at": "consent_at", "同意时间": "consent_at",
}

var managerHeaders = map[string]string{
	"code": "code", "工号": "code", "manager_code": "code",
	"name": "name", "姓名": "name",
	"email": "email", "邮箱": "email",
	"wecom_userid": "wecom_userid", "企业微信账号": "wecom_userid", "企业微信": "wecom_userid",
	"team": "team", "团队": "team",
	"lead": "lead", "组长": "lead", "team_lead": "lead",
	"timezone": "timezone", "time_zone": "timezone", "时区": "timezone",
}

// header is a parsed header row.
type header struct {
	fields []string // canonical field per column; "" for an extra (attrs) column
	names  []string // the column names as written
}

func parseHeader(rec []string, aliases map[string]string, required string, allowExtra bool) (header, error) {
	h := header{fields: make([]string, len(rec)), names: make([]string, len(rec))}
	seen := map[string]int{}
	for i, raw := range rec {
		name := fold(raw)
		h.names[i] = name
		key := strings.ToLower(strings.ReplaceAll(name, " ", "_"))
		if f, ok := aliases[key]; ok {
			if prev, dup := seen[f]; dup {
				return h, fmt.Errorf("header: columns %d (%q) and %d (%q) both mean %s", prev+1, h.names[prev], i+1, name, f)
			}
			seen[f] = i
			h.fields[i] = f
			continue
		}
		if name == "" {
			return h, fmt.Errorf("header: column %d has no name", i+1)
		}
		if !allowExtra {
			return h, fmt.Errorf("header: unknown column %q", name)
		}
		if prev, dup := seen["attr:"+name]; dup {
			return h, fmt.Errorf("header: columns %d and %d are both named %q", prev+1, i+1, name)
		}
		seen["attr:"+name] = i
	}
	if _, ok := seen[required]; !ok {
		return h, fmt.Errorf("header: no %s column (found: %s)", required, strings.Join(h.names, ", "))
	}
	return h, nil
}

// csvRows reads records with their line numbers, reporting a malformed record as a
// row error and carrying on.
type csvRows struct {
	r    *csv.Reader
	line int
}

func newCSVRows(r io.Reader) *csvRows {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	return &csvRows{r: cr}
}

// next returns the next record and its first line; err is a *csv.ParseError for a
// malformed record (which is skipped) and io.EOF at the end.
func (c *csvRows) next() ([]string, int, error) {
	rec, err := c.r.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, pe.StartLine, err
		}
		return nil, 0, err
	}
	line, _ := c.r.FieldPos(0)
	return rec, line, nil
}

// blank reports whether a record has no content (Excel's trailing ",,,," rows).
func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}
