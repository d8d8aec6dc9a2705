package delivery

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// LinkKind is what a signed link does.
type LinkKind byte

// Link kinds.
const (
	LinkUnsubscribe LinkKind = 'u'
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

func loadLinks(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) interface{ Scan(...any) error }
}, base string) (*Links, error) {
	var key []byte
	if err := q.QueryRow(ctx, `SELECT key FROM link_keys WHERE id = 1`).Scan(&key); err != nil {
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
