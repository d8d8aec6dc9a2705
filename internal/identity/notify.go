package identity

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"

	"carillon/channels"
	"carillon/internal/audit"
	"carillon/internal/pii"
)

// Notify says how a user is told of decisions on their work (a campaign of
// theirs approved or rejected), besides the console's notice.
type Notify string

// The notify preferences.
const (
	NotifyAuto  Notify = "auto"  // WeCom when the user has a WeCom user id, else email (the default)
	NotifyEmail Notify = "email" // the work email only
	NotifyWeCom Notify = "wecom" // WeCom only
	NotifyNone  Notify = "none"  // the console's notice only
)

// ParseNotify reads a notify preference (case and surrounding space ignored).
func ParseNotify(s string) (Notify, error) {
	n := Notify(strings.ToLower(strings.TrimSpace(s)))
	switch n {
	case NotifyAuto, NotifyEmail, NotifyWeCom, NotifyNone:
		return n, nil
	}
	return "", invalid("notify", fmt.Sprintf("unknown preference %q (want auto, email, wecom or none) / 未知的通知方式", s))
}

// NotifyAddress is where the user is told of a decision on their work, by
// their preference; false when nowhere (no address, or NotifyNone).
func (u User) NotifyAddress() (channels.Address, bool) {
	email := channels.Address{Channel: channels.Email, Value: u.WorkEmail, Name: u.DisplayName}
	wecom := channels.Address{Channel: channels.WeCom, Value: u.WeComUserID}
	switch u.Notify {
	case NotifyNone:
		return channels.Address{}, false
	case NotifyEmail:
		return email, u.WorkEmail != ""
	case NotifyWeCom:
		return wecom, u.WeComUserID != ""
	}
	if u.WeComUserID != "" {
		return wecom, true
	}
	return email, u.WorkEmail != ""
}

// ContactChange changes where a user is told of decisions; a nil field stays
// as it is, an empty string removes the address.
type ContactChange struct {
	WorkEmail   *string
	WeComUserID *string
	Notify      *Notify
}

// wecomRe mirrors the users.wecom_userid check: one WeCom user id.
var wecomRe = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// normContact checks ch's values and returns them normalised (an email's
// domain lower-cased).
func normContact(ch ContactChange) (ContactChange, error) {
	var errs []FieldError
	if ch.WorkEmail != nil {
		e := strings.TrimSpace(*ch.WorkEmail)
		if e != "" {
			a, err := mail.ParseAddress(e)
			at := strings.LastIndexByte(e, '@')
			if err != nil || a.Name != "" || a.Address != e || len(e) > 254 || at < 1 || !strings.Contains(e[at:], ".") || strings.ContainsAny(e, " \t") {
				errs = append(errs, FieldError{Field: "work_email", Message: "is not an email address (" + pii.Email(e) + ") / 不是有效的电子邮件地址"})
			} else {
				e = e[:at] + strings.ToLower(e[at:])
			}
		}
		ch.WorkEmail = &e
	}
	if ch.WeComUserID != nil {
		w := strings.TrimSpace(*ch.WeComUserID)
		if w != "" && !wecomRe.MatchString(w) {
			errs = append(errs, FieldError{Field: "wecom_userid", Message: "must be 1-64 of A-Z, a-z, 0-9, '.', '_', '-' / 企业微信账号须为 1-64 位字母、数字、'.'、'_' 或 '-'"})
		}
		ch.WeComUserID = &w
	}
	if ch.Notify != nil {
		n, err := ParseNotify(string(*ch.Notify))
		if err != nil {
			var ve *ValidationError
			errors.As(err, &ve)
			errs = append(errs, ve.Fields...)
		}
		ch.Notify = &n
	}
	if len(errs) > 0 {
		return ch, &ValidationError{Fields: errs}
	}
	return ch, nil
}

func (ch ContactChange) empty() bool {
	return ch.WorkEmail == nil && ch.WeComUserID == nil && ch.Notify == nil
}

func orNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// setContact writes ch (already checked) to user u in tx, with its audit row
// (addresses masked). Nothing changes when ch changes nothing.
func (s *Store) setContact(ctx context.Context, tx pgx.Tx, actor audit.Actor, u User, ch ContactChange) error {
	email, wecom, notify := u.WorkEmail, u.WeComUserID, u.Notify
	changes := map[string]any{}
	if ch.WorkEmail != nil && *ch.WorkEmail != email {
		email = *ch.WorkEmail
		changes["work_email"] = pii.Email(email)
	}
	if ch.WeComUserID != nil && *ch.WeComUserID != wecom {
		wecom = *ch.WeComUserID
		changes["wecom_userid"] = pii.OpenID(wecom)
	}
	if ch.Notify != nil && *ch.Notify != notify {
		notify = *ch.Notify
		changes["notify"] = string(notify)
	}
	if len(changes) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE users SET work_email = $2, wecom_userid = $3, notify = $4 WHERE id = $1`,
		u.ID, orNil(email), orNil(wecom), string(notify)); err != nil {
		return err
	}
	return audit.Append(ctx, tx, actor, s.cfg.Now(), audit.Entry{Action: "user.set_contact", ObjectType: "user", ObjectID: u.Login, Changes: changes})
}

// SetContact sets where a user is told of decisions on their work: their work
// email, WeCom user id and preference. A ValidationError for a bad address or
// preference; ErrNotFound when there is no such user.
func (s *Store) SetContact(ctx context.Context, actor audit.Actor, login string, ch ContactChange) (User, error) {
	ch, err := normContact(ch)
	if err != nil {
		return User{}, err
	}
	u, err := s.update(ctx, login, func(tx pgx.Tx, u User) error {
		return s.setContact(ctx, tx, actor, u, ch)
	})
	if err != nil {
		return User{}, fmt.Errorf("set contact of %q: %w", login, err)
	}
	return u, nil
}

// Querier is a pool or a transaction.
type Querier = querier

// ReadUser reads the user with id through q (a pool, or the caller's
// transaction); ErrNotFound when there is none. Other packages read a user's
// name and notify address through it, never the users table.
func ReadUser(ctx context.Context, q Querier, id int64) (User, error) {
	u, err := scanUser(q.QueryRow(ctx, sqlGetUserByID, id))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("get user %d: %w", id, err)
	}
	return u, err
}
