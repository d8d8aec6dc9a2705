package contacts

// What delivery and campaigns read and write of this package's tables:
// consents and suppressions for the send policy, the contact and manager
// states a bulk retry checks, the timeline's opens, and the SQL fragments over
// contacts (alias c) that a compiled segment and a run's recipients use. The
// SQL stays here, beside the tables; the other packages call these.

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ConsentKey is one consent: a contact's on a channel for a purpose.
type ConsentKey struct {
	ContactID int64
	Channel   string
	Purpose   string
}

const consentsOfSQL = `SELECT contact_id, channel, purpose, granted FROM consents WHERE contact_id = ANY($1)`

// ConsentsOf returns the stated consents of the contacts, granted or not (a
// key absent: never stated). One query for any number of contacts.
func (s *Store) ConsentsOf(ctx context.Context, contactIDs []int64) (map[ConsentKey]bool, error) {
	rows, err := s.pool.Query(ctx, consentsOfSQL, contactIDs)
	if err != nil {
		return nil, fmt.Errorf("load consents: %w", err)
	}
	defer rows.Close()
	out := map[ConsentKey]bool{}
	for rows.Next() {
		var k ConsentKey
		var g bool
		if err := rows.Scan(&k.ContactID, &k.Channel, &k.Purpose, &g); err != nil {
			return nil, err
		}
		out[k] = g
	}
	return out, rows.Err()
}

// SuppressedAddress is a suppressed address on a customer channel, as the
// caller gave it (also when it is stored as its SuppressionKey).
type SuppressedAddress struct {
	Channel string
	Address string
}

const suppressedAmongSQL = `SELECT channel, address FROM suppressions WHERE channel = ANY(ARRAY['sms', 'email', 'wechat']) AND address = ANY($1)`

// SuppressedAmong returns the suppressions of the customer channels (sms,
// email, wechat) held for any of the addresses, in one query: an address is
// found as itself and as its SuppressionKey (how erasure keeps it).
func (s *Store) SuppressedAmong(ctx context.Context, addresses []string) ([]SuppressedAddress, error) {
	raw := make(map[string]string, 2*len(addresses))
	both := make([]string, 0, 2*len(addresses))
	for _, a := range addresses {
		k := SuppressionKey(a)
		raw[a], raw[k] = a, a
		both = append(both, a, k)
	}
	rows, err := s.pool.Query(ctx, suppressedAmongSQL, both)
	if err != nil {
		return nil, fmt.Errorf("load suppressions: %w", err)
	}
	defer rows.Close()
	var out []SuppressedAddress
	for rows.Next() {
		var a SuppressedAddress
		if err := rows.Scan(&a.Channel, &a.Address); err != nil {
			return nil, err
		}
		if r, ok := raw[a.Address]; ok {
			a.Address = r
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

const suppressAddressSQL = `INSERT INTO suppressions (channel, address, reason, source) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`

// SuppressAddress suppresses an address on a channel for everyone who has it
// (kept when it already is), in the caller's transaction.
func SuppressAddress(ctx context.Context, q Execer, channel, address, reason, source string) error {
	if _, err := q.Exec(ctx, suppressAddressSQL, channel, address, reason, source); err != nil {
		return fmt.Errorf("suppress address: %w", err)
	}
	return nil
}

const suppressContactAddressSQL = `INSERT INTO suppressions (channel, address, reason, source)
SELECT $1, a, $4, $3
FROM (SELECT CASE $1 WHEN 'sms' THEN phone WHEN 'email' THEN email WHEN 'wechat' THEN wechat_openid END AS a
      FROM contacts WHERE id = $2) c
WHERE a IS NOT NULL ON CONFLICT DO NOTHING`

// SuppressContactAddress suppresses the contact's current address on a
// customer channel (sms: phone, email, wechat: openid) for everyone who has
// it, in the caller's transaction; a contact without one there is left alone.
// The address never leaves the database.
func SuppressContactAddress(ctx context.Context, q Execer, channel string, contactID int64, reason, source string) error {
	if _, err := q.Exec(ctx, suppressContactAddressSQL, channel, contactID, source, reason); err != nil {
		return fmt.Errorf("suppress address: %w", err)
	}
	return nil
}

const sendableSQL = `SELECT 'c', id FROM contacts WHERE id = ANY($1) AND erased_at IS NULL AND status = 'active'
UNION ALL
SELECT 'm', id FROM managers WHERE id = ANY($2) AND active`

// Sendable returns, of the contacts and managers given, those a message may
// still go to: contacts that exist, are not erased and are active; managers
// that exist and are active. One query, in q's snapshot.
func Sendable(ctx context.Context, q Querier, contactIDs, managerIDs []int64) (contacts, managers map[int64]bool, err error) {
	rows, err := q.Query(ctx, sendableSQL, contactIDs, managerIDs)
	if err != nil {
		return nil, nil, fmt.Errorf("check recipients: %w", err)
	}
	defer rows.Close()
	contacts, managers = map[int64]bool{}, map[int64]bool{}
	for rows.Next() {
		var kind string
		var id int64
		if err := rows.Scan(&kind, &id); err != nil {
			return nil, nil, err
		}
		if kind == "c" {
			contacts[id] = true
		} else {
			managers[id] = true
		}
	}
	return contacts, managers, rows.Err()
}

const hasMessageEventSQL = `SELECT EXISTS (SELECT 1 FROM contact_events WHERE contact_id = $1 AND kind = $2
  AND data->>'message_id' = $3::bigint::text)`

// HasMessageEvent reports whether the contact's timeline holds an event of
// kind about the message (data.message_id), in q's snapshot.
func HasMessageEvent(ctx context.Context, q Querier, contactID int64, kind string, messageID int64) (bool, error) {
	rows, err := q.Query(ctx, hasMessageEventSQL, contactID, kind, messageID)
	if err != nil {
		return false, fmt.Errorf("find %s of message %d: %w", kind, messageID, err)
	}
	seen, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[bool])
	if err != nil {
		return false, fmt.Errorf("find %s of message %d: %w", kind, messageID, err)
	}
	return seen, nil
}

// Audience SQL: a compiled segment is a predicate over the contacts table
// under the alias c (campaigns/segment writes it, with its own parameters);
// these are the statements and sub-queries it is used in. The predicate is
// the compiler's output, never user text.

// AudienceIDsSQL selects the ids of the contacts matching where, at most limit;
// ordered: by id (without, the first matches found).
func AudienceIDsSQL(where string, limit int, ordered bool) string {
	q := `SELECT c.id FROM contacts c WHERE ` + where
	if ordered {
		q += ` ORDER BY c.id`
	}
	return q + fmt.Sprintf(` LIMIT %d`, max(limit, 0))
}

// AudienceCountSQL counts the contacts matching where.
func AudienceCountSQL(where string) string { return `SELECT count(*) FROM contacts c WHERE ` + where }

// AudienceExplainSQL is the planner's JSON plan of reading the contacts
// matching where (its row estimate stands in for a count that ran out of time).
func AudienceExplainSQL(where string) string {
	return `EXPLAIN (FORMAT JSON) SELECT 1 FROM contacts c WHERE ` + where
}

// Marketing consent on a channel, as a predicate over c.
const (
	MarketingConsentSMSSQL    = `EXISTS (SELECT 1 FROM consents k WHERE k.contact_id = c.id AND k.channel = 'sms' AND k.purpose = 'marketing' AND k.granted)`
	MarketingConsentEmailSQL  = `EXISTS (SELECT 1 FROM consents k WHERE k.contact_id = c.id AND k.channel = 'email' AND k.purpose = 'marketing' AND k.granted)`
	MarketingConsentWeChatSQL = `EXISTS (SELECT 1 FROM consents k WHERE k.contact_id = c.id AND k.channel = 'wechat' AND k.purpose = 'marketing' AND k.granted)`
)

// managerColumn is the managers' column a segment may compare: code or team.
func managerColumn(col string) string {
	switch col {
	case "code", "team":
		return col
	}
	panic(fmt.Sprintf("contacts: no manager column %q for a segment", col))
}

// ManagerMatchSQL is a predicate over c: the contact's manager's code or team
// (col) satisfies cond, an operator and a bound parameter (`= ANY($3::text[])`,
// `LIKE $4::text`). It goes through the managers' indexes; a contact without a
// manager does not match.
func ManagerMatchSQL(col, cond string) string {
	return "(c.manager_id IN (SELECT m.id FROM managers m WHERE m." + managerColumn(col) + " " + cond + "))"
}

// ManagerValueSQL is the contact's manager's code or team (col) as an
// expression over c, "" without a manager.
func ManagerValueSQL(col string) string {
	return "COALESCE((SELECT m." + managerColumn(col) + " FROM managers m WHERE m.id = c.manager_id), '')"
}

// RecipientsSQL selects a segment's recipients, one per address, as the WITH
// clause of a statement: each matched contact's address is that of the first
// chosen channel it has one for ($1: the channels in order, at most three; $2:
// the salt of the address hash; the predicate's arguments follow, from $3 or
// later). It defines matched (contact_id, ch, key: every contact matched) and
// one (contact_id, channel, address_key, no_address: one row per recipient).
// Contacts sharing that address are one recipient: the lowest id among those
// with marketing consent on the channel, else the lowest id. A contact with no
// address on any channel is its own recipient. The address key is the first
// 128 bits of SHA-256(salt || channel:address).
func RecipientsSQL(where string) string {
	addr := func(n string) string {
		return `NULLIF(CASE ($1::text[])[` + n + `] WHEN 'sms' THEN c.phone WHEN 'email' THEN lower(c.email) WHEN 'wechat' THEN c.wechat_openid END, '')`
	}
	return `WITH matched AS MATERIALIZED (
  SELECT a.contact_id, a.ch, substring(sha256($2::bytea || convert_to(a.ch || ':' || a.addr, 'UTF8')) FROM 1 FOR 16) AS key
  FROM (
    SELECT c.id AS contact_id,
      CASE WHEN ` + addr("1") + ` IS NOT NULL THEN ($1::text[])[1] WHEN ` + addr("2") + ` IS NOT NULL THEN ($1::text[])[2]
           WHEN ` + addr("3") + ` IS NOT NULL THEN ($1::text[])[3] END AS ch,
      COALESCE(` + addr("1") + `, ` + addr("2") + `, ` + addr("3") + `) AS addr
    FROM contacts c
    WHERE ` + where + `
  ) a
), one AS (
  SELECT COALESCE(min(m.contact_id) FILTER (WHERE k.granted), min(m.contact_id)) AS contact_id, COALESCE(m.ch, ($1::text[])[1]) AS channel,
    COALESCE(encode(m.key, 'hex'), 'contact:' || min(m.contact_id)) AS address_key, m.key IS NULL AS no_address
  FROM matched m
  LEFT JOIN consents k ON k.contact_id = m.contact_id AND k.channel = m.ch AND k.purpose = 'marketing'
  GROUP BY m.ch, m.key, CASE WHEN m.key IS NULL THEN m.contact_id END
)`
}
