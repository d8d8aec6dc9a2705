package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/channels"
	"carillon/contacts"
	"carillon/internal/audit"
	"carillon/internal/pii"
)

// ReceiptResult counts what ApplyReceipts did.
type ReceiptResult struct {
	Received  int `json:"received"`
	Matched   int `json:"matched"`   // receipts that found their message
	Changed   int `json:"changed"`   // messages whose status moved forward
	Unmatched int `json:"unmatched"` // kept, and applied when their send is recorded
}

// ApplyReceipts records receipts and applies them to their messages, idempotently
// and monotonically: applying the same receipts again, or in another order, ends in
// the same state.
func (s *Service) ApplyReceipts(ctx context.Context, rs []channels.Receipt) (ReceiptResult, error) {
	var res ReceiptResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		res, err = s.applyReceipts(ctx, tx, rs, s.cfg.Now())
		return err
	})
	return res, err
}

const matchReceiptsSQL = `WITH r AS (
  SELECT * FROM unnest(@providers::text[], @pmids::text[], @message_ids::bigint[], @statuses::text[], @codes::text[], @details::text[],
    @addresses::text[], @at::timestamptz[], @permanent::bool[], @suppress_reasons::text[], @unclassified::bool[])
    WITH ORDINALITY AS r(provider, pmid, mid, status, code, detail, address, at, permanent, suppress_reason, unclassified, i)
), m AS (
  SELECT r.i, COALESCE(a.id, b.id) AS message_id FROM r
  -- Our id echoed back counts only from the provider that sent it (or before the
  -- send is recorded, when no provider is set yet).
  LEFT JOIN LATERAL (SELECT id FROM messages WHERE r.mid > 0 AND id = r.mid AND (provider IS NULL OR provider = r.provider)) a ON true
  LEFT JOIN LATERAL (SELECT id FROM messages WHERE r.pmid <> '' AND provider = r.provider AND provider_message_id = r.pmid LIMIT 1) b ON true
), ins AS (
  -- The raw address is kept only while a receipt matches nothing (to find its
  -- message later); a matched one needs none, and erasure cannot miss it.
  INSERT INTO receipts (provider, provider_message_id, message_id, status, code, detail, address, at, received_at, applied, permanent,
    suppress_reason, unclassified)
  SELECT r.provider, r.pmid, m.message_id, r.status, r.code, r.detail, CASE WHEN m.message_id IS NULL THEN NULLIF(r.address, '') END,
         r.at, @now, m.message_id IS NOT NULL, r.permanent, r.suppress_reason, r.unclassified
  FROM r JOIN m USING (i)
)
SELECT i, COALESCE(message_id, 0) FROM m ORDER BY i`

// applyStatusSQL moves messages forward; per message the most advanced receipt of
// the batch counts, a final status never changes again.
const applyStatusSQL = `WITH u AS (
  SELECT DISTINCT ON (mid) mid, status, code, permanent, at, suppress_reason, provider
  FROM unnest(@ids::bigint[], @statuses::text[], @codes::text[], @permanent::bool[], @at::timestamptz[], @suppress_reasons::text[], @providers::text[])
    AS u(mid, status, code, permanent, at, suppress_reason, provider)
  ORDER BY mid, status_rank(status) DESC, at DESC
)
UPDATE messages m SET status = u.status, updated_at = @now,
  reason = CASE WHEN u.status = 'failed' THEN 'receipt: ' || u.code ELSE m.reason END,
  final_at = CASE WHEN u.status IN ('delivered', 'failed') THEN @now ELSE m.final_at END,
  sent_at = COALESCE(m.sent_at, u.at)
FROM u WHERE m.id = u.mid AND status_rank(u.status) > status_rank(m.status) AND m.status NOT IN ('suppressed', 'cancelled')
RETURNING m.id, COALESCE(m.contact_id, 0), COALESCE(m.manager_id, 0), m.status, COALESCE(m.channel, ''), COALESCE(m.provider, ''),
  COALESCE(m.address_masked, ''), m.sent_at, m.dedupe_key, m.source, m.source_id, m.purpose, m.template_key, m.vars, m.channels,
  COALESCE(m.parent_id, 0), m.window_start, m.window_end, m.test, u.code, u.permanent, COALESCE(m.template_version, 0), u.suppress_reason, u.provider, m.deadline`

func (s *Service) applyReceipts(ctx context.Context, tx pgx.Tx, rs []channels.Receipt, now time.Time) (ReceiptResult, error) {
	res := ReceiptResult{Received: len(rs)}
	if len(rs) == 0 {
		return res, nil
	}
	provs := make([]string, len(rs))
	for i, r := range rs {
		provs[i] = r.Provider
	}
	if err := lockProviders(ctx, tx, provs); err != nil {
		return res, err
	}
	n := len(rs)
	prov, pmid, st, code, detail, addr, reason := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	mid := make([]int64, n)
	at := make([]time.Time, n)
	perm, unclassified := make([]bool, n), make([]bool, n)
	for i, r := range rs {
		// A receipt's code and detail are the provider's free text (a bounce's
		// Diagnostic-Code quotes the address): stored masked, for every reader.
		prov[i], pmid[i], st[i], code[i], detail[i], addr[i] = r.Provider, r.ProviderMessageID, string(r.Status), pii.Text(r.Code), pii.Text(r.Detail), r.To
		if id, err := strconv.ParseInt(r.MessageID, 10, 64); err == nil {
			mid[i] = id
		}
		at[i], perm[i], reason[i], unclassified[i] = r.At, r.Permanent, r.SuppressReason, r.Unclassified
		if at[i].IsZero() {
			at[i] = now
		}
	}
	rows, err := tx.Query(ctx, matchReceiptsSQL, pgx.NamedArgs{"providers": prov, "pmids": pmid, "message_ids": mid, "statuses": st, "codes": code,
		"details": detail, "addresses": addr, "at": at, "now": now, "permanent": perm, "suppress_reasons": reason, "unclassified": unclassified})
	if err != nil {
		return res, fmt.Errorf("record receipts: %w", err)
	}
	matched, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (int64, error) {
		var i, id int64
		err := r.Scan(&i, &id)
		return id, err
	})
	if err != nil {
		return res, fmt.Errorf("record receipts: %w", err)
	}
	var u statusUpdates
	for i, id := range matched {
		ok := id != 0
		s.metrics.receipts.WithLabelValues(rs[i].Provider, string(rs[i].Status), strconv.FormatBool(ok)).Inc()
		if !ok {
			res.Unmatched++
			continue
		}
		res.Matched++
		u.add(id, rs[i].Provider, string(rs[i].Status), rs[i].Code, rs[i].Permanent, at[i], rs[i].SuppressReason)
	}
	changed, err := s.applyStatus(ctx, tx, u, now)
	res.Changed = changed
	return res, err
}

// statusUpdates are matched receipts, column by column for applyStatusSQL.
type statusUpdates struct {
	id                               []int64
	provider, status, code, suppress []string
	permanent                        []bool
	at                               []time.Time
}

func (u *statusUpdates) add(id int64, provider, status, code string, permanent bool, at time.Time, suppressReason string) {
	u.id, u.provider, u.status, u.code = append(u.id, id), append(u.provider, provider), append(u.status, status), append(u.code, code)
	u.permanent, u.at, u.suppress = append(u.permanent, permanent), append(u.at, at), append(u.suppress, suppressReason)
}

// applyStatus moves matched messages forward and writes their events. A
// message that failed by receipt falls back to its next channel (the customer
// did not get it, whatever the reason); a permanent failure also suppresses
// the address, for the receipt's reason.
func (s *Service) applyStatus(ctx context.Context, tx pgx.Tx, u statusUpdates, now time.Time) (int, error) {
	if len(u.id) == 0 {
		return 0, nil
	}
	rows, err := tx.Query(ctx, applyStatusSQL, pgx.NamedArgs{"ids": u.id, "statuses": u.status, "codes": u.code, "permanent": u.permanent, "at": u.at,
		"now": now, "suppress_reasons": u.suppress, "providers": u.provider})
	if err != nil {
		return 0, fmt.Errorf("apply receipts: %w", err)
	}
	var events []contacts.Event
	var next fallbacks
	var condemned []suppressTarget
	changed := 0
	for rows.Next() {
		var m message
		var status Status
		var channel, provider, masked, rcode string
		var sentAt *time.Time
		var vars []byte
		var chans []string
		var ws, we *int16
		var permanent bool
		var suppressReason, receiptProvider string
		if err := rows.Scan(&m.id, &m.contactID, &m.managerID, &status, &channel, &provider, &masked, &sentAt, &m.dedupeKey, &m.source, &m.sourceID,
			&m.purpose, &m.templateKey, &vars, &chans, &m.parentID, &ws, &we, &m.test, &rcode, &permanent, &m.templateVersion, &suppressReason, &receiptProvider, &m.deadline); err != nil {
			rows.Close()
			return 0, err
		}
		if channel == "" {
			// The receipt came before the send was recorded: the channel is the
			// receipt's provider's.
			channel, provider = s.channelOf(receiptProvider), receiptProvider
		}
		changed++
		if sentAt != nil && (status == StatusDelivered || status == StatusFailed) {
			s.metrics.receiptLag.Observe(now.Sub(*sentAt).Seconds())
		}
		if m.contactID != 0 {
			data, _ := json.Marshal(map[string]any{"message_id": m.id, "template": m.templateKey, "channel": channel, "provider": provider,
				"to": masked, "code": rcode, "source": m.source})
			summary := fmt.Sprintf("%s %s by %s", m.templateKey, status, channel)
			if rcode != "" {
				summary += " (" + provider + " " + rcode + ")"
			}
			events = append(events, contacts.Event{ContactID: m.contactID, At: now, Kind: "message." + string(status), Actor: "provider:" + provider, Summary: summary, Data: data})
		}
		if status == StatusFailed && permanent && m.contactID != 0 {
			condemned = append(condemned, suppressTarget{channel, m.contactID, provider, suppressReason})
		}
		if status == StatusFailed {
			i := slices.Index(chans, channel)
			if i >= 0 && i+1 < len(chans) {
				_ = m.decode(vars, chans, ws, we) // variables that do not decode are left out: the fallback still goes
				next.add(&m, m.channels[i+1:])
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("apply receipts: %w", err)
	}
	for _, c := range condemned {
		// The address will never work: suppress it for everyone who has it.
		reason := c.reason
		if reason == "" {
			reason = "invalid"
			if c.channel == string(channels.Email) {
				reason = "hard_bounce"
			}
		}
		if err := contacts.SuppressContactAddress(ctx, tx, c.channel, c.contactID, reason, "provider:"+c.provider); err != nil {
			return 0, err
		}
	}
	if err := contacts.AppendEvents(ctx, tx, events); err != nil {
		return 0, err
	}
	if err := next.write(ctx, tx, s); err != nil {
		return 0, err
	}
	return changed, nil
}

// lockProviders takes a transaction lock per provider (in a fixed order). Recording
// sends and applying receipts of one provider take it, so a receipt that arrives
// while its send is being recorded is either matched by the receipt's statement or
// found parked by the recording's — never missed by both.
func lockProviders(ctx context.Context, tx pgx.Tx, provs []string) error {
	set := map[string]bool{}
	var keys []string
	for _, p := range provs {
		if p != "" && !set[p] {
			set[p] = true
			keys = append(keys, p)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('carillon.receipts.' || $1))`, k); err != nil {
			return fmt.Errorf("lock receipts of %s: %w", k, err)
		}
	}
	return nil
}

// channelOf is the channel of a configured provider ("" when it is not configured).
func (s *Service) channelOf(provider string) string {
	if s.deps.Registry == nil {
		return ""
	}
	if p, ok := s.deps.Registry.Provider(provider); ok {
		return string(p.Channel)
	}
	return ""
}

type suppressTarget struct {
	channel   string
	contactID int64
	provider  string
	reason    string // the suppression reason; empty: the channel's usual one
}

// applyParked applies receipts that arrived before these sends were recorded.
// The caller holds the providers' receipt locks (lockProviders).
func (s *Service) applyParked(ctx context.Context, tx pgx.Tx, prov, pmid []string, now time.Time) error {
	rows, err := tx.Query(ctx, `WITH p AS (
		  UPDATE receipts r SET applied = true, message_id = m.id
		  FROM unnest($1::text[], $2::text[]) AS k(provider, pmid)
		  JOIN messages m ON m.provider = k.provider AND m.provider_message_id = k.pmid
		  WHERE k.pmid <> '' AND NOT r.applied AND r.provider = k.provider AND r.provider_message_id = k.pmid
		  RETURNING r.message_id, r.provider, r.status, r.code, r.at, r.permanent, r.suppress_reason
		) SELECT message_id, provider, status, code, COALESCE(at, $3), permanent, suppress_reason FROM p`, prov, pmid, now)
	if err != nil {
		return fmt.Errorf("apply parked receipts: %w", err)
	}
	var u statusUpdates
	for rows.Next() {
		var id int64
		var provider, st, code, reason string
		var at time.Time
		var perm bool
		if err := rows.Scan(&id, &provider, &st, &code, &at, &perm, &reason); err != nil {
			rows.Close()
			return err
		}
		u.add(id, provider, st, code, perm, at, reason)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = s.applyStatus(ctx, tx, u, now)
	return err
}

// lastPurpose is the purpose of the last message sent to a contact on a channel
// at or before at, "" when none was.
func lastPurpose(ctx context.Context, tx pgx.Tx, contactID int64, channel string, at time.Time) (string, error) {
	var p string
	err := tx.QueryRow(ctx, `SELECT purpose FROM messages WHERE contact_id = $1 AND channel = $2 AND sent_at IS NOT NULL AND sent_at <= $3
		ORDER BY sent_at DESC, id DESC LIMIT 1`, contactID, channel, at).Scan(&p)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return p, err
}

// ApplyInbound handles replies and events from customers: an unsubscribe reply
// (channels.IsUnsubscribeReply) revokes marketing consent on its channel, and
// care too when it answers a greeting; a WeChat unfollow revokes WeChat, an email
// one-click unsubscribe revokes email marketing — each at once and in the
// timeline; any other reply is kept and marked for the customer's manager.
func (s *Service) ApplyInbound(ctx context.Context, store *contacts.Store, in []channels.Inbound) error {
	now := s.cfg.Now()
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, ev := range in {
			ch := string(ev.From.Channel)
			ids, err := store.ContactsByAddress(ctx, tx, ch, ev.From.Value)
			if err != nil {
				return err
			}
			at := ev.At
			if at.IsZero() {
				at = now
			}
			actor := audit.Actor{Name: "provider:" + ev.Provider}
			if len(ids) == 0 {
				if _, err := tx.Exec(ctx, `INSERT INTO inbound_messages (provider, kind, address, text, unsubscribe, at, received_at)
					VALUES (@provider, @kind, @address, @text, @unsubscribe, @at, @now)`,
					pgx.NamedArgs{"provider": ev.Provider, "kind": string(ev.Kind), "address": ev.From.Value, "text": ev.Text, "unsubscribe": ev.Unsubscribe,
						"at": at, "now": now}); err != nil {
					return fmt.Errorf("record inbound: %w", err)
				}
				continue
			}
			for _, id := range ids {
				var inboundID int64
				if err := tx.QueryRow(ctx, `INSERT INTO inbound_messages (provider, kind, contact_id, address, text, unsubscribe, forwarded, at, received_at)
					VALUES (@provider, @kind, @contact, @address, @text, @unsubscribe, false, @at, @now) RETURNING id`,
					pgx.NamedArgs{"provider": ev.Provider, "kind": string(ev.Kind), "contact": id, "address": ev.From.Value, "text": ev.Text,
						"unsubscribe": ev.Unsubscribe, "at": at, "now": now}).Scan(&inboundID); err != nil {
					return fmt.Errorf("record inbound: %w", err)
				}
				switch {
				case ev.Kind == channels.InboundUnfollow:
					// Unfollowing closes the channel: nothing more can go by it.
					for _, purpose := range []string{contacts.PurposeMarketing, contacts.PurposeCare, contacts.PurposeService} {
						if _, err := store.SetConsent(ctx, tx, actor, id, contacts.ConsentChange{Channel: contacts.ChannelWeChat, Purpose: purpose, Granted: false, Source: "wechat_unfollow"}); err != nil {
							return err
						}
					}
				case ev.Unsubscribe:
					source := map[channels.Channel]string{channels.SMS: "sms_reply", channels.Email: "unsubscribe_link", channels.WeChat: "wechat_reply"}[ev.From.Channel]
					// Marketing is always revoked; care too when the reply answers a
					// greeting (the last message sent on that channel before it was
					// care). Service notices the bank must send stay.
					purposes := []string{contacts.PurposeMarketing}
					last, err := lastPurpose(ctx, tx, id, ch, at)
					if err != nil {
						return err
					}
					if last == contacts.PurposeCare {
						purposes = append(purposes, contacts.PurposeCare)
					}
					for _, purpose := range purposes {
						if _, err := store.SetConsent(ctx, tx, actor, id, contacts.ConsentChange{Channel: ch, Purpose: purpose, Granted: false, Source: source, ReplyText: ev.Text, InReplyTo: last}); err != nil {
							return err
						}
					}
				case ev.Kind == channels.InboundReply:
					data, _ := json.Marshal(map[string]any{"inbound_id": inboundID, "channel": ch, "provider": ev.Provider, "for_manager": true})
					if err := contacts.AppendEvents(ctx, tx, []contacts.Event{{ContactID: id, At: at, Kind: "reply.received", Actor: "provider:" + ev.Provider,
						Summary: "the customer replied by " + ch + "; the reply is kept for their manager", Data: data}}); err != nil {
						return err
					}
				case ev.Kind == channels.InboundFollow:
					data, _ := json.Marshal(map[string]any{"inbound_id": inboundID, "provider": ev.Provider})
					if err := contacts.AppendEvents(ctx, tx, []contacts.Event{{ContactID: id, At: at, Kind: "wechat.followed", Actor: "provider:" + ev.Provider,
						Summary: "followed the Official Account", Data: data}}); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}
