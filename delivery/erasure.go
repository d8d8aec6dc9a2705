package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/channels"
	"carillon/contacts"
)

// Eraser returns delivery's eraser and exporter of a contact's data; store
// gives the managers whose messages are rendered again without the contact.
// Register it with contacts.Store.RegisterEraser and RegisterExporter.
func (s *Service) Eraser(store *contacts.Store) *Eraser { return &Eraser{s: s, store: store} }

// Eraser scrubs and exports what the outbox holds about a contact.
type Eraser struct {
	s     *Service
	store *contacts.Store
}

// ErasedColumns implements contacts.Eraser.
func (x *Eraser) ErasedColumns() []string {
	return []string{"messages.vars", "messages.body", "receipts.address", "receipts.detail",
		"inbound_messages.address", "inbound_messages.text", "message_links.url"}
}

// mentionPath finds the entries about a contact in a message's variables:
// objects whose contact id or external id is the contact's.
const mentionPath = `$.** ? (@.contact_id == $id || @.ContactID == $id || @.external_id == $ext || @.ExternalID == $ext)`

// EraseContact implements contacts.Eraser. The contact's own messages lose
// their rendered text and variables (those not yet sent are cancelled), their
// receipts the raw address and detail, their links the targets; the
// contact's replies lose text and address (contacts keeps its suppressed
// addresses as SuppressionKey). Messages to managers that list the contact among others (a
// digest) keep the others: the contact's entries become ErasedPlaceholder, and
// the text is rendered again from what is left (when it cannot be, copies of
// the contact's identifiers are replaced in it, or the text is dropped).
func (x *Eraser) EraseContact(ctx context.Context, tx pgx.Tx, e contacts.Erasure) error {
	now := x.s.cfg.Now()
	addrs := []string{}
	for _, a := range []string{e.Phone, e.Email, e.WeChatOpenID} {
		if a != "" {
			addrs = append(addrs, a)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE messages SET status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
		reason = CASE WHEN status = 'queued' THEN 'contact_erased' ELSE reason END, body = NULL, vars = '{}', updated_at = $2
		WHERE contact_id = $1`, e.ContactID, now); err != nil {
		return fmt.Errorf("scrub messages: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE receipts SET address = NULL, detail = ''
		WHERE message_id IN (SELECT id FROM messages WHERE contact_id = $1) OR address = ANY($2)`, e.ContactID, addrs); err != nil {
		return fmt.Errorf("scrub receipts: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM message_links WHERE message_id IN (SELECT id FROM messages WHERE contact_id = $1)`, e.ContactID); err != nil {
		return fmt.Errorf("scrub message links: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE inbound_messages SET text = NULL, address = NULL WHERE contact_id = $1 OR address = ANY($2)`, e.ContactID, addrs); err != nil {
		return fmt.Errorf("scrub replies: %w", err)
	}
	return x.scrubManagerMessages(ctx, tx, e, now)
}

// scrubManagerMessages rewrites the messages to managers that name the contact.
func (x *Eraser) scrubManagerMessages(ctx context.Context, tx pgx.Tx, e contacts.Erasure, now time.Time) error {
	ids := []string{}
	for _, s := range []string{e.Name, e.Phone, e.Email, e.WeChatOpenID} {
		if len([]rune(s)) >= 2 {
			ids = append(ids, s)
		}
	}
	rows, err := tx.Query(ctx, `SELECT id, vars, body, template_key, COALESCE(template_version, 0), COALESCE(channel, ''), COALESCE(provider, ''),
		purpose, manager_id
		FROM messages m
		WHERE contact_id IS NULL AND (jsonb_path_exists(vars, $1::jsonpath, jsonb_build_object('id', $2::bigint, 'ext', $3::text))
		   OR EXISTS (SELECT 1 FROM unnest($4::text[]) i WHERE strpos(m.vars::text, i) > 0 OR strpos(m.body, i) > 0))
		ORDER BY id FOR UPDATE`, mentionPath, e.ContactID, e.ExternalID, ids)
	if err != nil {
		return fmt.Errorf("find managers' messages: %w", err)
	}
	type msg struct {
		id        int64
		vars      []byte
		body      *string
		key       string
		version   int
		channel   string
		provider  string
		purpose   string
		managerID int64
	}
	ms, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (msg, error) {
		var m msg
		err := r.Scan(&m.id, &m.vars, &m.body, &m.key, &m.version, &m.channel, &m.provider, &m.purpose, &m.managerID)
		return m, err
	})
	if err != nil {
		return fmt.Errorf("find managers' messages: %w", err)
	}
	if len(ms) == 0 {
		return nil
	}
	var mids []int64
	for _, m := range ms {
		mids = append(mids, m.managerID)
	}
	managers, err := x.store.ManagersByID(ctx, mids)
	if err != nil {
		return err
	}
	for _, m := range ms {
		var vars map[string]any
		d := json.NewDecoder(bytes.NewReader(m.vars))
		d.UseNumber()
		if err := d.Decode(&vars); err != nil {
			return fmt.Errorf("message %d: %w", m.id, err)
		}
		scrubbed, changed := e.RedactEntries(vars)
		vars, _ = scrubbed.(map[string]any)
		js, err := json.Marshal(vars)
		if err != nil {
			return fmt.Errorf("message %d: %w", m.id, err)
		}
		var body *string
		if m.body != nil {
			b := x.rerender(ctx, m.id, m.key, m.version, m.channel, m.provider, m.purpose, managers[m.managerID], vars, *m.body, changed, e)
			body = b
		}
		if _, err := tx.Exec(ctx, `UPDATE messages SET vars = $2, body = $3, updated_at = $4 WHERE id = $1`, m.id, js, body, now); err != nil {
			return fmt.Errorf("scrub message %d: %w", m.id, err)
		}
	}
	return nil
}

// rerender is a manager's message text without the erased contact: rendered
// again from the scrubbed variables with the version it was sent with; when
// that fails, the old text with the contact's identifiers replaced, unless
// entries were redacted from its variables (their other values cannot be
// found in the text safely): then no text is kept.
func (x *Eraser) rerender(ctx context.Context, id int64, key string, version int, ch, provider, purpose string, mg contacts.Manager,
	vars map[string]any, old string, redacted bool, e contacts.Erasure) *string {
	if x.s.deps.Renderer != nil && ch != "" {
		r, err := x.s.deps.Renderer.Render(ctx, RenderRequest{TemplateKey: key, TemplateVersion: version, Channel: channels.Channel(ch),
			ProviderKind: provider, Purpose: channels.Purpose(purpose), Locale: contacts.DefaultLocale, Manager: &mg, Vars: vars})
		if err == nil {
			b, _ := e.ScrubText(bodyOf(r))
			return &b
		}
		// The error is not logged: a template's error quotes the values it was given.
		x.s.cfg.Logger.WarnContext(ctx, "erasure: manager's message not rendered again", "message_id", id, "template", key)
	}
	if redacted {
		return nil
	}
	b, _ := e.ScrubText(old)
	return &b
}

var exportLabels = map[string]string{
	"id": "编号", "parent_id": "原消息", "created_at": "创建时间", "source": "来源", "source_id": "来源编号", "purpose": "用途",
	"template_key": "模板", "template_version": "模板版本", "channels": "渠道列表", "channel": "渠道", "status": "状态", "reason": "原因",
	"provider": "服务商", "address_masked": "地址（脱敏）", "body": "内容", "vars": "变量", "send_at": "计划发送", "sent_at": "发送时间",
	"final_at": "完成时间", "message_id": "消息编号", "code": "代码", "detail": "详情", "address": "地址", "at": "时间",
	"received_at": "接收时间", "kind": "类型", "text": "文字", "unsubscribe": "退订", "forwarded": "已转客户经理", "entry": "内容条目",
}

// Export sections of delivery.
const (
	SectionMessages = "messages"
	SectionReceipts = "receipts"
	SectionReplies  = "replies"
	SectionMentions = "mentions"
)

// ExportContact implements contacts.Exporter: the contact's messages, their
// receipts, the contact's replies, and the entries about the contact in
// messages to managers (digests).
func (x *Eraser) ExportContact(ctx context.Context, q contacts.Querier, c contacts.Contact) ([]contacts.Section, error) {
	queries := []struct {
		name, sql string
		args      []any
	}{
		{SectionMessages, `SELECT id, parent_id, created_at, source, source_id, purpose, template_key, template_version, channels, channel, status,
			reason, provider, address_masked, body, vars, send_at, sent_at, final_at FROM messages WHERE contact_id = $1 ORDER BY id`, nil},
		{SectionReceipts, `SELECT r.id, r.message_id, r.provider, r.status, r.code, r.detail, r.address, r.at, r.received_at
			FROM receipts r JOIN messages m ON m.id = r.message_id WHERE m.contact_id = $1 ORDER BY r.id`, nil},
		{SectionReplies, `SELECT id, provider, kind, address, text, unsubscribe, forwarded, at, received_at
			FROM inbound_messages WHERE contact_id = $1 ORDER BY at, id`, nil},
		{SectionMentions, `SELECT m.id AS message_id, m.created_at, m.source, m.source_id, e.entry
			FROM messages m, LATERAL jsonb_path_query(m.vars, $2::jsonpath, jsonb_build_object('id', $1::bigint, 'ext', $3::text)) AS e(entry)
			WHERE m.contact_id IS NULL AND jsonb_path_exists(m.vars, $2::jsonpath, jsonb_build_object('id', $1::bigint, 'ext', $3::text))
			ORDER BY m.id`, []any{mentionPath, c.ExternalID}},
	}
	var out []contacts.Section
	for _, qq := range queries {
		sec, err := contacts.QuerySection(ctx, q, qq.name, exportLabels, qq.sql, append([]any{c.ID}, qq.args...)...)
		if err != nil {
			return nil, err
		}
		out = append(out, sec)
	}
	return out, nil
}
