package delivery

import (
	"context"

	"github.com/jackc/pgx/v5"

	"carillon/contacts"
	"carillon/internal/audit"
)

// Unsubscribe honours a signed unsubscribe link (RFC 8058 one-click POST or the
// page's button): the email marketing consent of the message's contact is revoked.
// Following the same link twice changes nothing more.
func (s *Service) Unsubscribe(ctx context.Context, store *contacts.Store, token string) error {
	id, err := s.links.Check(LinkUnsubscribe, token)
	if err != nil {
		return err
	}
	cid, err := s.unsubscribeTarget(ctx, id)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := store.SetConsent(ctx, tx, audit.Actor{Name: "customer:unsubscribe_link"}, cid, contacts.ConsentChange{
			Channel: contacts.ChannelEmail, Purpose: contacts.PurposeMarketing, Granted: false, Source: "unsubscribe_link"})
		return err
	})
}

// EraseHook scrubs a contact's rendered message bodies, raw receipt addresses and
// reply texts, and cancels their messages not yet sent. Register it with
// contacts.Store.OnErase.
func (s *Service) EraseHook(ctx context.Context, tx pgx.Tx, contactID int64) error {
	if _, err := tx.Exec(ctx, `UPDATE messages SET status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
		reason = CASE WHEN status = 'queued' THEN 'contact_erased' ELSE reason END, body = NULL, vars = '{}', updated_at = $2
		WHERE contact_id = $1`, contactID, s.cfg.Now()); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE receipts SET address = NULL, detail = '' WHERE message_id IN (SELECT id FROM messages WHERE contact_id = $1)`, contactID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE inbound_messages SET text = NULL, address = NULL WHERE contact_id = $1`, contactID)
	return err
}
