package campaigns_test

import (
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/campaigns"
	"carillon/internal/audit"
	"carillon/internal/identity"
)

const noticeProviders = `
[[provider]]
name = "wecom"
provider = "wecom"
endpoint = "sandbox"
app_id = "1000002"

[[provider]]
name = "mail"
provider = "smtp"
endpoint = "sandbox"
from = "care@bank.example"
`

// waitFor polls until cond holds (the job runs on River's own schedule).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDecisionNoticeReachesTheAuthor approves one campaign (the author has a
// work email: the SMTP sandbox's mailbox gets one message with the comment)
// and rejects another (the author prefers WeCom: the WeCom sandbox gets it),
// through real River workers and the providers' adapters.
func TestDecisionNoticeReachesTheAuthor(t *testing.T) {
	t.Parallel()
	b := setup(t, options{providers: noticeProviders, run: true})
	b.addContacts(t, 1, 2, nil)
	s := func(v string) *string { return &v }
	_, err := b.ids.SetContact(b.ctx, audit.Actor{Name: "test"}, "mk", identity.ContactChange{WorkEmail: s("mei.kai@bank.example")})
	require.NoError(t, err)
	_, err = b.ids.SetContact(b.ctx, audit.Actor{Name: "test"}, "ap", identity.ContactChange{WorkEmail: s("")}) // the approver needs none
	require.NoError(t, err)

	c := b.draft(t, campaigns.Input{Name: ptr("春季理财")})
	c, err = b.svc.Submit(b.ctx, b.users["mk"], c.ID)
	require.NoError(t, err)
	_, err = b.svc.ApproveWithComment(b.ctx, b.users["ap"], c.ID, c.Version, "文案很好，按计划发送 <b>ok</b>")
	require.NoError(t, err)

	mail := b.world.Built.Sandboxes["mail"].Recorder()
	waitFor(t, "the approval email", func() bool { return len(mail.Deliveries()) == 1 })
	got := mail.Deliveries()[0]
	require.Contains(t, got.To, "mei.kai@bank.example")
	require.NotEmpty(t, mail.Raw(got.MessageID), "the sandbox kept the mail")
	raw := decodeMail(t, string(mail.Raw(got.MessageID)))
	require.Contains(t, raw, "春季理财")
	require.Contains(t, raw, "文案很好，按计划发送 <b>ok</b>", "the comment, as typed, in plain text")
	require.Contains(t, raw, "已由 ap 批准")
	require.Contains(t, raw, "was approved by ap")
	require.Contains(t, raw, "/console/campaigns/"+itoa(c.ID))

	// The second author prefers WeCom; their campaign is rejected.
	wn := identity.NotifyWeCom
	_, err = b.ids.SetContact(b.ctx, audit.Actor{Name: "test"}, "mk2", identity.ContactChange{WorkEmail: s("li.na@bank.example"), WeComUserID: s("lina.wecom"), Notify: &wn})
	require.NoError(t, err)
	c2, err := b.svc.Create(b.ctx, b.users["mk2"], campaigns.Input{Name: ptr("Autumn wealth"), Expression: ptr(`"wealth" in tags`), Template: ptr(templateKey),
		Channels: &[]string{"sms"}, Vars: map[string]any{"product": "稳健理财"}})
	require.NoError(t, err)
	_, err = b.svc.Submit(b.ctx, b.users["mk2"], c2.ID)
	require.NoError(t, err)
	_, err = b.svc.Reject(b.ctx, b.users["ap"], c2.ID, "预算超出，请缩小范围")
	require.NoError(t, err)

	wecom := b.world.Built.Sandboxes["wecom"].Recorder()
	waitFor(t, "the rejection on WeCom", func() bool { return len(wecom.Deliveries()) == 1 })
	w := wecom.Deliveries()[0]
	require.Equal(t, "lina.wecom", w.To)
	require.Contains(t, w.Content, "Autumn wealth")
	require.Contains(t, w.Content, "已由 ap 退回")
	require.Contains(t, w.Content, "预算超出，请缩小范围")
	require.Contains(t, w.Content, "was rejected by ap")
	require.Len(t, mail.Deliveries(), 1, "the WeCom author gets no email")
}

// TestNoAddressNoNoticeJob: an author without an address gets no job (the
// console's notice remains); one with an address gets exactly one, inserted
// with the decision.
func TestNoAddressNoNoticeJob(t *testing.T) {
	t.Parallel()
	b := setup(t, options{})
	b.addContacts(t, 1, 1, nil)
	c := b.draft(t, campaigns.Input{})
	c, err := b.svc.Submit(b.ctx, b.users["mk"], c.ID)
	require.NoError(t, err)
	_, err = b.svc.Reject(b.ctx, b.users["ap"], c.ID, "not now")
	require.NoError(t, err)
	var n int
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM river_job WHERE kind = $1`, campaigns.DecisionNoticeArgs{}.Kind()).Scan(&n))
	require.Zero(t, n, "no address, no job")
	ds, err := b.svc.DecisionsFor(b.ctx, *b.users["mk"].Actor.UserID, 0, time.Time{}, 5)
	require.NoError(t, err)
	require.Len(t, ds, 1, "the console's notice remains")

	s := func(v string) *string { return &v }
	_, err = b.ids.SetContact(b.ctx, audit.Actor{Name: "test"}, "mk", identity.ContactChange{WorkEmail: s("mei.kai@bank.example")})
	require.NoError(t, err)
	c, err = b.svc.Submit(b.ctx, b.users["mk"], c.ID)
	require.NoError(t, err)
	_, err = b.svc.Approve(b.ctx, b.users["ap"], c.ID, c.Version)
	require.NoError(t, err)
	ds, err = b.svc.DecisionsFor(b.ctx, *b.users["mk"].Actor.UserID, 0, time.Time{}, 5)
	require.NoError(t, err)
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM river_job WHERE kind = $1 AND args ->> 'event_id' = $2`,
		campaigns.DecisionNoticeArgs{}.Kind(), itoa(ds[0].EventID)).Scan(&n))
	require.Equal(t, 1, n, "one job, for the approval")
	var args string
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT args::text FROM river_job WHERE kind = $1`, campaigns.DecisionNoticeArgs{}.Kind()).Scan(&args))
	require.False(t, strings.Contains(args, "bank.example"), "the job holds ids, no address")
}

// decodeMail reads a raw single-part mail's subject and body, decoded.
func decodeMail(t *testing.T, raw string) string {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(raw))
	require.NoError(t, err)
	var body io.Reader = m.Body
	switch strings.ToLower(m.Header.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		body = quotedprintable.NewReader(m.Body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, m.Body)
	}
	b, err := io.ReadAll(body)
	require.NoError(t, err)
	subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	require.NoError(t, err)
	return subject + "\n" + string(b)
}
