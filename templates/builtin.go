package templates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/calendar"
)

// BuiltinAuthor is the author of the built-in versions.
const BuiltinAuthor = "system:builtin"

// Built-in keys.
const (
	KeyBirthday        = "birthday"
	KeyDepositMaturity = "deposit_maturity"
	KeyRevisitDigest   = "revisit_digest"
)

// FestivalKey is the template key of a calendar festival: festival.mid_autumn.
func FestivalKey(festival string) string { return "festival." + festival }

// Placeholders in the built-ins: a provider's template code and a WeChat template id
// exist only once the bank has had its text approved, so the built-in SMS variants
// carry the text to submit (Twilio sends it as it is) and the WeChat variants a
// placeholder id. Saving a version with the real codes and id makes the key edited,
// and migrate then leaves it alone.
const builtinWeChatPrefix = "REPLACE_WITH_OA_TEMPLATE_ID_"

type festivalWords struct {
	key               string
	zhSMS, enSMS      string // after the salutation
	zhSubject, enSubj string
	zhWish, enWish    string // WeChat thing2, ≤ 20 characters
}

// The festivals of calendar.DefaultFestivalKeys. Qingming is a day of remembrance:
// its words are quiet, never festive.
var festivalTexts = []festivalWords{
	{calendar.KeyNewYear, "新年伊始，{{.Bank.Name}}祝您元旦快乐，新的一年平安顺遂！", "happy New Year! Wishing you a peaceful and prosperous year ahead.",
		"{{.Bank.Name}}祝您元旦快乐", "Happy New Year from {{.Bank.Name}}", "元旦快乐，平安顺遂", "Happy New Year!"},
	{calendar.KeyNewYearsEve, "除夕团圆夜，{{.Bank.Name}}祝您阖家欢乐，辞旧迎新，来年万事如意！", "on Chinese New Year's Eve, we wish you a warm reunion with your family and a wonderful year to come.",
		"除夕团圆，{{.Bank.Name}}祝您万事如意", "A warm New Year's Eve from {{.Bank.Name}}", "除夕团圆，万事如意", "Happy reunion night"},
	{calendar.KeySpringFestival, "新春佳节，{{.Bank.Name}}给您拜年了！祝您春节快乐，阖家安康，新春大吉！", "happy Spring Festival! Wishing you and your family health, joy and good fortune in the new year.",
		"{{.Bank.Name}}给您拜年了", "Spring Festival greetings from {{.Bank.Name}}", "新春快乐，阖家安康", "Spring blessings!"},
	{calendar.KeyLantern, "元宵佳节，月圆灯明，{{.Bank.Name}}祝您元宵节快乐，团团圆圆！", "happy Lantern Festival! May the full moon and bright lanterns bring your family together.",
		"{{.Bank.Name}}祝您元宵节快乐", "Happy Lantern Festival from {{.Bank.Name}}", "元宵快乐，团团圆圆", "Happy Lantern Day"},
	{calendar.KeyQingming, "清明时节，慎终追远。{{.Bank.Name}}愿您与家人平安康健，出行注意安全。", "at Qingming, a time to remember those who came before us, we wish you and your family peace and good health.",
		"清明时节，愿您与家人平安", "Thinking of you at Qingming", "慎终追远，平安康健", "Peace and health"},
	{calendar.KeyDragonBoat, "端午安康！{{.Bank.Name}}祝您和家人平安喜乐，岁岁无忧。", "we wish you and your family a safe and healthy Dragon Boat Festival.",
		"{{.Bank.Name}}祝您端午安康", "Dragon Boat Festival wishes from {{.Bank.Name}}", "端午安康，平安喜乐", "Safe Dragon Boat Day"},
	{calendar.KeyQixi, "七夕佳节，{{.Bank.Name}}祝您与所爱之人长相守，幸福美满！", "happy Qixi! Wishing you and your loved ones lasting happiness.",
		"{{.Bank.Name}}祝您七夕快乐", "Happy Qixi from {{.Bank.Name}}", "七夕快乐，幸福美满", "Happy Qixi!"},
	{calendar.KeyMidAutumn, "{{.Occasion.Lunar}}，月圆人团圆。{{.Bank.Name}}祝您中秋快乐，阖家幸福！", "happy Mid-Autumn Festival! May the full moon bring you reunion and joy.",
		"{{.Bank.Name}}祝您中秋快乐", "Happy Mid-Autumn Festival from {{.Bank.Name}}", "中秋快乐，阖家团圆", "Happy Mid-Autumn!"},
	{calendar.KeyNationalDay, "国庆佳节，{{.Bank.Name}}祝您假期愉快，出行平安！", "we wish you a happy National Day holiday and safe travels.",
		"{{.Bank.Name}}祝您国庆快乐", "National Day wishes from {{.Bank.Name}}", "国庆快乐，出行平安", "Happy National Day!"},
	{calendar.KeyDoubleNinth, "九九重阳，{{.Bank.Name}}祝您和家中长辈身体康健，福寿绵长！", "on the Double Ninth Festival, we wish you and the elders of your family good health and long life.",
		"{{.Bank.Name}}祝您重阳安康", "Double Ninth wishes from {{.Bank.Name}}", "重阳安康，福寿绵长", "Health and long life"},
}

const (
	zhDear = "尊敬的{{.Contact.Salutation}}，"
	enDear = "Dear {{.Contact.Salutation}}, "
)

// emailHTML wraps paragraphs (template source) in the built-in email layout.
func emailHTML(locale string, paras ...string) string {
	var b strings.Builder
	lang, dear, footer := "zh-CN", "尊敬的{{.Contact.Salutation}}：", "{{.Bank.Name}} · 客服热线 {{.Bank.Hotline}}"
	if !isChinese(locale) {
		lang, dear, footer = "en", "Dear {{.Contact.Salutation}},", "{{.Bank.Name}} · Service hotline {{.Bank.Hotline}}"
	}
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<body style=\"margin:0;padding:24px;font-family:sans-serif;color:#333;line-height:1.6\">\n<p>%s</p>\n", lang, dear)
	for _, p := range paras {
		fmt.Fprintf(&b, "<p>%s</p>\n", p)
	}
	fmt.Fprintf(&b, "<p style=\"color:#888;font-size:12px\">%s</p>\n</body>\n</html>\n", footer)
	return b.String()
}

func careVariants(zhSMS, enSMS, zhSubj, enSubj, zhBody, enBody, wechatID, zhWish, enWish string) []Variant {
	wechat := func(wish string) *WeChatVariant {
		return &WeChatVariant{TemplateID: builtinWeChatPrefix + wechatID,
			Fields:   map[string]string{"thing1": "{{.Contact.Salutation}}", "thing2": wish, "date3": "{{date .Occasion.Date}}"},
			Required: []string{"thing1", "thing2", "date3"}}
	}
	return []Variant{
		{Channel: SMS, Locale: "zh-CN", SMS: &SMSVariant{Text: zhSMS}},
		{Channel: SMS, Locale: "en", SMS: &SMSVariant{Text: enSMS}},
		{Channel: Email, Locale: "zh-CN", Email: &EmailVariant{Subject: zhSubj, HTML: emailHTML("zh-CN", zhBody)}},
		{Channel: Email, Locale: "en", Email: &EmailVariant{Subject: enSubj, HTML: emailHTML("en", enBody)}},
		{Channel: WeChat, Locale: "zh-CN", WeChat: wechat(zhWish)},
		{Channel: WeChat, Locale: "en", WeChat: wechat(enWish)},
	}
}

// Builtins returns the built-in care set: birthday, each default festival,
// the deposit maturity notice and the managers' daily revisit digest, in zh-CN
// and en.
func Builtins() []Definition {
	const (
		zhBirthdaySolar = "今天是您的生日，{{.Bank.Name}}祝您生日快乐，身体健康，万事顺意！"
		zhBirthdayLunar = "今天是{{.Occasion.Lunar}}，您的农历生日，{{.Bank.Name}}祝您生日快乐，福寿安康！"
		enBirthdaySolar = "happy birthday! Wishing you good health and joy in the year ahead."
		enBirthdayLunar = "happy lunar birthday! Wishing you good health and joy in the year ahead."
	)
	zhB := "{{if .Occasion.IsLunar}}" + zhBirthdayLunar + "{{else}}" + zhBirthdaySolar + "{{end}}"
	enB := "{{if .Occasion.IsLunar}}" + enBirthdayLunar + "{{else}}" + enBirthdaySolar + "{{end}}"
	defs := []Definition{{
		Key: KeyBirthday, Purpose: Service, Source: SourceBirthday, DefaultLocale: "zh-CN",
		Description: "Birthday greeting, solar or lunar (农历) wording",
		Variants: careVariants(zhDear+zhB, enDear+enB+" - {{.Bank.Name}}",
			"{{.Bank.Name}}祝您生日快乐", "Happy birthday from {{.Bank.Name}}",
			zhB, "{{if .Occasion.IsLunar}}H"+enBirthdayLunar[1:]+"{{else}}H"+enBirthdaySolar[1:]+"{{end}} - {{.Bank.Name}}",
			"BIRTHDAY", "生日快乐，福寿安康", "Happy birthday!"),
	}}
	for _, f := range festivalTexts {
		enBody := strings.ToUpper(f.enSMS[:1]) + f.enSMS[1:]
		defs = append(defs, Definition{
			Key: FestivalKey(f.key), Purpose: Service, Source: SourceFestival, DefaultLocale: "zh-CN",
			Description: "Festival greeting: " + f.key,
			Variants: careVariants(zhDear+f.zhSMS, enDear+f.enSMS+" - {{.Bank.Name}}", f.zhSubject, f.enSubj,
				f.zhSMS, enBody+" - {{.Bank.Name}}", "FESTIVAL", f.zhWish, f.enWish),
		})
	}
	defs = append(defs, Definition{
		Key: KeyDepositMaturity, Purpose: Service, Source: SourceDeposit, DefaultLocale: "zh-CN",
		Description: "Notice of a term deposit maturing soon",
		Variants: []Variant{
			{Channel: SMS, Locale: "zh-CN", SMS: &SMSVariant{Text: zhDear + "您{{with .Deposit.AccountTail}}{{mask .}}账户的{{end}}{{.Deposit.Product}}{{with .Deposit.Amount}}{{money .}}{{end}}将于{{date .Deposit.MaturityDate}}到期。如需续存或了解其他安排，请联系客户经理{{.Manager.Name}}或致电{{.Bank.Hotline}}。"}},
			{Channel: SMS, Locale: "en", SMS: &SMSVariant{Text: enDear + "your {{.Deposit.Product}}{{with .Deposit.Amount}} of {{money .}}{{end}}{{with .Deposit.AccountTail}} (account {{mask .}}){{end}} matures on {{date .Deposit.MaturityDate}}. To renew, contact {{.Manager.Name}} or call {{.Bank.Hotline}}."}},
			{Channel: Email, Locale: "zh-CN", Email: &EmailVariant{Subject: "您的定期存款将于{{date .Deposit.MaturityDate}}到期",
				HTML: emailHTML("zh-CN", "您{{with .Deposit.AccountTail}}{{mask .}}账户的{{end}}{{.Deposit.Product}}{{with .Deposit.Amount}}<strong>{{money .}}</strong>{{end}}将于<strong>{{date .Deposit.MaturityDate}}</strong>到期。",
					"如需续存或了解其他安排，请联系您的客户经理{{.Manager.Name}}，或致电{{.Bank.Hotline}}。")}},
			{Channel: Email, Locale: "en", Email: &EmailVariant{Subject: "Your term deposit matures on {{date .Deposit.MaturityDate}}",
				HTML: emailHTML("en", "Your {{.Deposit.Product}}{{with .Deposit.Amount}} of <strong>{{money .}}</strong>{{end}}{{with .Deposit.AccountTail}} (account {{mask .}}){{end}} matures on <strong>{{date .Deposit.MaturityDate}}</strong>.",
					"To renew it or discuss other options, please contact your relationship manager {{.Manager.Name}} or call {{.Bank.Hotline}}.")}},
			{Channel: WeChat, Locale: "zh-CN", WeChat: depositWeChat()},
			{Channel: WeChat, Locale: "en", WeChat: depositWeChat()},
		},
	})
	defs = append(defs, Definition{
		Key: KeyRevisitDigest, Purpose: Service, Source: SourceDigest, DefaultLocale: "zh-CN",
		Description: "A manager's daily list of customers to revisit",
		Variants: []Variant{
			{Channel: WeCom, Locale: "zh-CN", WeCom: &WeComVariant{Format: FormatMarkdown, Content: digestMarkdownZH}},
			{Channel: WeCom, Locale: "en", WeCom: &WeComVariant{Format: FormatMarkdown, Content: digestMarkdownEN}},
			{Channel: Email, Locale: "zh-CN", Email: &EmailVariant{Subject: "{{date .Digest.Date}} 回访提醒：{{.Digest.Total}} 位客户{{if .Digest.Overdue}}（{{.Digest.Overdue}} 位逾期）{{end}}", HTML: digestHTMLZH}},
			{Channel: Email, Locale: "en", Email: &EmailVariant{Subject: "Revisits for {{date .Digest.Date}}: {{.Digest.Total}} customers{{if .Digest.Overdue}} ({{.Digest.Overdue}} overdue){{end}}", HTML: digestHTMLEN}},
		},
	})
	return defs
}

func depositWeChat() *WeChatVariant {
	return &WeChatVariant{TemplateID: builtinWeChatPrefix + "DEPOSIT_MATURITY",
		Fields: map[string]string{"thing1": "{{.Deposit.Product}}", "amount2": "{{with .Deposit.Amount}}{{amount .}}{{end}}",
			"date3": "{{date .Deposit.MaturityDate}}", "thing4": "{{with .Deposit.AccountTail}}{{mask .}}{{end}}"},
		Required: []string{"thing1", "date3"}}
}

const digestMarkdownZH = `**今日回访提醒** {{date .Digest.Date}}
{{.Manager.Name}}，今天需回访 **{{.Digest.Total}}** 位客户{{if .Digest.Overdue}}，其中 <font color="warning">{{.Digest.Overdue}} 位已逾期</font>{{end}}：
{{range .Digest.Items}}> {{.Name}}（{{.Tier}} 类）{{if .Overdue}}<font color="warning">逾期 {{.DaysLate}} 个工作日</font>{{else}}今日到期{{end}} · {{mask .PhoneTail}}{{with .LastOutcome}} · 上次：{{truncate 20 .}}{{end}}{{with .Covered}} · 代 {{.}}{{end}}
{{end}}{{with .Digest.Escalated}}
**团队逾期（已升级）**
{{range .}}> {{.ManagerName}} · {{.Name}}（{{.Tier}} 类）逾期 {{.DaysLate}} 个工作日
{{end}}{{end}}{{with .Digest.Team}}
**团队概况**
{{range .}}> {{.Name}}：应访 {{.Due}}，已访 {{.Done}}，逾期 {{.Overdue}}
{{end}}{{end}}{{with .Digest.Upcoming}}
**未来 7 天**
{{range .}}> {{date .Date}} {{.Name}} {{if eq .Kind "birthday"}}生日{{if eq .Note "lunar"}}（农历）{{end}}{{else if eq .Kind "deposit_maturity"}}存款到期{{else if eq .Kind "festival"}}节日{{end}}
{{end}}{{end}}{{with .Digest.Replies}}
**客户回复**
{{range .}}> {{.Name}}：{{truncate 40 .Text}}
{{end}}{{end}}{{with .Digest.Complaints}}
<font color="warning">**{{len .}} 件投诉超时未处理**</font>
{{end}}{{with .Digest.Alerts}}
**客户变动提醒**：{{range .}}{{.Name}}（{{.RuleName}}） {{end}}
{{end}}{{with .Digest.Weekly}}
**上周反馈**：新增 {{.New}}，已解决 {{.Resolved}}，未结 {{.Open}}
{{end}}
[打开回访列表]({{.Digest.URL}})`

const digestMarkdownEN = `**Today's revisits** {{date .Digest.Date}}
{{.Manager.Name}}, you have **{{.Digest.Total}}** customers to revisit{{if .Digest.Overdue}}, <font color="warning">{{.Digest.Overdue}} overdue</font>{{end}}:
{{range .Digest.Items}}> {{.Name}} (tier {{.Tier}}) {{if .Overdue}}<font color="warning">{{.DaysLate}} business days late</font>{{else}}due today{{end}} · {{mask .PhoneTail}}{{with .LastOutcome}} · last: {{truncate 30 .}}{{end}}{{with .Covered}} · covering {{.}}{{end}}
{{end}}{{with .Digest.Escalated}}
**Team revisits overdue (escalated)**
{{range .}}> {{.ManagerName}} · {{.Name}} (tier {{.Tier}}) {{.DaysLate}} business days late
{{end}}{{end}}{{with .Digest.Team}}
**Your team**
{{range .}}> {{.Name}}: {{.Due}} due, {{.Done}} done, {{.Overdue}} overdue
{{end}}{{end}}{{with .Digest.Upcoming}}
**Next 7 days**
{{range .}}> {{date .Date}} {{.Name}} {{if eq .Kind "birthday"}}birthday{{if eq .Note "lunar"}} (lunar){{end}}{{else if eq .Kind "deposit_maturity"}}deposit matures{{else if eq .Kind "festival"}}festival{{end}}
{{end}}{{end}}{{with .Digest.Replies}}
**Replies**
{{range .}}> {{.Name}}: {{truncate 60 .Text}}
{{end}}{{end}}{{with .Digest.Complaints}}
<font color="warning">**{{len .}} complaints past their deadline**</font>
{{end}}{{with .Digest.Alerts}}
**Changes**: {{range .}}{{.Name}} ({{.RuleNameEN}}) {{end}}
{{end}}{{with .Digest.Weekly}}
**Last week's feedback**: {{.New}} new, {{.Resolved}} resolved, {{.Open}} open
{{end}}
[Open the revisit list]({{.Digest.URL}})`

const digestHTMLZH = `<!DOCTYPE html>
<html lang="zh-CN">
<body style="margin:0;padding:24px;font-family:sans-serif;color:#333;line-height:1.6">
<p>{{.Manager.Name}}，您好：</p>
<p>{{date .Digest.Date}}需回访 <strong>{{.Digest.Total}}</strong> 位客户{{if .Digest.Overdue}}，其中 <strong style="color:#c00">{{.Digest.Overdue}}</strong> 位已逾期{{end}}。</p>
<table style="border-collapse:collapse">
<tr><th align="left">客户</th><th align="left">等级</th><th align="left">应回访日</th><th align="left">上次回访</th><th align="left">电话</th></tr>
{{range .Digest.Items}}<tr><td>{{.Name}}</td><td>{{.Tier}}</td><td>{{date .DueDate}}{{if .Overdue}}（逾期 {{.DaysLate}} 个工作日）{{end}}</td><td>{{date .LastVisit}}</td><td>{{mask .PhoneTail}}</td></tr>
{{end}}</table>
{{- with .Digest.Escalated}}<h3>团队逾期（已升级）</h3><ul>{{range .}}<li>{{.ManagerName}} · {{.Name}}（{{.Tier}} 类）逾期 {{.DaysLate}} 个工作日</li>{{end}}</ul>{{end}}
{{- with .Digest.Team}}<h3>团队概况</h3><ul>{{range .}}<li>{{.Name}}：应访 {{.Due}}，已访 {{.Done}}，逾期 {{.Overdue}}</li>{{end}}</ul>{{end}}
{{- with .Digest.Upcoming}}<h3>未来 7 天</h3><ul>{{range .}}<li>{{date .Date}} {{.Name}} {{if eq .Kind "birthday"}}生日{{if eq .Note "lunar"}}（农历）{{end}}{{else if eq .Kind "deposit_maturity"}}存款到期{{else if eq .Kind "festival"}}节日{{end}}</li>{{end}}</ul>{{end}}
{{- with .Digest.Replies}}<h3>客户回复</h3><ul>{{range .}}<li>{{.Name}}：{{truncate 80 .Text}}</li>{{end}}</ul>{{end}}
{{- with .Digest.Complaints}}<p style="color:#c00"><strong>{{len .}} 件投诉超时未处理</strong></p>{{end}}
{{- with .Digest.Alerts}}<h3>客户变动提醒</h3><ul>{{range .}}<li>{{.Name}}（{{.RuleName}}）</li>{{end}}</ul>{{end}}
{{- with .Digest.Weekly}}<p>上周反馈：新增 {{.New}}，已解决 {{.Resolved}}，未结 {{.Open}}</p>{{end}}
<p><a href="{{.Digest.URL}}">打开回访列表</a></p>
</body>
</html>
`

const digestHTMLEN = `<!DOCTYPE html>
<html lang="en">
<body style="margin:0;padding:24px;font-family:sans-serif;color:#333;line-height:1.6">
<p>Hello {{.Manager.Name}},</p>
<p>You have <strong>{{.Digest.Total}}</strong> customers to revisit on {{date .Digest.Date}}{{if .Digest.Overdue}}, <strong style="color:#c00">{{.Digest.Overdue}}</strong> of them overdue{{end}}.</p>
<table style="border-collapse:collapse">
<tr><th align="left">Customer</th><th align="left">Tier</th><th align="left">Due</th><th align="left">Last visit</th><th align="left">Phone</th></tr>
{{range .Digest.Items}}<tr><td>{{.Name}}</td><td>{{.Tier}}</td><td>{{date .DueDate}}{{if .Overdue}} ({{.DaysLate}} business days late){{end}}</td><td>{{date .LastVisit}}</td><td>{{mask .PhoneTail}}</td></tr>
{{end}}</table>
{{- with .Digest.Escalated}}<h3>Team revisits overdue (escalated)</h3><ul>{{range .}}<li>{{.ManagerName}} · {{.Name}} (tier {{.Tier}}) {{.DaysLate}} business days late</li>{{end}}</ul>{{end}}
{{- with .Digest.Team}}<h3>Your team</h3><ul>{{range .}}<li>{{.Name}}: {{.Due}} due, {{.Done}} done, {{.Overdue}} overdue</li>{{end}}</ul>{{end}}
{{- with .Digest.Upcoming}}<h3>Next 7 days</h3><ul>{{range .}}<li>{{date .Date}} {{.Name}} {{if eq .Kind "birthday"}}birthday{{if eq .Note "lunar"}} (lunar){{end}}{{else if eq .Kind "deposit_maturity"}}deposit matures{{else if eq .Kind "festival"}}festival{{end}}</li>{{end}}</ul>{{end}}
{{- with .Digest.Replies}}<h3>Replies</h3><ul>{{range .}}<li>{{.Name}}: {{truncate 80 .Text}}</li>{{end}}</ul>{{end}}
{{- with .Digest.Complaints}}<p style="color:#c00"><strong>{{len .}} complaints past their deadline</strong></p>{{end}}
{{- with .Digest.Alerts}}<h3>Changes</h3><ul>{{range .}}<li>{{.Name}} ({{.RuleNameEN}})</li>{{end}}</ul>{{end}}
{{- with .Digest.Weekly}}<p>Last week's feedback: {{.New}} new, {{.Resolved}} resolved, {{.Open}} open</p>{{end}}
<p><a href="{{.Digest.URL}}">Open the revisit list</a></p>
</body>
</html>
`

// InstallBuiltins installs the built-in set: a key that does not exist gets the
// built-in as its first, active version; a key nobody has edited whose latest
// built-in version differs from the current built-in gets it as a new, active
// version; a key someone has edited (saved a version of their own) is left alone.
// It is idempotent and safe to run concurrently (row locks per key). It returns the
// keys it installed or updated.
//
// Migration 004_templates installs the first built-in set itself, so `carillon
// migrate up` and every test database have it; call InstallBuiltins after
// migrations.Up to bring later changes of the built-ins to an existing database.
func InstallBuiltins(ctx context.Context, db interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}) ([]string, error) {
	var done []string
	for _, def := range Builtins() {
		changed := false
		err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			var edited bool
			err := tx.QueryRow(ctx, `SELECT edited FROM templates WHERE key = $1 FOR UPDATE`, def.Key).Scan(&edited)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
			case err != nil:
				return err
			case edited:
				return nil
			default:
				latest, err := scanVersion(tx.QueryRow(ctx, `SELECT `+versionCols+` FROM template_versions WHERE key = $1 AND builtin ORDER BY version DESC LIMIT 1`, def.Key))
				if err != nil && !errors.Is(err, ErrNotFound) {
					return err
				}
				if err == nil && sameDefinition(latest.Definition, def) {
					return nil
				}
			}
			if _, err := insertVersion(ctx, tx, def, BuiltinAuthor, true, "built-in", true, time.Now()); err != nil {
				return err
			}
			changed = true
			return nil
		})
		if err != nil {
			return done, fmt.Errorf("install built-in template %s: %w", def.Key, err)
		}
		if changed {
			done = append(done, def.Key)
		}
	}
	return done, nil
}

func sameDefinition(a, b Definition) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var x, y any
	_ = json.Unmarshal(ja, &x)
	_ = json.Unmarshal(jb, &y)
	return reflect.DeepEqual(x, y)
}

// BuiltinSQL returns the statements migration 004 uses to install the built-in set
// (generated from Builtins; a test keeps the migration in step).
func BuiltinSQL() (string, error) {
	var b strings.Builder
	for _, def := range Builtins() {
		variants, err := json.Marshal(def.Variants)
		if err != nil {
			return "", err
		}
		if strings.Contains(string(variants), "$v$") {
			return "", fmt.Errorf("built-in %s contains the quote $v$", def.Key)
		}
		fmt.Fprintf(&b, "INSERT INTO template_versions (key, version, purpose, source, default_locale, description, variants, author, builtin, note)\nVALUES (%s, 1, %s, %s, %s, %s, $v$%s$v$, %s, true, 'built-in');\n",
			quote(def.Key), quote(string(def.Purpose)), quote(def.Source), quote(def.DefaultLocale), quote(def.Description), variants, quote(BuiltinAuthor))
		fmt.Fprintf(&b, "INSERT INTO templates (key, active_version, edited) VALUES (%s, 1, false);\n", quote(def.Key))
	}
	return b.String(), nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
