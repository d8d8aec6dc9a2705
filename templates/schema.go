package templates

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"carillon/calendar"
	"carillon/internal/pii"
)

// Type is the type of a template variable.
type Type string

// Variable types.
const (
	String  Type = "string"
	Int     Type = "int"
	Number  Type = "number"  // a decimal
	Money   Type = "money"   // an amount in yuan: a number or a decimal string; format with money
	Date    Type = "date"    // a calendar.Date (or time.Time); format with date
	Bool    Type = "bool"    //
	Strings Type = "strings" // a list of strings (tags)
	Map     Type = "map"     // string keys chosen at send time (attrs, campaign variables): .Contact.Attrs.risk
	List    Type = "list"    // a list of records; the record's fields are declared as Name[].Field
)

// Schema declares the variables a source of messages provides, by dotted path:
// "Contact.Name": String. Intermediate objects ("Contact") are implied. A List's
// elements are declared under "Name[]." — "Items": List, "Items[].Name": String —
// and are reached with range. Templates are checked against their source's schema
// at save; a render fills every declared variable the caller left out with its
// zero value.
type Schema map[string]Type

// With returns a copy of s extended by the given schemas.
func (s Schema) With(more ...Schema) Schema {
	out := maps.Clone(s)
	if out == nil {
		out = Schema{}
	}
	for _, m := range more {
		maps.Copy(out, m)
	}
	return out
}

// Paths returns the declared paths, sorted.
func (s Schema) Paths() []string { return slices.Sorted(maps.Keys(s)) }

// hasChildren reports whether path names an object with declared fields.
func (s Schema) hasChildren(path string) bool {
	for p := range s {
		if strings.HasPrefix(p, path+".") {
			return true
		}
	}
	return false
}

// Sources (schema names) of the built-in templates. Later issues add their own
// through Config.Schemas.
const (
	SourceBirthday = "care.birthday"
	SourceFestival = "care.festival"
	SourceDeposit  = "notice.deposit_maturity"
	SourceDigest   = "revisit.digest"
	SourceCampaign = "campaign"
)

// ContactSchema is the contact: .Contact.Name, .Contact.Salutation (张先生 /
// Mr Zhang Wei), .Contact.Honorific (先生/女士/客户; Mr/Ms/""), tier, tags and attrs.
// Phone numbers and emails are not variables: .Contact.PhoneTail is the last four
// digits (for mask).
var ContactSchema = Schema{
	"Contact.Name":       String,
	"Contact.Surname":    String,
	"Contact.Honorific":  String,
	"Contact.Salutation": String,
	"Contact.Gender":     String,
	"Contact.Tier":       String,
	"Contact.Tags":       Strings,
	"Contact.Attrs":      Map,
	"Contact.ExternalID": String,
	"Contact.PhoneTail":  String,
	"Contact.Locale":     String,
}

// ManagerSchema is the customer's manager (or the digest's recipient).
var ManagerSchema = Schema{
	"Manager.Name": String,
	"Manager.Code": String,
	"Manager.Team": String,
}

// OccasionSchema is the day being marked: a festival's or birthday's name in the
// locale, its date, the lunar date as 农历八月十五 ("" for a solar occasion), the
// age when the birth year is known (0 otherwise) and whether it is a lunar birthday.
var OccasionSchema = Schema{
	"Occasion.Key":     String,
	"Occasion.Name":    String,
	"Occasion.Date":    Date,
	"Occasion.Lunar":   String,
	"Occasion.Age":     Int,
	"Occasion.IsLunar": Bool,
}

// BankSchema is the sender: the bank's name and service hotline (from config).
var BankSchema = Schema{
	"Bank.Name":    String,
	"Bank.Hotline": String,
	"Bank.URL":     String,
}

// DepositSchema is a maturing term deposit.
var DepositSchema = Schema{
	"Deposit.Product":      String,
	"Deposit.Amount":       Money,
	"Deposit.MaturityDate": Date,
	"Deposit.AccountTail":  String,
	"Deposit.DaysLeft":     Int,
}

// DigestSchema is a manager's daily revisit digest.
var DigestSchema = Schema{
	"Digest.Date":               Date,
	"Digest.Total":              Int,
	"Digest.Overdue":            Int,
	"Digest.URL":                String,
	"Digest.Items":              List,
	"Digest.Items[].Name":       String,
	"Digest.Items[].Tier":       String,
	"Digest.Items[].DueDate":    Date,
	"Digest.Items[].LastVisit":  Date,
	"Digest.Items[].Overdue":    Bool,
	"Digest.Items[].DaysLate":   Int,
	"Digest.Items[].PhoneTail":  String,
	"Digest.Items[].ExternalID": String,
	// The rest of a manager's day (package revisits fills them).
	"Digest.DueToday":                Int,
	"Digest.Items[].LastMethod":      String,
	"Digest.Items[].LastOutcome":     String,
	"Digest.Items[].Covered":         String, // the colleague on leave whose customer this is
	"Digest.Escalated":               List,   // a lead's: the team's revisits overdue past the threshold
	"Digest.Escalated[].ManagerName": String,
	"Digest.Escalated[].Name":        String,
	"Digest.Escalated[].ExternalID":  String,
	"Digest.Escalated[].Tier":        String,
	"Digest.Escalated[].DueOn":       Date,
	"Digest.Escalated[].DaysLate":    Int,
	"Digest.Team":                    List, // a lead's: each member's due, done and overdue
	"Digest.Team[].Name":             String,
	"Digest.Team[].Due":              Int,
	"Digest.Team[].Done":             Int,
	"Digest.Team[].Overdue":          Int,
	"Digest.Upcoming":                List, // birthdays and deposit maturities of the coming days
	"Digest.Upcoming[].Date":         Date,
	"Digest.Upcoming[].Kind":         String, // birthday, deposit_maturity
	"Digest.Upcoming[].Name":         String,
	"Digest.Upcoming[].ExternalID":   String,
	"Digest.Upcoming[].Note":         String,
	"Digest.Festivals":               List,
	"Digest.Festivals[].Date":        Date,
	"Digest.Festivals[].Name":        String,
	"Digest.Festivals[].Note":        String,
	"Digest.Replies":                 List, // customers' replies not yet forwarded
	"Digest.Replies[].Name":          String,
	"Digest.Replies[].ExternalID":    String,
	"Digest.Replies[].At":            Date,
	"Digest.Replies[].Text":          String,
	"Digest.Complaints":              List, // open complaints past their SLA
	"Digest.Complaints[].Name":       String,
	"Digest.Complaints[].ExternalID": String,
	"Digest.Complaints[].OpenedOn":   Date,
	"Digest.Complaints[].DaysOver":   Int,
	"Digest.Alerts":                  List, // change alerts (assets down, tier downgrade)
	"Digest.Alerts[].Name":           String,
	"Digest.Alerts[].ExternalID":     String,
	"Digest.Alerts[].Rule":           String,
	"Digest.Alerts[].RuleName":       String, // the rule's name in Chinese (资产下降)
	"Digest.Alerts[].RuleNameEN":     String, // in English (Assets down)
	"Digest.Weekly.New":              Int,    // a lead's weekly feedback summary: opened, resolved, still open
	"Digest.Weekly.Resolved":         Int,
	"Digest.Weekly.Open":             Int,
}

// CampaignSchema is a campaign's own variables (any key: .Campaign.rate).
var CampaignSchema = Schema{
	"Campaign": Map,
}

// BuiltinSchemas returns the schemas of the built-in sources.
func BuiltinSchemas() map[string]Schema {
	care := ContactSchema.With(ManagerSchema, OccasionSchema, BankSchema)
	return map[string]Schema{
		SourceBirthday: care,
		SourceFestival: care,
		SourceDeposit:  ContactSchema.With(ManagerSchema, BankSchema, DepositSchema),
		SourceDigest:   ManagerSchema.With(BankSchema, DigestSchema),
		SourceCampaign: ContactSchema.With(ManagerSchema, BankSchema, CampaignSchema),
	}
}

// Vars are the values a template is rendered with, nested as the schema's paths:
// Vars{"Contact": map[string]any{"Name": "张伟", …}, "Occasion": …}.
type Vars map[string]any

// ContactVars returns the contact's variables in locale (the contact's own when empty).
func ContactVars(c Contact, locale string) map[string]any {
	if locale == "" {
		locale = c.Locale
	}
	attrs := map[string]any{}
	if len(c.Attrs) > 0 {
		_ = json.Unmarshal(c.Attrs, &attrs)
	}
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"Name":       c.Name,
		"Surname":    Surname(c.Name),
		"Honorific":  Honorific(c.Gender, locale),
		"Salutation": Salutation(c.Name, c.Gender, locale),
		"Gender":     c.Gender,
		"Tier":       c.Tier,
		"Tags":       tags,
		"Attrs":      attrs,
		"ExternalID": c.ExternalID,
		"PhoneTail":  pii.Tail(c.Phone),
		"Locale":     locale,
	}
}

// ManagerVars returns a manager's variables.
func ManagerVars(m Manager) map[string]any {
	return map[string]any{"Name": m.Name, "Code": m.Code, "Team": m.Team}
}

// Occasion is the day a care message marks.
type Occasion struct {
	// Key is the festival key (mid_autumn) or "birthday".
	Key string
	// Name and NameEN are the festival's names (calendar.Festival); for a
	// birthday they may be empty.
	Name, NameEN string
	// Date is the solar day.
	Date calendar.Date
	// Lunar is the lunar date of a lunar occasion (a lunar birthday, a lunar festival).
	Lunar *calendar.LunarDate
	// BirthYear is the solar birth year when known; Age is computed from it.
	BirthYear int
	// Age overrides the computed age when set (calendar.Greeting.Age).
	Age int
}

// FestivalOccasion returns the occasion of a calendar festival.
func FestivalOccasion(f calendar.Festival, lunar *calendar.LunarDate) Occasion {
	return Occasion{Key: f.Key, Name: f.Name, NameEN: f.NameEN, Date: f.Date, Lunar: lunar}
}

// Vars returns the occasion's variables in locale.
func (o Occasion) Vars(locale string) map[string]any {
	name := o.Name
	if !isChinese(locale) && o.NameEN != "" {
		name = o.NameEN
	}
	if o.Key == "birthday" && name == "" {
		name = map[bool]string{true: "生日", false: "birthday"}[isChinese(locale)]
	}
	lunar := ""
	if o.Lunar != nil {
		lunar = o.Lunar.Chinese()
	}
	age := o.Age
	if age == 0 && o.BirthYear > 0 && !o.Date.IsZero() {
		age = o.Date.Year - o.BirthYear
	}
	return map[string]any{"Key": o.Key, "Name": name, "Date": o.Date, "Lunar": lunar, "Age": age, "IsLunar": o.Lunar != nil}
}

// Bank is the sender's identity for templates.
type Bank struct{ Name, Hotline, URL string }

// Vars returns the bank's variables.
func (b Bank) Vars() map[string]any {
	return map[string]any{"Name": b.Name, "Hotline": b.Hotline, "URL": b.URL}
}

// zero returns the zero value a render gives an undeclared variable of type t.
func zero(t Type) any {
	switch t {
	case Int:
		return 0
	case Number, Money:
		return 0.0
	case Date:
		return calendar.Date{}
	case Bool:
		return false
	case Strings:
		return []string{}
	case Map:
		return map[string]any{}
	case List:
		return []any{}
	}
	return ""
}

// fill returns vars with every declared path of s present (zero when absent), so a
// template may test {{if .Occasion.Age}} whatever the caller knew. List elements are
// filled too when they are maps.
func fill(vars Vars, s Schema) map[string]any {
	root := deepCopy(map[string]any(vars))
	for _, p := range s.Paths() {
		if strings.Contains(p, "[]") {
			continue
		}
		setDefault(root, strings.Split(p, "."), s[p])
		if s[p] == Map {
			stringMap(root, strings.Split(p, "."))
		}
	}
	for _, p := range s.Paths() {
		list, rest, ok := strings.Cut(p, "[].")
		if !ok || strings.Contains(rest, "[]") {
			continue
		}
		items, _ := get(root, strings.Split(list, ".")).([]any)
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				setDefault(m, strings.Split(rest, "."), s[p])
			}
		}
	}
	return root
}

// stringMap turns the map at path into a map[string]string, so a key it lacks
// renders as "" (a map of any would print "<no value>").
func stringMap(m map[string]any, path []string) {
	parent := get(m, path[:len(path)-1])
	pm, ok := parent.(map[string]any)
	if !ok {
		return
	}
	last := path[len(path)-1]
	src, ok := pm[last].(map[string]any)
	if !ok {
		return
	}
	out := make(map[string]string, len(src))
	for k, v := range src {
		out[k] = scalarString(v)
	}
	pm[last] = out
}

func scalarString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return fmt.Sprint(v)
}

func deepCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case map[string]any:
			out[k] = deepCopy(x)
		case []any:
			l := make([]any, len(x))
			for i, e := range x {
				if em, ok := e.(map[string]any); ok {
					l[i] = deepCopy(em)
				} else {
					l[i] = e
				}
			}
			out[k] = l
		case []map[string]any:
			l := make([]any, len(x))
			for i, e := range x {
				l[i] = deepCopy(e)
			}
			out[k] = l
		default:
			out[k] = v
		}
	}
	return out
}

func setDefault(m map[string]any, path []string, t Type) {
	for i, seg := range path {
		if i == len(path)-1 {
			if _, ok := m[seg]; !ok || m[seg] == nil {
				m[seg] = zero(t)
			}
			return
		}
		next, ok := m[seg].(map[string]any)
		if !ok {
			if m[seg] != nil {
				return // a struct or something else the caller chose: leave it
			}
			next = map[string]any{}
			m[seg] = next
		}
		m = next
	}
}

func get(m map[string]any, path []string) any {
	var cur any = m
	for _, seg := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[seg]
	}
	return cur
}

// SampleContact is the contact a preview without one renders for.
func SampleContact(locale string) Contact {
	c := Contact{
		ExternalID: "SAMPLE-0001", Name: "张伟", Gender: "male",
		Locale: "zh-CN", Phone: "+8613800135678", Tier: "A",
		Tags: []string{"vip"}, Attrs: json.RawMessage(`{"deposit_amount": 200000}`),
		Birthday: &Birthday{Calendar: "lunar", Year: 1976, Month: 9, Day: 7, LunarMonth: 8, LunarDay: 15},
	}
	if !isChinese(locale) {
		c.Name, c.Locale = "Wei Zhang", "en"
	}
	return c
}

// SampleVars returns the variables a preview (and the save-time trial render) uses
// for source: a sample contact, manager, occasion, deposit and digest.
func SampleVars(source, locale string, c *Contact) Vars {
	if c == nil {
		sc := SampleContact(locale)
		c = &sc
	}
	if locale == "" {
		locale = c.Locale
	}
	day := calendar.NewDate(2026, time.September, 25)
	lunar := &calendar.LunarDate{Year: 2026, Month: 8, Day: 15}
	v := Vars{
		"Contact": ContactVars(*c, locale),
		"Manager": map[string]any{"Name": "李娜", "Code": "M001", "Team": "浦东一部"},
		"Bank":    Bank{Name: "示例银行", Hotline: "95500", URL: "https://bank.example.com"}.Vars(),
	}
	if !isChinese(locale) {
		v["Manager"] = map[string]any{"Name": "Li Na", "Code": "M001", "Team": "Pudong 1"}
		v["Bank"] = Bank{Name: "Example Bank", Hotline: "95500", URL: "https://bank.example.com"}.Vars()
	}
	switch source {
	case SourceBirthday:
		o := Occasion{Key: "birthday", Date: day, BirthYear: 0}
		if c.Birthday != nil {
			o.BirthYear = c.Birthday.Year
			if c.Birthday.Calendar == "lunar" {
				o.Lunar = &calendar.LunarDate{Year: 2026, Month: c.Birthday.LunarMonth, Day: c.Birthday.LunarDay, Leap: c.Birthday.LunarLeap}
			}
		}
		v["Occasion"] = o.Vars(locale)
	case SourceFestival:
		v["Occasion"] = Occasion{Key: calendar.KeyMidAutumn, Name: "中秋节", NameEN: "Mid-Autumn Festival", Date: day, Lunar: lunar}.Vars(locale)
	case SourceDeposit:
		v["Deposit"] = map[string]any{"Product": map[bool]string{true: "三年期整存整取", false: "3-year term deposit"}[isChinese(locale)],
			"Amount": "200000.00", "MaturityDate": calendar.NewDate(2026, time.October, 2), "AccountTail": "8821", "DaysLeft": 7}
	case SourceDigest:
		v["Digest"] = map[string]any{"Date": day, "Total": 3, "Overdue": 1, "URL": "https://carillon.example.com/revisits",
			"Items": []any{
				map[string]any{"Name": "张伟", "Tier": "A", "DueDate": day, "LastVisit": day.AddDays(-7), "Overdue": false, "PhoneTail": "5678", "ExternalID": "C0001"},
				map[string]any{"Name": "王芳", "Tier": "B", "DueDate": day.AddDays(-2), "LastVisit": day.AddDays(-9), "Overdue": true, "DaysLate": 2, "PhoneTail": "1234", "ExternalID": "C0002"},
				map[string]any{"Name": "<b>O'Brien & Co</b>", "Tier": "C", "DueDate": day, "LastVisit": day.AddDays(-15), "PhoneTail": "9999", "ExternalID": "C0003",
					"LastMethod": "phone", "LastOutcome": "interested in the 3-year deposit"},
			},
			"Escalated": []any{map[string]any{"ManagerName": "李娜", "Name": "赵敏", "Tier": "A", "DueOn": day.AddDays(-6), "DaysLate": 4}},
			"Team":      []any{map[string]any{"Name": "李娜", "Due": 5, "Done": 3, "Overdue": 1}},
			"Upcoming": []any{map[string]any{"Date": day.AddDays(2), "Kind": "birthday", "Name": "张伟", "Note": "lunar"},
				map[string]any{"Date": day.AddDays(5), "Kind": "deposit_maturity", "Name": "王芳"}},
			"Replies":    []any{map[string]any{"Name": "张伟", "At": day, "Text": "请周三下午来电"}},
			"Complaints": []any{map[string]any{"Name": "钱七", "OpenedOn": day.AddDays(-5), "DaysOver": 1}},
			"Alerts":     []any{map[string]any{"Name": "孙八", "Rule": "assets_drop", "RuleName": "资产下降", "RuleNameEN": "Assets down"}},
			"Weekly":     map[string]any{"New": 6, "Resolved": 4, "Open": 2},
		}
	case SourceCampaign:
		v["Campaign"] = map[string]any{"product": "稳健理财 2027Q1", "rate": "3.10%", "url": "https://bank.example.com/w"}
	}
	return v
}

// Honorific is 先生/女士 from gender in Chinese, with 客户 for an unknown one; in
// other locales Mr/Ms, or "" for an unknown gender.
func Honorific(gender, locale string) string {
	zh := isChinese(locale)
	switch gender {
	case "male":
		return map[bool]string{true: "先生", false: "Mr"}[zh]
	case "female":
		return map[bool]string{true: "女士", false: "Ms"}[zh]
	}
	return map[bool]string{true: "客户", false: ""}[zh]
}

// compoundSurnames are the two-character Chinese surnames a name may start with.
var compoundSurnames = []string{"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "司徒", "申屠"}

// Surname returns the family name of a Chinese name (its first character, or a
// compound surname). A name in Latin letters is returned whole: its order (Li Na,
// Anna Smith) cannot be told.
func Surname(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return ""
	}
	r := []rune(name)
	if r[0] >= 0x4E00 && r[0] <= 0x9FFF {
		for _, c := range compoundSurnames {
			if strings.HasPrefix(name, c) && len(r) > 2 {
				return c
			}
		}
		return string(r[0])
	}
	return strings.Join(strings.Fields(name), " ")
}

// Salutation is how a message addresses the contact. Chinese: the surname and the
// honorific (张先生, 李女士), the full name when the gender is unknown, 客户 without
// a name. Other locales: Mr/Ms and the full name, the name alone when the gender is
// unknown, "Customer" without a name.
func Salutation(name, gender, locale string) string {
	name = strings.TrimSpace(name)
	h := Honorific(gender, locale)
	if isChinese(locale) {
		switch {
		case name == "":
			return "客户"
		case gender == "male" || gender == "female":
			return Surname(name) + h
		}
		return name
	}
	switch {
	case name == "":
		return "Customer"
	case h != "":
		return h + " " + name
	}
	return name
}
