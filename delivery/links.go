package delivery

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/jackc/pgx/v5"

	"carillon/contacts"
)

// LinkKind is what a signed link does.
type LinkKind byte

// Link kinds.
const (
	LinkUnsubscribe LinkKind = 'u'
	LinkOpen        LinkKind = 'o' // the open pixel of an email
	LinkClick       LinkKind = 'c' // a tracked link of an email: the token carries the link's index too
)

// ErrBadLink is returned for a link that was not signed by this database's key.
var ErrBadLink = errors.New("bad link")

// Links signs and checks the links Carillon puts in messages. A link is
// <public URL>/u/<token>, the token holding the message id and an HMAC-SHA256 of it
// under the database's link key: unguessable, and verifiable by any node.
type Links struct {
	base string
	key  []byte
}

func loadLinks(ctx context.Context, pool *pgxpool.Pool, base string) (*Links, error) {
	var key []byte
	if err := pool.QueryRow(ctx, `SELECT key FROM link_keys WHERE id = 1`).Scan(&key); err != nil {
		return nil, fmt.Errorf("load link key: %w", err)
	}
	return &Links{base: strings.TrimRight(base, "/"), key: key}, nil
}

func (l *Links) mac(kind LinkKind, id uint64) []byte {
	h := hmac.New(sha256.New, l.key)
	var b [9]byte
	b[0] = byte(kind)
	binary.BigEndian.PutUint64(b[1:], id)
	h.Write(b[:])
	return h.Sum(nil)[:16]
}

// macAt signs a message id and a link index (click links).
func (l *Links) macAt(kind LinkKind, id, idx uint64) []byte {
	h := hmac.New(sha256.New, l.key)
	var b [17]byte
	b[0] = byte(kind)
	binary.BigEndian.PutUint64(b[1:], id)
	binary.BigEndian.PutUint64(b[9:], idx)
	h.Write(b[:])
	return h.Sum(nil)[:16]
}

// Token returns the signed token of a link.
func (l *Links) Token(kind LinkKind, messageID int64) string {
	buf := binary.AppendUvarint(nil, uint64(messageID))
	buf = append(buf, l.mac(kind, uint64(messageID))...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// URL returns the link's full address.
func (l *Links) URL(kind LinkKind, messageID int64) string {
	return l.base + "/" + string(rune(kind)) + "/" + l.Token(kind, messageID)
}

// Check returns the message id a token was signed for.
func (l *Links) Check(kind LinkKind, token string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 17 {
		return 0, ErrBadLink
	}
	id, n := binary.Uvarint(raw)
	if n <= 0 || len(raw) != n+16 || !hmac.Equal(raw[n:], l.mac(kind, id)) {
		return 0, ErrBadLink
	}
	return int64(id), nil
}

// TokenAt returns the signed token of one link of a message: the message id and
// the link's index, both under the MAC.
func (l *Links) TokenAt(kind LinkKind, messageID int64, idx int) string {
	buf := binary.AppendUvarint(nil, uint64(messageID))
	buf = binary.AppendUvarint(buf, uint64(idx))
	buf = append(buf, l.macAt(kind, uint64(messageID), uint64(idx))...)
	return base64.RawURLEncoding.EncodeToString(buf)
}

// URLAt returns the full address of one link of a message.
func (l *Links) URLAt(kind LinkKind, messageID int64, idx int) string {
	return l.base + "/" + string(rune(kind)) + "/" + l.TokenAt(kind, messageID, idx)
}

// CheckAt returns the message id and link index a TokenAt token was signed for.
func (l *Links) CheckAt(kind LinkKind, token string) (int64, int, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 18 {
		return 0, 0, ErrBadLink
	}
	id, n := binary.Uvarint(raw)
	if n <= 0 {
		return 0, 0, ErrBadLink
	}
	idx, m := binary.Uvarint(raw[n:])
	if m <= 0 || idx > 1<<20 || len(raw) != n+m+16 || !hmac.Equal(raw[n+m:], l.macAt(kind, id, idx)) {
		return 0, 0, ErrBadLink
	}
	return int64(id), int(idx), nil
}

// hrefPattern finds the absolute http(s) links of an HTML body.
var hrefPattern = regexp.MustCompile(`(?i)(\bhref\s*=\s*)"(https?://[^"]+)"`)

// maxTrackedLinks bounds the links of one message that are rewritten.
const maxTrackedLinks = 200

// trackHTML rewrites the http(s) links of an email's HTML to click links and adds
// the open pixel; it returns the new HTML and the original targets, by index.
// mailto: links, the unsubscribe link and Carillon's own links are left alone, so
// rewriting twice changes nothing more.
func (l *Links) trackHTML(messageID int64, body string) (string, []string) {
	var targets []string
	out := hrefPattern.ReplaceAllStringFunc(body, func(m string) string {
		sub := hrefPattern.FindStringSubmatch(m)
		target := html.UnescapeString(sub[2])
		if strings.HasPrefix(target, l.base+"/") || len(targets) >= maxTrackedLinks {
			return m
		}
		targets = append(targets, target)
		return sub[1] + `"` + html.EscapeString(l.URLAt(LinkClick, messageID, len(targets)-1)) + `"`
	})
	pixelURL := l.URL(LinkOpen, messageID)
	if strings.Contains(out, pixelURL) {
		return out, targets
	}
	pixel := `<img src="` + html.EscapeString(pixelURL) + `" width="1" height="1" alt="" style="display:none">`
	if i := strings.LastIndex(strings.ToLower(out), "</body>"); i >= 0 {
		return out[:i] + pixel + out[i:], targets
	}
	return out + pixel, targets
}

// trackLinks makes an email's opens and clicks visible: its links become click
// links (their targets kept in message_links, written before the send so a click
// right after it finds them) and an open pixel is added. When the targets cannot
// be stored the email goes out untracked.
func (s *Service) trackLinks(ctx context.Context, messageID int64, r Rendered) Rendered {
	if r.HTML == "" {
		return r
	}
	body, targets := s.links.trackHTML(messageID, r.HTML)
	if len(targets) > 0 {
		idx := make([]int32, len(targets))
		for i := range targets {
			idx[i] = int32(i)
		}
		if _, err := s.pool.Exec(ctx, `INSERT INTO message_links (message_id, idx, url) SELECT $1, i, u FROM unnest($2::int[], $3::text[]) AS t(i, u)
			ON CONFLICT (message_id, idx) DO UPDATE SET url = EXCLUDED.url`, messageID, idx, targets); err != nil {
			s.cfg.Logger.WarnContext(ctx, "links not tracked", slog.Int64("message_id", messageID), slog.String("err", err.Error()))
			return r
		}
	}
	r.HTML = body
	return r
}

// Opened records that an email was opened (its pixel was fetched): a
// message.opened event, once per message.
func (s *Service) Opened(ctx context.Context, token string) error {
	id, err := s.links.Check(LinkOpen, token)
	if err != nil {
		return err
	}
	return s.trackEvent(ctx, id, "message.opened", -1)
}

// Clicked records a click on a tracked link (a message.clicked event with the
// link's index) and returns where it leads.
func (s *Service) Clicked(ctx context.Context, token string) (string, error) {
	id, idx, err := s.links.CheckAt(LinkClick, token)
	if err != nil {
		return "", err
	}
	var target string
	if err := s.pool.QueryRow(ctx, `SELECT url FROM message_links WHERE message_id = $1 AND idx = $2`, id, idx).Scan(&target); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return "", ErrNotFound
		}
		return "", fmt.Errorf("find link %d of message %d: %w", idx, id, err)
	}
	return target, s.trackEvent(ctx, id, "message.clicked", idx)
}

// trackLockClass is the advisory lock class that serialises open events of a message.
const trackLockClass int32 = 0x6f70656e

// trackEvent appends an open (once per message) or click event to the message's
// contact's timeline. It holds the message id, template and link index only.
func (s *Service) trackEvent(ctx context.Context, id int64, kind string, idx int) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var contactID *int64
		var tmpl string
		var channel *string
		err := tx.QueryRow(ctx, `SELECT contact_id, template_key, channel FROM messages WHERE id = $1`, id).Scan(&contactID, &tmpl, &channel)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("load message %d: %w", id, err)
		}
		if contactID == nil {
			return nil
		}
		data := map[string]any{"message_id": id, "template": tmpl}
		if channel != nil {
			data["channel"] = *channel
		}
		summary := tmpl + " opened"
		if kind == "message.opened" {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2::bigint::text))`, trackLockClass, id); err != nil {
				return err
			}
			seen, err := contacts.HasMessageEvent(ctx, tx, *contactID, "message.opened", id)
			if err != nil {
				return err
			}
			if seen {
				return nil
			}
		} else {
			data["link"] = idx
			summary = fmt.Sprintf("%s: link %d clicked", tmpl, idx+1)
		}
		js, _ := json.Marshal(data)
		return contacts.AppendEvents(ctx, tx, []contacts.Event{{ContactID: *contactID, At: s.cfg.Now(), Kind: kind, Actor: "customer", Summary: summary, Data: js}})
	})
}
