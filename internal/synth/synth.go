// Package synth writes realistic synthetic managers and contacts as CSV, for the
// benchmarks and for demos larger than the shipped examples. The output depends only
// on the seed.
package synth

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
)

var (
	surnames   = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗", "欧阳", "诸葛"}
	givenNames = []string{"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "晓东", "雪梅"}
	enFirst    = []string{"Emily", "James", "Olivia", "Daniel", "Sophia", "Michael", "Grace", "David", "Chloe", "Ethan"}
	enLast     = []string{"Chen", "Wong", "Smith", "Lee", "Brown", "Lam", "Taylor", "Ng", "Wilson", "Ho"}
	tagPool    = []string{"wealth", "retired", "vip", "young_professional", "business_owner", "pension", "mortgage", "credit_card"}
	prefixes   = []string{"135", "136", "137", "138", "139", "150", "151", "152", "158", "159", "186", "187", "188", "189"}
	teams      = []string{"east", "south", "west", "north"}
)

// ContactsHeader is the header row WriteContacts writes.
const ContactsHeader = "external_id,name,gender,phone,email,birthday,lunar_birthday,birthday_calendar,tier,manager,tags,locale,timezone,consent_sms,consent_email,assets,deposit_maturity"

// WriteManagers writes n managers (codes M00001…), in teams of ten with the first
// of each team as its lead.
func WriteManagers(w io.Writer, n int) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "code,name,email,wecom_userid,team,lead,timezone")
	for i := range n {
		lead := i - i%10
		fmt.Fprintf(bw, "M%05d,%s%s,m%05d@bank.example,m%05d,%s%d,M%05d,Asia/Shanghai\n",
			i, surnames[i%len(surnames)], givenNames[(i*7)%len(givenNames)], i, i, teams[(i/10)%len(teams)], i/40, lead)
	}
	return bw.Flush()
}

// WriteContacts writes n contacts (external ids from offset) spread over managers
// managers (0 for none).
func WriteContacts(w io.Writer, n, offset, managers int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	bw := bufio.NewWriterSize(w, 1<<20)
	fmt.Fprintln(bw, ContactsHeader)
	var sb strings.Builder
	for i := offset; i < offset+n; i++ {
		sb.Reset()
		english := r.IntN(100) < 12
		var name, locale, gender string
		if r.IntN(2) == 0 {
			gender = "male"
		} else {
			gender = "female"
		}
		if english {
			name = enFirst[r.IntN(len(enFirst))] + " " + enLast[r.IntN(len(enLast))]
			locale = "en"
		} else {
			name = surnames[r.IntN(len(surnames))] + givenNames[r.IntN(len(givenNames))]
			locale = "zh-CN"
		}
		year := 1940 + r.IntN(63)
		month := 1 + r.IntN(12)
		day := 1 + r.IntN(28)
		birthday := fmt.Sprintf("%04d-%02d-%02d", year, month, day)
		lunar, cal := "", "solar"
		if r.IntN(100) < 30 {
			cal = "lunar"
			lunar = fmt.Sprintf("%02d-%02d", 1+r.IntN(12), 1+r.IntN(30))
			if r.IntN(50) == 0 {
				lunar = "闰" + fmt.Sprintf("%02d-%02d", 2+r.IntN(10), 1+r.IntN(29))
			}
		}
		tier := "ABBCCCDDDD"[r.IntN(10)]
		manager := ""
		if managers > 0 {
			manager = fmt.Sprintf("M%05d", r.IntN(managers))
		}
		tags := tagPool[r.IntN(len(tagPool))]
		if r.IntN(3) == 0 {
			tags += ";" + tagPool[r.IntN(len(tagPool))]
		}
		tz := "Asia/Shanghai"
		if r.IntN(100) == 0 {
			tz = "America/New_York"
		}
		yes := func(p int) string {
			if r.IntN(100) < p {
				return "yes"
			}
			return "no"
		}
		email := ""
		if r.IntN(100) < 60 {
			email = fmt.Sprintf("c%07d@example.com", i)
		}
		maturity := ""
		if r.IntN(100) < 40 {
			maturity = fmt.Sprintf("2027-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28))
		}
		fmt.Fprintf(bw, "C%08d,%s,%s,%s%08d,%s,%s,%s,%s,%c,%s,%s,%s,%s,%s,%s,%d,%s\n",
			i, name, gender, prefixes[i%len(prefixes)], i%100000000, email, birthday, lunar, cal, tier, manager, tags,
			locale, tz, yes(80), yes(50), 1000*(1+r.IntN(5000)), maturity)
	}
	return bw.Flush()
}
