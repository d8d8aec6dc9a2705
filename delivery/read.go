package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/internal/pii"
)

// MessageView is a message as the API shows it: no raw address, no body.
type MessageView struct {
	ID                int64          `json:"id"`
	DedupeKey         string         `json:"dedupe_key"`
	ContactID         *int64         `json:"contact_id,omitempty"`
	ManagerID         *int64         `json:"manager_id,omitempty"`
	Source            string         `json:"source"`
	SourceID          string         `json:"source_id,omitempty"`
	Purpose           string         `json:"purpose"`
	Template          string         `json:"template"`
	TemplateVersion   *int           `json:"template_version,omitempty"`
	Channels          []string       `json:"channels"`
	Channel           string         `json:"channel,omitempty"`
	ParentID          *int64         `json:"parent_id,omitempty"`
	Status            Status         `json:"status"`
	Reason            string         `json:"reason,omitempty"`
	Provider          string         `json:"provider,omitempty"`
	ProviderMessageID string         `json:"provider_message_id,omitempty"`
	To                string         `json:"to,omitempty"` // masked
	Attempts          int            `json:"attempts"`
	SendAt            time.Time      `json:"send_at"`
	CreatedAt         time.Time      `json:"created_at"`
	SentAt            *time.Time     `json:"sent_at,omitempty"`
	FinalAt           *time.Time     `json:"final_at,omitempty"`
	Receipts          []ReceiptView  `json:"receipts,omitempty"`
	Children          []int64        `json:"fallbacks,omitempty"`
	Vars              map[string]any `json:"-"`
}

// ReceiptView is one receipt of a message.
type ReceiptView struct {
	Status     string     `json:"status"`
	Code       string     `json:"code,omitempty"`
	Detail     string     `json:"detail,omitempty"`
	At         *time.Time `json:"at,omitempty"`
	ReceivedAt time.Time  `json:"received_at"`
}

// Masked is the view for a role that may not read personal data: the free text
// that came from outside (the reason, which may quote a provider's error, and
// each receipt's code and detail) masked with pii.Text. New rows are stored
// masked already; this also covers rows stored before that.
func (m MessageView) Masked() MessageView {
	m.Reason = pii.Text(m.Reason)
	if m.Receipts != nil {
		rs := make([]ReceiptView, len(m.Receipts))
		for i, r := range m.Receipts {
			r.Code, r.Detail = pii.Text(r.Code), pii.Text(r.Detail)
			rs[i] = r
		}
		m.Receipts = rs
	}
	return m
}

const viewColumns = `id, dedupe_key, contact_id, manager_id, source, source_id, purpose, template_key, template_version, channels,
  COALESCE(channel, ''), parent_id, status, reason, COALESCE(provider, ''), COALESCE(provider_message_id, ''), COALESCE(address_masked, ''),
  attempts, send_at, created_at, sent_at, final_at`

func scanView(r pgx.Row) (MessageView, error) {
	var m MessageView
	err := r.Scan(&m.ID, &m.DedupeKey, &m.ContactID, &m.ManagerID, &m.Source, &m.SourceID, &m.Purpose, &m.Template, &m.TemplateVersion,
		&m.Channels, &m.Channel, &m.ParentID, &m.Status, &m.Reason, &m.Provider, &m.ProviderMessageID, &m.To, &m.Attempts, &m.SendAt,
		&m.CreatedAt, &m.SentAt, &m.FinalAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, ErrNotFound
	}
	return m, err
}

// Get returns a message with its receipts and fallbacks.
func (s *Service) Get(ctx context.Context, id int64) (MessageView, error) {
	m, err := scanView(s.pool.QueryRow(ctx, `SELECT `+viewColumns+` FROM messages WHERE id = $1`, id))
	if err != nil {
		return m, err
	}
	rows, err := s.pool.Query(ctx, `SELECT status, code, detail, at, received_at FROM receipts WHERE message_id = $1 ORDER BY received_at, id`, id)
	if err != nil {
		return m, fmt.Errorf("receipts of message %d: %w", id, err)
	}
	m.Receipts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReceiptView, error) {
		var v ReceiptView
		err := r.Scan(&v.Status, &v.Code, &v.Detail, &v.At, &v.ReceivedAt)
		return v, err
	})
	if err != nil {
		return m, err
	}
	rows, err = s.pool.Query(ctx, `SELECT id FROM messages WHERE parent_id = $1 ORDER BY id`, id)
	if err != nil {
		return m, err
	}
	m.Children, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	return m, err
}

// ForContact lists a contact's messages, newest first; before is a cursor (an id).
func (s *Service) ForContact(ctx context.Context, contactID, before int64, limit int) ([]MessageView, int64, error) {
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := s.pool.Query(ctx, `SELECT `+viewColumns+` FROM messages WHERE contact_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, contactID, before, limit+1)
	if err != nil {
		return nil, 0, fmt.Errorf("messages of contact %d: %w", contactID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (MessageView, error) { return scanView(r) })
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// Unsubscribe revokes the email marketing consent of the contact a signed link was
// sent to. It returns the contact id.
func (s *Service) unsubscribeTarget(ctx context.Context, messageID int64) (int64, error) {
	var cid *int64
	err := s.pool.QueryRow(ctx, `SELECT contact_id FROM messages WHERE id = $1`, messageID).Scan(&cid)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && cid == nil) {
		return 0, ErrNotFound
	}
	if err != nil {
		return 0, err
	}
	return *cid, nil
}
