package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/campaigns"
	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/app"
	"carillon/internal/audit"
	"carillon/internal/pgtest"
	"carillon/internal/testclock"
	"carillon/internal/testlog"
	"carillon/revisits"
	"carillon/templates"
)

// personalLooking are column names that suggest personal data: each such
// column must be scrubbed by a registered eraser or declared not personal.
var personalLooking = regexp.MustCompile(`phone|email|openid|name|body|vars|text|address|addr|note|reply|content|detail|summary|` +
	`data|review|changes|url|outcome|needs|solution|attrs|tags|birth|gender|reason|agent|userid|args|metadata|errors|expression|segment`)

// notPersonal are the personal-looking columns that hold no customer's
// personal data, each with the reason.
var notPersonal = map[string]string{
	"managers.name":                   "staff directory (the bank's employees), not a customer's data",
	"managers.email":                  "staff directory",
	"managers.wecom_userid":           "staff directory",
	"users.display_name":              "staff accounts",
	"users.work_email":                "a staff member's work address, where decisions on their campaigns are sent",
	"users.wecom_userid":              "a staff member's WeCom account, where decisions on their campaigns are sent",
	"api_tokens.name":                 "a token's label, chosen by staff",
	"console_sessions.addr":           "staff sign-ins",
	"console_oidc_logins.addr":        "a staff member's pending single sign-on",
	"revisit_alert_rules.name_zh":     "an alert rule's name, chosen by staff",
	"revisit_alert_rules.name_en":     "an alert rule's name, chosen by staff",
	"console_sessions.user_agent":     "staff sign-ins",
	"console_sessions.ended_reason":   "a fixed code",
	"audit_log.changes":               "masked values only (internal/audit); append-only evidence of the erasure itself",
	"audit_log.remote_addr":           "the staff member's address",
	"imports.source_name":             "the imported file's name, chosen by staff",
	"suppressions.reason":             "a fixed code",
	"send_stops.reason":               "an operator's reason for an emergency stop",
	"messages.reason":                 "a fixed code or a provider's class of error",
	"messages.address_masked":         "masked at the source (internal/pii)",
	"receipts.suppress_reason":        "a fixed code",
	"river_job.tags":                  "River's job tags, set by code",
	"template_versions.note":          "staff's note on a template version",
	"template_versions.names":         "a template's display names, written by staff",
	"manager_covers.reason":           "a manager's leave, staff data",
	"campaigns.name":                  "a campaign's name, chosen by staff",
	"campaigns.segment_name":          "a saved segment's name",
	"campaigns.segment":               "a segment expression over attributes, not about one person",
	"campaigns.vars":                  "a campaign's own values, the same for every recipient",
	"campaigns.notes":                 "a marketer's notes on the campaign",
	"campaigns.rejected_reason":       "an approver's reason",
	"campaign_events.reason":          "an approver's reason",
	"campaign_events.data":            "a campaign's edits",
	"campaign_recipients.address_key": "a hash of the address, kept for the run's counts",
	"segments.name":                   "a saved segment's name",
	"segments.expression":             "a segment expression over attributes",
	"carillon_migrations.name":        "a migration's name",
	"river_job.args":                  "job arguments hold ids only (message ids, dates, rule keys)",
	"river_job.errors":                "errors are logged masked",
	"river_job.metadata":              "River's own bookkeeping",
	"river_queue.name":                "a queue's name",
	"river_queue.metadata":            "River's own bookkeeping",
	"river_leader.name":               "River's leader election",
}

type column struct{ table, name, typ string }

// schemaColumns lists every column of the public schema's tables (not
// partitions: the parent stands for them).
func schemaColumns(t *testing.T, ctx context.Context, q *pgtest.DB) []column {
	t.Helper()
	rows, err := q.Pool.Query(ctx, `SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
		ORDER BY 1, a.attnum`)
	require.NoError(t, err)
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (column, error) {
		var c column
		return c, r.Scan(&c.table, &c.name, &c.typ)
	})
	require.NoError(t, err)
	require.NotEmpty(t, cols)
	return cols
}

// privacyWorld is every package that holds personal data, wired as serve
// wires them, on one test clock.
type privacyWorld struct {
	ctx    context.Context
	db     *pgtest.DB
	clock  *testclock.Clock
	store  *contacts.Store
	dlv    *delivery.Service
	rv     *revisits.Service
	render delivery.Renderer
}

func newPrivacyWorld(t *testing.T, start time.Time) *privacyWorld {
	t.Helper()
	ctx := context.Background()
	db := pgtest.New(t)
	clk := testclock.New(start)
	store, err := contacts.NewStore(db.Pool, contacts.Config{Logger: testlog.New(t), Now: clk.Now})
	require.NoError(t, err)
	renderer, tstore, err := newRenderer(db.Pool, templates.Bank{})
	require.NoError(t, err)
	require.NoError(t, revisits.InstallTemplates(ctx, tstore))
	dlv, err := delivery.New(db.Pool, delivery.Config{Logger: testlog.New(t), Now: clk.Now}, delivery.Deps{Renderer: renderer})
	require.NoError(t, err)
	rv, err := revisits.New(db.Pool, store, dlv, revisits.Config{Logger: testlog.New(t), Now: clk.Now})
	require.NoError(t, err)
	camp, err := campaigns.New(db.Pool, campaigns.Deps{Contacts: store, Templates: tstore, Delivery: dlv}, campaigns.Config{Logger: testlog.New(t), Now: clk.Now})
	require.NoError(t, err)
	app.RegisterPrivacy(store, dlv, rv, camp)
	return &privacyWorld{ctx: ctx, db: db, clock: clk, store: store, dlv: dlv, rv: rv, render: renderer}
}

// TestErasersCoverPersonalColumns fails when a table gains a column that
// looks personal and no registered eraser scrubs it, nor is it declared not
// personal with a reason; and when a declaration names a column that is gone.
func TestErasersCoverPersonalColumns(t *testing.T) {
	t.Parallel()
	w := newPrivacyWorld(t, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	cols := schemaColumns(t, w.ctx, w.db)
	erased := w.store.ErasedColumns()
	exists := map[string]bool{}
	for _, c := range cols {
		exists[c.table+"."+c.name] = true
	}
	missing := uncovered(cols, erased)
	require.Empty(t, missing, "personal-looking columns with no eraser and no reason: register an eraser (contacts.Store.RegisterEraser) or declare them in notPersonal")
	for _, key := range erased {
		require.True(t, exists[key], "an eraser names %s, which the schema does not have", key)
	}
	var stale []string
	for key := range notPersonal {
		if !exists[key] || !personalLooking.MatchString(key[strings.IndexByte(key, '.')+1:]) {
			stale = append(stale, key)
		}
	}
	slices.Sort(stale)
	require.Empty(t, stale, "notPersonal names columns the schema does not have, or that do not look personal")
}

// uncovered lists the personal-looking columns that no eraser scrubs and
// that are not declared not personal.
func uncovered(cols []column, erased []string) []string {
	var missing []string
	for _, c := range cols {
		key := c.table + "." + c.name
		if !personalLooking.MatchString(c.name) || slices.Contains(erased, key) || notPersonal[key] != "" {
			continue
		}
		missing = append(missing, key+" ("+c.typ+")")
	}
	return missing
}

// TestNewPersonalTableWithoutEraserFails shows the registry check bites: a
// table added with a customer's free text and no eraser is reported.
func TestNewPersonalTableWithoutEraserFails(t *testing.T) {
	t.Parallel()
	w := newPrivacyWorld(t, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	_, err := w.db.Pool.Exec(w.ctx, `CREATE TABLE loyalty_cards (id bigint PRIMARY KEY, contact_id bigint, holder_name text, points integer)`)
	require.NoError(t, err)
	require.Equal(t, []string{"loyalty_cards.holder_name (text)"}, uncovered(schemaColumns(t, w.ctx, w.db), w.store.ErasedColumns()))
	for _, c := range []string{"customer_note", "reply_body", "home_address", "mobile_phone", "nickname", "wechat_openid", "free_text"} {
		require.True(t, personalLooking.MatchString(c), c)
	}
}

const (
	erasedName   = "欧阳静怡"
	erasedPhone  = "13912345678"
	erasedEmail  = "ouyang.jingyi@mail.example"
	erasedOpenID = "oUPF8s-erased-openid-7788"
	replyText    = "请欧阳静怡的经理明天下午回电"
	outcomeText  = "客户计划下月追加定期存款"
	keptName     = "司马光明"
)

// seedPrivacyWorld makes a customer with data in every table (and a
// colleague of theirs in the same digest) and returns their ids.
func seedPrivacyWorld(t *testing.T, w *privacyWorld) (gone, kept contacts.Contact, digestID int64) {
	t.Helper()
	ctx := w.ctx
	tester := audit.Actor{Name: "test"}
	_, err := w.store.ImportManagers(ctx, strings.NewReader("code,name,email,wecom_userid,team,lead,timezone\nM001,王芳,wang.fang@bank.example,wangfang,east,M001,Asia/Shanghai\n"),
		contacts.ImportOptions{Actor: tester})
	require.NoError(t, err)
	s := func(v string) *string { return &v }
	gone, err = w.store.Create(ctx, tester, contacts.Input{ExternalID: s("E1"), Name: s(erasedName), Phone: s(erasedPhone), Email: s(erasedEmail),
		WeChatOpenID: s(erasedOpenID), Tier: s("A"), Manager: s("M001")})
	require.NoError(t, err)
	kept, err = w.store.Create(ctx, tester, contacts.Input{ExternalID: s("K1"), Name: s(keptName), Phone: s("13700001111"), Tier: s("A"), Manager: s("M001")})
	require.NoError(t, err)

	// A reply that revoked a consent: its text is in the timeline.
	_, err = w.store.SetConsent(ctx, nil, tester, gone.ID, contacts.ConsentChange{Channel: contacts.ChannelSMS, Purpose: contacts.PurposeMarketing,
		Granted: false, Source: "sms_reply", ReplyText: "退订 " + erasedName})
	require.NoError(t, err)

	// Two weeks on both are overdue; the customer's reply waits for the digest.
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	w.clock.Set(time.Date(2026, 11, 16, 7, 0, 0, 0, shanghai))
	require.NoError(t, w.dlv.ApplyInbound(ctx, w.store, []channels.Inbound{{Provider: "sandbox", Kind: channels.InboundReply,
		From: channels.Address{Channel: channels.SMS, Value: gone.Phone}, Text: replyText}}))
	res, err := w.rv.PlanDigests(ctx, calendar.NewDate(2026, 11, 16), revisits.DigestOptions{Keep: true})
	require.NoError(t, err)
	require.Equal(t, 1, res.Planned)
	require.Len(t, res.Digests[0].Items, 2)
	require.Len(t, res.Digests[0].Replies, 1)

	// The digest goes out by email: its text, rendered as the worker does, names both.
	var vars map[string]any
	var mgrID int64
	require.NoError(t, w.db.Pool.QueryRow(ctx, `SELECT id, vars, manager_id FROM messages WHERE source = 'revisits' AND source_id = 'revisit_digest'`).
		Scan(&digestID, &vars, &mgrID))
	mgrs, err := w.store.ManagersByID(ctx, []int64{mgrID})
	require.NoError(t, err)
	mg := mgrs[mgrID]
	r, err := w.render.Render(ctx, delivery.RenderRequest{TemplateKey: templates.KeyRevisitDigest, Channel: channels.Email, Manager: &mg, Vars: vars})
	require.NoError(t, err)
	require.Contains(t, r.Text, erasedName)
	require.Contains(t, r.Text, keptName)
	_, err = w.db.Pool.Exec(ctx, `UPDATE messages SET status = 'sent', channel = 'email', provider = 'smtp', template_version = $2, body = $3, sent_at = $4
		WHERE id = $1`, digestID, r.Version, r.Text, w.clock.Now())
	require.NoError(t, err)

	// A message to the customer, sent, with a receipt carrying the raw address.
	var er delivery.EnqueueResult
	require.NoError(t, pgx.BeginFunc(ctx, w.db.Pool, func(tx pgx.Tx) error {
		er, err = w.dlv.Enqueue(ctx, tx, []delivery.Planned{{DedupeKey: "test:e1", ContactID: gone.ID, Source: "api", Purpose: channels.PurposeService,
			TemplateKey: "notice", Vars: map[string]any{"Greeting": "您好，" + erasedName}, Channels: []channels.Channel{channels.SMS}}})
		return err
	}))
	require.Len(t, er.IDs, 1)
	_, err = w.db.Pool.Exec(ctx, `UPDATE messages SET status = 'sent', channel = 'sms', provider = 'sandbox', provider_message_id = 'pm-1', body = $2
		WHERE id = $1`, er.IDs[0], "您好，"+erasedName+"，您的账户有新通知")
	require.NoError(t, err)
	_, err = w.dlv.ApplyReceipts(ctx, []channels.Receipt{{Provider: "sandbox", ProviderMessageID: "pm-1", To: gone.Phone, Status: channels.StatusDelivered,
		Code: "DELIVRD", Detail: "delivered to " + gone.Phone}})
	require.NoError(t, err)
	// A stray receipt for the address, matched to no message, and a suppression.
	_, err = w.db.Pool.Exec(ctx, `INSERT INTO receipts (provider, provider_message_id, status, address, detail) VALUES ('sandbox', 'stray', 'failed', $1, $1)`, gone.Email)
	require.NoError(t, err)
	_, err = w.db.Pool.Exec(ctx, `INSERT INTO suppressions (channel, address, reason, source) VALUES ('email', $1, 'complaint', 'test')`, gone.Email)
	require.NoError(t, err)

	// A revisit and a complaint (whose alert is pushed to the manager at once).
	rvv, err := w.rv.LogRevisit(ctx, tester, gone.ID, revisits.RevisitInput{Method: "phone", Outcome: outcomeText, Needs: erasedName + " 想了解理财", Notes: "联系 " + erasedEmail},
		revisits.LogOptions{})
	require.NoError(t, err)
	_, err = w.rv.CreateFeedback(ctx, tester, revisits.FeedbackInput{ContactID: gone.ID, Category: "complaint", Summary: erasedName + " 投诉排队太久",
		Solution: "回电 " + erasedPhone, RevisitID: rvv.ID})
	require.NoError(t, err)
	return gone, kept, digestID
}

// scanFor counts, per table.column, the rows of every text, jsonb and array
// column of every table that contain s.
func scanFor(t *testing.T, w *privacyWorld, s string) map[string]int {
	t.Helper()
	found := map[string]int{}
	for _, c := range schemaColumns(t, w.ctx, w.db) {
		if !(c.typ == "text" || c.typ == "jsonb" || c.typ == "json" || strings.HasSuffix(c.typ, "[]") || strings.HasPrefix(c.typ, "character varying")) {
			continue
		}
		var n int
		sql := `SELECT count(*) FROM ` + pgx.Identifier{c.table}.Sanitize() + ` WHERE strpos(` + pgx.Identifier{c.name}.Sanitize() + `::text, $1) > 0`
		require.NoError(t, w.db.Pool.QueryRow(w.ctx, sql, s).Scan(&n))
		if n > 0 {
			found[c.table+"."+c.name] = n
		}
	}
	return found
}

// TestEraseScrubsEveryCopy erases a customer who has messages, a receipt, a
// reply, a revisit, a complaint, a timeline entry with their own words, and
// who is listed in their manager's digest: afterwards no column of any table
// holds their name, phone, email, openid or words, and the other customer in
// the same digest is still there.
func TestEraseScrubsEveryCopy(t *testing.T) {
	t.Parallel()
	w := newPrivacyWorld(t, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	gone, kept, digestID := seedPrivacyWorld(t, w)
	secrets := []string{erasedName, gone.Phone, erasedPhone, gone.Email, gone.WeChatOpenID, replyText, outcomeText}
	require.NotEmpty(t, scanFor(t, w, erasedName)["messages.vars"], "the digest lists the customer before erasure")
	require.NotEmpty(t, scanFor(t, w, replyText)["inbound_messages.text"])

	require.NoError(t, w.store.Erase(w.ctx, audit.Actor{Name: "test"}, gone.ID))

	for _, s := range secrets {
		require.Empty(t, scanFor(t, w, s), "%q still held after erasure", s)
	}
	// The digest keeps the colleague and its layout: two items, one a placeholder.
	var vars map[string]any
	var body *string
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT vars, body FROM messages WHERE id = $1`, digestID).Scan(&vars, &body))
	items := vars["Digest"].(map[string]any)["Items"].([]any)
	require.Len(t, items, 2)
	var names []string
	for _, it := range items {
		names = append(names, it.(map[string]any)["Name"].(string))
	}
	require.ElementsMatch(t, []string{keptName, contacts.ErasedPlaceholder}, names)
	require.NotNil(t, body, "the digest's text is rendered again, not dropped")
	require.Contains(t, *body, keptName)
	require.Contains(t, *body, contacts.ErasedPlaceholder)
	require.NotEmpty(t, scanFor(t, w, keptName)["contacts.name"], "the other customer is untouched")

	// The suppression still holds, by its hash.
	var n int
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM suppressions WHERE address = $1`, contacts.SuppressionKey(gone.Email)).Scan(&n))
	require.Equal(t, 1, n)
	// Audited, and the timeline says so in both languages.
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM audit_log WHERE action = 'contact.erase' AND object_id = $1`,
		strconv.FormatInt(gone.ID, 10)).Scan(&n))
	require.Equal(t, 1, n)
	// The timeline is still append-only for everyone else.
	_, err := w.db.Pool.Exec(w.ctx, `UPDATE contact_events SET summary = 'x' WHERE contact_id = $1`, kept.ID)
	require.ErrorContains(t, err, "append-only")
}

// TestExportHasEverySection exports the customer of the privacy world as
// JSON and as a ZIP of CSVs: the same sections, the same counts.
func TestExportHasEverySection(t *testing.T) {
	t.Parallel()
	w := newPrivacyWorld(t, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	gone, _, _ := seedPrivacyWorld(t, w)
	x, err := w.store.Export(w.ctx, audit.Actor{Name: "test"}, gone.ID)
	require.NoError(t, err)
	js, err := json.Marshal(x)
	require.NoError(t, err)
	var doc map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(js, &doc))
	want := map[string]int{"consents": 1, "messages": 1, "receipts": 1, "replies": 1, "revisits": 1, "feedback": 1, "mentions": 2, "alerts": 1}
	counts := map[string]int{"contact": 1}
	for _, sec := range []string{"consents", "messages", "receipts", "replies", "revisits", "feedback", "timeline", "mentions", "alerts", "campaigns"} {
		raw, ok := doc[sec]
		require.True(t, ok, "section %s missing", sec)
		var rows []map[string]any
		require.NoError(t, json.Unmarshal(raw, &rows), sec)
		counts[sec] = len(rows)
		if n, ok := want[sec]; ok {
			require.GreaterOrEqual(t, len(rows), n, sec)
		}
	}
	var c contacts.Contact
	require.NoError(t, json.Unmarshal(doc["contact"], &c))
	require.Equal(t, erasedName, c.Name)
	require.Contains(t, string(doc["replies"]), replyText)
	require.Contains(t, string(doc["revisits"]), outcomeText)
	require.Contains(t, string(doc["mentions"]), erasedName, "the entries about the customer in the manager's digest")
	require.GreaterOrEqual(t, counts["timeline"], 2)

	var buf bytes.Buffer
	require.NoError(t, x.WriteZIP(&buf))
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	files := map[string]bool{}
	for _, f := range zr.File {
		name := strings.TrimSuffix(f.Name, ".csv")
		files[name] = true
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
		require.NoError(t, err, f.Name)
		require.NotEmpty(t, recs, "%s has a header row", f.Name)
		require.Equal(t, counts[name], len(recs)-1, "%s: rows as in the JSON", f.Name)
	}
	require.Len(t, files, len(counts))
	for sec := range counts {
		require.True(t, files[sec], "%s.csv missing", sec)
	}
	var n int
	require.NoError(t, w.db.Pool.QueryRow(w.ctx, `SELECT count(*) FROM audit_log WHERE action = 'contact.export' AND object_id = $1`, strconv.FormatInt(gone.ID, 10)).Scan(&n))
	require.Equal(t, 1, n)
}
