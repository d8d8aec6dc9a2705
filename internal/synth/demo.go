package synth

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"

	"carillon/calendar"
)

// DemoContactsHeader is the header row WriteDemoContacts writes.
const DemoContactsHeader = "external_id,name,gender,phone,email,wechat_openid,birthday,lunar_birthday,birthday_calendar," +
	"tier,manager,tags,locale,timezone,status,consent_sms,consent_email,consent_wechat,assets,deposit_maturity,deposit_amount"

// WriteDemoContacts writes n contacts (C00000001…) for a demo played on today:
// about 2% celebrate their birthday today (half of them on the lunar
// calendar), about 2% have a deposit maturing a week from today (the notice is
// today's), a few are closed or deceased, some have only one channel, and
// some have opted out of marketing. The rest are spread over the year. The
// output depends only on the seed and today.
func WriteDemoContacts(w io.Writer, n, managers int, seed uint64, today calendar.Date) error {
	lunarToday, err := calendar.ToLunar(today)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	r := rand.New(rand.NewPCG(seed, seed^0x51afd7ed558ccd))
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintln(bw, DemoContactsHeader)
	for i := 1; i <= n; i++ {
		english := r.IntN(100) < 12
		gender := [2]string{"male", "female"}[r.IntN(2)]
		name, locale := surnames[r.IntN(len(surnames))]+givenNames[r.IntN(len(givenNames))], "zh-CN"
		if english {
			name, locale = enFirst[r.IntN(len(enFirst))]+" "+enLast[r.IntN(len(enLast))], "en"
		}
		year := 1940 + r.IntN(63)
		month, day := 1+r.IntN(12), 1+r.IntN(28)
		lunar, cal := "", "solar"
		if r.IntN(100) < 30 {
			cal = "lunar"
			lunar = fmt.Sprintf("%02d-%02d", 1+r.IntN(12), 1+r.IntN(29))
		}
		switch b := r.IntN(100); {
		case b < 1: // a solar birthday today
			cal, lunar, month, day = "solar", "", int(today.Month), today.Day
			if month == 2 && day == 29 {
				day = 28
			}
		case b < 2: // a lunar birthday today
			cal = "lunar"
			lunar = fmt.Sprintf("%02d-%02d", lunarToday.Month, lunarToday.Day)
			if lunarToday.Leap {
				lunar = "闰" + lunar
			}
		}
		status := "active"
		switch s := r.IntN(200); {
		case s == 0:
			status = "deceased"
		case s == 1:
			status = "closed"
		}
		phone := fmt.Sprintf("%s%08d", prefixes[i%len(prefixes)], (i*7919)%100000000)
		email := fmt.Sprintf("c%07d@example.com", i)
		openid := fmt.Sprintf("oDemo%023d", i)
		switch ch := r.IntN(100); {
		case ch < 10: // only a phone
			email, openid = "", ""
		case ch < 15: // only an email
			phone, openid = "", ""
		case ch < 55: // no WeChat
			openid = ""
		}
		yes := func(p int) string {
			if r.IntN(100) < p {
				return "yes"
			}
			return "no"
		}
		consentSMS, consentEmail, consentWeChat := yes(80), yes(60), yes(70)
		if r.IntN(20) == 0 { // opted out of marketing everywhere
			consentSMS, consentEmail, consentWeChat = "no", "no", "no"
		}
		maturity, amount := "", ""
		switch m := r.IntN(100); {
		case m < 2:
			maturity = today.AddDays(7).String()
		case m < 40:
			maturity = today.AddDays(8 + r.IntN(300)).String()
		}
		if maturity != "" {
			amount = fmt.Sprintf("%d.00", 10000*(1+r.IntN(100)))
		}
		tz := "Asia/Shanghai"
		if r.IntN(100) == 0 {
			tz = "America/New_York"
		}
		tags := tagPool[r.IntN(len(tagPool))]
		if r.IntN(3) == 0 {
			tags += ";" + tagPool[r.IntN(len(tagPool))]
		}
		manager := ""
		if managers > 0 {
			manager = fmt.Sprintf("M%05d", r.IntN(managers))
		}
		fmt.Fprintf(bw, "C%08d,%s,%s,%s,%s,%s,%04d-%02d-%02d,%s,%s,%c,%s,%s,%s,%s,%s,%s,%s,%s,%d,%s,%s\n",
			i, name, gender, phone, email, openid, year, month, day, lunar, cal, "ABBCCCDDDD"[r.IntN(10)], manager, tags,
			locale, tz, status, consentSMS, consentEmail, consentWeChat, 1000*(1+r.IntN(5000)), maturity, amount)
	}
	return bw.Flush()
}
