package contacts_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"carillon/contacts"
	"carillon/internal/audit"
)

const basicCSV = "external_id,name,gender,phone,email,birthday,lunar_birthday,birthday_calendar,tier,manager,tags,consent_sms,assets,deposit_maturity\n" +
	"C001,张伟,男,13812345678,zhang.wei@example.com,1965-03-08,,,A,M001,wealth;vip,yes,\"1,250,000.50\",2027-01-15\n" +
	"C002,Emily Chen,female,+1 415 555 2671,emily@example.com,,08-15,lunar,B,M002,wealth；retired,no,300000,\n" +
	"C003,李娜,女,139 1234 5678,,1980-02-29,,,C,,,Y,007,2026/12/1\n"

func TestImportInsertsThenSecondImportChangesNothing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importManagers(t)

	rep := b.importContacts(t, basicCSV)
	require.Empty(t, rep.Errors)
	require.Equal(t, 3, rep.Rows)
	require.Equal(t, 3, rep.Inserted)
	require.Equal(t, 0, rep.Failed)

	c, err := b.store.GetByExternalID(b.ctx, "C001")
	require.NoError(t, err)
	require.Equal(t, "+8613812345678", c.Phone)
	require.Equal(t, "male", c.Gender)
	require.Equal(t, "M001", c.Manager)
	require.Equal(t, []string{"wealth", "vip"}, c.Tags)
	require.Equal(t, "solar", c.Birthday.Calendar)
	require.Equal(t, 1965, c.Birthday.Year)
	require.JSONEq(t, `{"assets":1250000.50,"deposit_maturity":"2027-01-15"}`, string(c.Attrs))

	c2, err := b.store.GetByExternalID(b.ctx, "C002")
	require.NoError(t, err)
	require.Equal(t, "+14155552671", c2.Phone)
	require.Equal(t, "lunar", c2.Birthday.Calendar, "only a lunar birthday given")
	require.Equal(t, 8, c2.Birthday.LunarMonth)
	require.Equal(t, 15, c2.Birthday.LunarDay)
	require.Equal(t, []string{"wealth", "retired"}, c2.Tags, "full-width ； separates tags too")

	c3, err := b.store.GetByExternalID(b.ctx, "C003")
	require.NoError(t, err)
	require.JSONEq(t, `{"assets":"007","deposit_maturity":"2026-12-01"}`, string(c3.Attrs), "leading zeros stay text; dates become ISO")

	again := b.importContacts(t, basicCSV)
	require.Equal(t, 3, again.Rows)
	require.Equal(t, 0, again.Inserted)
	require.Equal(t, 0, again.Updated)
	require.Equal(t, 3, again.Unchanged)

	var events int
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM contact_events`).Scan(&events))
	require.Equal(t, 3, events, "three creations; their consents are named in the creation events")
	page, err := b.store.Timeline(b.ctx, c.ID, contacts.TimelineFilter{})
	require.NoError(t, err)
	require.JSONEq(t, `{"sms": true}`, string(mustField(t, page.Items[0].Data, "marketing_consents")))
	cons, err := b.store.Consents(b.ctx, c2.ID)
	require.NoError(t, err)
	require.Equal(t, []contacts.Consent{{Channel: "sms", Purpose: "marketing", Granted: false, Source: "import", At: cons[0].At}}, cons, "a file's no is recorded")
}

func TestImportEmptyCellKeepsStoredValueAndChangesAreRecorded(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importManagers(t)
	b.importContacts(t, basicCSV)

	rep := b.importContacts(t, "external_id,phone,tier,email\nC001,13900001111,,\nC002,,A,\n")
	require.Empty(t, rep.Errors)
	require.Equal(t, 2, rep.Updated)

	c, err := b.store.GetByExternalID(b.ctx, "C001")
	require.NoError(t, err)
	require.Equal(t, "+8613900001111", c.Phone)
	require.Equal(t, "A", c.Tier, "empty cell keeps the tier")
	require.Equal(t, "zhang.wei@example.com", c.Email, "empty cell keeps the email")

	page, err := b.store.Timeline(b.ctx, c.ID, contacts.TimelineFilter{Kind: contacts.EventUpdated})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	ev := string(page.Items[0].Data)
	require.Contains(t, ev, `"phone": {"to": "139****1111", "from": "138****5678"}`)
	require.NotContains(t, ev, "13900001111", "no raw phone number in the timeline")
}

func TestImportReportsBadRowsAndKeepsGoodOnes(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importManagers(t)
	csv := "客户号,姓名,手机号,客户等级,客户经理,农历生日,生日,邮箱\n" + // line 1
		"D1,好人,13812345678,A,M001,,,\n" + // 2 ok
		"D2,坏号,12345,A,M001,,,\n" + // 3 bad phone
		"D3,等级,13812345679,E,M001,,,\n" + // 4 unknown tier
		"D4,经理,13812345670,A,M999,,,\n" + // 5 unknown manager
		"D1,重复,13812345671,A,M001,,,\n" + // 6 duplicate id
		"D5,闰月,13812345672,B,M002,闰04-08,,\n" + // 7 leap-month lunar birthday: ok
		"D6,短行,13812345673\n" + // 8 ragged
		"D7,坏日,13812345674,B,,,1990-02-30,\n" + // 9 bad date
		"D8,邮件,,B,,,,not-an-email\n" + // 10 bad email
		"D9,好人二,13812345675,D,,L11-30,,\n" // 11 ok, leap as L
	rep := b.importContacts(t, csv)
	require.Equal(t, 10, rep.Rows)
	require.Equal(t, 3, rep.Inserted)
	require.Equal(t, 7, rep.Failed)
	type loc struct {
		line   int
		column string
	}
	var got []loc
	for _, e := range rep.Errors {
		got = append(got, loc{e.Line, e.Column})
		require.NotEmpty(t, e.Message)
		require.NotContains(t, e.Message, "12345\"", "phone numbers are masked in messages")
	}
	require.Equal(t, []loc{{3, "手机号"}, {4, "客户等级"}, {5, "客户经理"}, {6, "客户号"}, {8, ""}, {9, "生日"}, {10, "邮箱"}}, got)
	require.Contains(t, rep.Errors[3].Message, "line 2")

	d5, err := b.store.GetByExternalID(b.ctx, "D5")
	require.NoError(t, err)
	require.Equal(t, &contacts.Birthday{Calendar: "lunar", LunarMonth: 4, LunarDay: 8, LunarLeap: true}, d5.Birthday)
	d9, err := b.store.GetByExternalID(b.ctx, "D9")
	require.NoError(t, err)
	require.True(t, d9.Birthday.LunarLeap)
	require.Equal(t, 30, d9.Birthday.LunarDay)
}

func TestImportEncodings(t *testing.T) {
	t.Parallel()
	content := "客户号,姓名,手机\nG1,欧阳娜娜,13812345678\nG2,诸葛亮,13812345679\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(content)
	require.NoError(t, err)
	cases := map[string]struct {
		data []byte
		enc  string
	}{
		"utf8":     {[]byte(content), contacts.EncodingUTF8},
		"utf8 bom": {append([]byte{0xEF, 0xBB, 0xBF}, content...), contacts.EncodingUTF8BOM},
		"gbk":      {[]byte(gbk), contacts.EncodingGB18030},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			rep, err := b.store.ImportContacts(b.ctx, bytes.NewReader(tc.data), contacts.ImportOptions{})
			require.NoError(t, err)
			require.Equal(t, tc.enc, rep.Encoding)
			require.Empty(t, rep.Errors)
			require.Equal(t, 2, rep.Inserted)
			c, err := b.store.GetByExternalID(b.ctx, "G1")
			require.NoError(t, err)
			require.Equal(t, "欧阳娜娜", c.Name)
		})
	}
}

func TestImportUnreadableFiles(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, data := range map[string]string{
		"empty":        "",
		"blank lines":  "\n\n",
		"no id column": "name,phone\n张三,13812345678\n",
		"dup columns":  "external_id,客户号\n1,2\n",
	} {
		_, err := b.store.ImportContacts(b.ctx, strings.NewReader(data), contacts.ImportOptions{})
		require.ErrorIs(t, err, contacts.ErrUnreadable, name)
	}
	rep := b.importContacts(t, "external_id,name\n")
	require.Equal(t, 0, rep.Rows, "header only: read, nothing to do")
}

func TestImportHugeCellIsARowError(t *testing.T) {
	t.Parallel()
	b := setup(t)
	huge := strings.Repeat("长", 10<<20/3)
	rep := b.importContacts(t, "external_id,name,note\nH1,\""+huge+"\",x\nH2,正常,y\n")
	require.Equal(t, 1, rep.Inserted)
	require.Equal(t, 1, rep.Failed)
	require.Equal(t, 2, rep.Errors[0].Line)
	require.Equal(t, "name", rep.Errors[0].Column)
	require.Contains(t, rep.Errors[0].Message, "too long")
}

func TestImportNeverReGrantsARevokedConsent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importContacts(t, "external_id,phone,consent_sms\nR1,13812345678,yes\nR2,13812345679,yes\n")
	r1, err := b.store.GetByExternalID(b.ctx, "R1")
	require.NoError(t, err)
	changed, err := b.store.SetConsent(b.ctx, nil, audit.Actor{Name: "sms:inbound"}, r1.ID, contacts.ConsentChange{Channel: "sms", Purpose: "marketing", Granted: false, Source: "sms_reply", Reason: "replied TD"})
	require.NoError(t, err)
	require.True(t, changed)

	rep := b.importContacts(t, "external_id,phone,consent_sms\nR1,13812345678,yes\nR2,13812345679,yes\n")
	require.Len(t, rep.Warnings, 1)
	require.Equal(t, 2, rep.Warnings[0].Line)
	require.Equal(t, 2, rep.Unchanged)
	cons, err := b.store.Consents(b.ctx, r1.ID)
	require.NoError(t, err)
	require.Len(t, cons, 1)
	require.False(t, cons[0].Granted, "the revocation stands")

	// A consent given (signed) after the revocation does re-grant.
	rep = b.importContacts(t, "external_id,consent_sms,consent_at\nR1,yes,2999-01-01\n")
	require.Empty(t, rep.Warnings)
	require.Equal(t, 1, rep.Updated)
}

func TestImportStatusAndDeceased(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rep := b.importContacts(t, "external_id,status\nS1,已故\nS2,dormant\nS3,gone\n")
	require.Equal(t, 2, rep.Inserted)
	require.Equal(t, 4, rep.Errors[0].Line)
	s1, err := b.store.GetByExternalID(b.ctx, "S1")
	require.NoError(t, err)
	require.Equal(t, contacts.StatusDeceased, s1.Status)
}

func TestImportManyRowsAcrossChunks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	store, err := contacts.NewStore(b.db.Pool, contacts.Config{ImportChunk: 100})
	require.NoError(t, err)
	var sb strings.Builder
	sb.WriteString("external_id,name,phone,tier\n")
	for i := range 1050 {
		fmt.Fprintf(&sb, "N%05d,客户%d,138%08d,%c\n", i, i, i, "ABCD"[i%4])
	}
	fmt.Fprintf(&sb, "N00007,重复,13800000007,A\n")
	var progress []int
	rep, err := store.ImportContacts(b.ctx, strings.NewReader(sb.String()), contacts.ImportOptions{Progress: func(rows int, _ int64) { progress = append(progress, rows) }})
	require.NoError(t, err)
	require.Equal(t, 1051, rep.Rows)
	require.Equal(t, 1050, rep.Inserted)
	require.Equal(t, 1, rep.Failed)
	require.Equal(t, 1052, rep.Errors[0].Line)
	require.Greater(t, len(progress), 5, "progress reported per chunk")
}

func TestTimelinePagingIsNewestFirstAndComplete(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c, err := b.store.Create(b.ctx, audit.Actor{Name: "test"}, contacts.Input{ExternalID: ptr("T1"), Tier: ptr("D")})
	require.NoError(t, err)
	for i, tier := range []string{"C", "B", "A", "B", "C", "D", "A"} {
		_, err := b.store.Update(b.ctx, audit.Actor{Name: fmt.Sprintf("test-%d", i)}, c.ID, contacts.Input{Tier: ptr(tier)})
		require.NoError(t, err)
	}
	_, err = b.store.Update(b.ctx, audit.Actor{Name: "test"}, c.ID, contacts.Input{Tier: ptr("A")})
	require.NoError(t, err)

	var all []contacts.Event
	cursor := ""
	for {
		page, err := b.store.Timeline(b.ctx, c.ID, contacts.TimelineFilter{Limit: 3, Cursor: cursor})
		require.NoError(t, err)
		all = append(all, page.Items...)
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	require.Len(t, all, 8, "one creation and seven changes; the no-op update wrote nothing")
	for i := 1; i < len(all); i++ {
		require.True(t, all[i-1].At.After(all[i].At) || (all[i-1].At.Equal(all[i].At) && all[i-1].ID > all[i].ID), "newest first")
	}
	require.Equal(t, contacts.EventCreated, all[len(all)-1].Kind)
	require.Equal(t, "test-6", all[0].Actor)

	_, err = b.store.Timeline(b.ctx, c.ID, contacts.TimelineFilter{Cursor: "garbage"})
	require.ErrorIs(t, err, contacts.ErrBadCursor)
	_, err = b.store.Timeline(b.ctx, 987654, contacts.TimelineFilter{})
	require.ErrorIs(t, err, contacts.ErrNotFound)
}

func ptr[T any](v T) *T { return &v }

// Care consent columns (care_sms, 微信关怀, …) record care statements beside
// marketing ones, and never re-grant a care consent the customer revoked.
func TestImportCareConsentColumns(t *testing.T) {
	t.Parallel()
	b := setup(t)
	rep := b.importContacts(t, "external_id,phone,email,consent_sms,care_sms,邮件关怀\nK1,13812345678,k1@example.com,yes,no,是\n")
	require.Empty(t, rep.Errors)
	k1, err := b.store.GetByExternalID(b.ctx, "K1")
	require.NoError(t, err)
	state := func() map[string]bool {
		cons, err := b.store.Consents(b.ctx, k1.ID)
		require.NoError(t, err)
		m := map[string]bool{}
		for _, c := range cons {
			m[c.Channel+"/"+c.Purpose] = c.Granted
		}
		return m
	}
	require.Equal(t, map[string]bool{"sms/marketing": true, "sms/care": false, "email/care": true}, state())

	_, err = b.store.SetConsent(b.ctx, nil, audit.Actor{Name: "sms:inbound"}, k1.ID, contacts.ConsentChange{Channel: "email", Purpose: "care", Granted: false, Source: "unsubscribe_link"})
	require.NoError(t, err)
	rep = b.importContacts(t, "external_id,care_email\nK1,yes\n")
	require.Len(t, rep.Warnings, 1, "the customer's refusal stands")
	require.False(t, state()["email/care"])
}

// Bytes a GB18030 file cannot hold are reported with their line and column,
// never imported as replacement characters; the good rows are kept. Extra
// columns are capped as the API caps attrs.
func TestImportReportsUnreadableBytesAndCapsAttrs(t *testing.T) {
	t.Parallel()
	b := setup(t)
	good, err := simplifiedchinese.GB18030.NewEncoder().String("客户号,姓名,备注\nG1,欧阳娜娜,好\n")
	require.NoError(t, err)
	bad, err := simplifiedchinese.GB18030.NewEncoder().String("G2,诸葛")
	require.NoError(t, err)
	data := []byte(good + bad)
	data = append(data, 0xFF, 0xFF) // not a GB18030 sequence
	data = append(data, []byte(",x\n")...)
	rep, err := b.store.ImportContacts(b.ctx, bytes.NewReader(data), contacts.ImportOptions{})
	require.NoError(t, err)
	require.Equal(t, contacts.EncodingGB18030, rep.Encoding)
	require.Equal(t, 1, rep.Inserted)
	require.Len(t, rep.Errors, 1)
	require.Equal(t, 3, rep.Errors[0].Line)
	require.Equal(t, "姓名", rep.Errors[0].Column)
	require.Contains(t, rep.Errors[0].Message, "unreadable characters")
	_, err = b.store.GetByExternalID(b.ctx, "G2")
	require.ErrorIs(t, err, contacts.ErrNotFound)

	// Each cell within its own limit; together past the attrs cap.
	var head, row, short []string
	for i := range 20 {
		head = append(head, fmt.Sprintf("note%d", i))
		row = append(row, strings.Repeat("x", 4000))
		short = append(short, "s")
	}
	csvText := "external_id," + strings.Join(head, ",") + "\nA1," + strings.Join(row, ",") + "\nA2," + strings.Join(short, ",") + "\n"
	rep, err = b.store.ImportContacts(b.ctx, strings.NewReader(csvText), contacts.ImportOptions{})
	require.NoError(t, err)
	require.Equal(t, 1, rep.Inserted)
	require.Len(t, rep.Errors, 1)
	require.Equal(t, 2, rep.Errors[0].Line)
	require.Contains(t, rep.Errors[0].Message, "at most 65536")
}

// An external id or a manager code holding a control character or a line break
// (a quoted CSV cell can) is reported with its line and column and skipped; the
// good rows are kept. The same check guards the API and the managers import.
func TestImportRefusesControlCharactersInIdentifiers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importManagers(t)
	rep := b.importContacts(t, "external_id,name,manager\nG1,甲,M001\n\"X9\nG3,M002\",乙,M001\nB\x01D,丙,\nG2,丁,\"M0\n01\"\nG4,戊,M002\n")
	require.Equal(t, 2, rep.Inserted, "G1 and G4")
	require.Equal(t, 3, rep.Failed)
	require.Len(t, rep.Errors, 3)
	for i, want := range []struct {
		line   int
		column string
	}{{3, "external_id"}, {5, "external_id"}, {6, "manager"}} {
		require.Equal(t, want.line, rep.Errors[i].Line, rep.Errors[i])
		require.Equal(t, want.column, rep.Errors[i].Column)
		require.Contains(t, rep.Errors[i].Message, "line breaks")
		require.Contains(t, rep.Errors[i].Message, "换行符")
	}
	for _, ext := range []string{"G1", "G4"} {
		_, err := b.store.GetByExternalID(b.ctx, ext)
		require.NoError(t, err, ext)
	}
	for _, ext := range []string{"X9", "G3", "G2"} {
		_, err := b.store.GetByExternalID(b.ctx, ext)
		require.ErrorIs(t, err, contacts.ErrNotFound, ext)
	}

	// The API.
	_, err := b.store.Create(b.ctx, audit.Actor{Name: "test"}, contacts.Input{ExternalID: ptr("A\u2028B")})
	var ve *contacts.ValidationError
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "external_id", ve.Fields[0].Field)

	// Managers: by import (reported with the line) and by the API.
	mrep, err := b.store.ImportManagers(b.ctx, strings.NewReader("code,name,lead\nM005,甲,\n\"M0\n06\",乙,\nM007,丙,\"M0\t01\"\n"), contacts.ImportOptions{Actor: audit.Actor{Name: "test"}})
	require.NoError(t, err)
	require.Len(t, mrep.Errors, 2, "%+v", mrep.Errors)
	require.Equal(t, 3, mrep.Errors[0].Line)
	require.Equal(t, "code", mrep.Errors[0].Field)
	require.Equal(t, 5, mrep.Errors[1].Line)
	require.Equal(t, "lead", mrep.Errors[1].Field)
	_, err = b.store.GetManager(b.ctx, "M005")
	require.NoError(t, err, "the good row is kept")
	_, err = b.store.SaveManager(b.ctx, audit.Actor{Name: "test"}, contacts.ManagerInput{Code: ptr("M\r8"), Name: ptr("丁")}, true)
	require.ErrorAs(t, err, &ve)
	require.Equal(t, "code", ve.Fields[0].Field)
}
