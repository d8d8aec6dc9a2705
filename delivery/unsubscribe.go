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
