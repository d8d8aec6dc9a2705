package contacts

import (
	"carillon/internal/apperr"
	"carillon/internal/fielderr"
	"encoding/json"
	"errors"
	"time"
)

// Contact is one customer.
type Contact struct {
	ID           int64           `json:"id"`
	ExternalID   string          `json:"external_id"`
	Status       Status          `json:"status"`
	Name         string          `json:"name,omitempty"`
	Gender       string          `json:"gender,omitempty"`
	Locale       string          `json:"locale"`
	TimeZone     string          `json:"timezone"`
	Birthday     *Birthday       `json:"birthday,omitempty"`
	Phone        string          `json:"phone,omitempty"`
	Email        string          `json:"email,omitempty"`
	WeChatOpenID string          `json:"wechat_openid,omitempty"`
	Tier         string          `json:"tier,omitempty"`
	Manager      string          `json:"manager,omitempty"` // the manager's code
	ManagerID    int64           `json:"-"`
	Tags         []string        `json:"tags"`
	Attrs        json.RawMessage `json:"attrs"`
	ErasedAt     *time.Time      `json:"erased_at,omitempty"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
}

// Birthday says which calendar a customer celebrates and the dates on both.
type Birthday struct {
	Calendar   string `json:"calendar"`              // solar | lunar
	Year       int    `json:"year,omitempty"`        // solar birth year, 0 when unknown
	Month      int    `json:"month,omitempty"`       // solar month
	Day        int    `json:"day,omitempty"`         // solar day
	LunarMonth int    `json:"lunar_month,omitempty"` // lunar month
	LunarDay   int    `json:"lunar_day,omitempty"`   // lunar day
	LunarLeap  bool   `json:"lunar_leap,omitempty"`  // born in a leap month
}

// Input creates or changes a contact. A nil field keeps the stored value; Clear
// names fields to empty (e.g. "email"). The same rules apply as to a CSV row.
type Input struct {
	ExternalID       *string         `json:"external_id,omitempty"`
	Status           *string         `json:"status,omitempty"`
	Name             *string         `json:"name,omitempty"`
	Gender           *string         `json:"gender,omitempty"`
	Locale           *string         `json:"locale,omitempty"`
	TimeZone         *string         `json:"timezone,omitempty"`
	Birthday         *string         `json:"birthday,omitempty"`          // solar, YYYY-MM-DD or MM-DD
	LunarBirthday    *string         `json:"lunar_birthday,omitempty"`    // MM-DD, 闰MM-DD, LMM-DD
	BirthdayCalendar *string         `json:"birthday_calendar,omitempty"` // solar | lunar
	Phone            *string         `json:"phone,omitempty"`
	Email            *string         `json:"email,omitempty"`
	WeChatOpenID     *string         `json:"wechat_openid,omitempty"`
	Tier             *string         `json:"tier,omitempty"`
	Manager          *string         `json:"manager,omitempty"` // manager code
	Tags             *[]string       `json:"tags,omitempty"`
	Attrs            map[string]any  `json:"attrs,omitempty"` // merged; a null value removes the key
	Clear            []string        `json:"clear,omitempty"`
	Consents         map[string]bool `json:"consents,omitempty"` // marketing consent by channel
}

// FieldError is one bad value (fielderr.FieldError, shared with identity).
type FieldError = fielderr.FieldError

// ValidationError lists every bad value of one input (fielderr.ValidationError,
// so the server maps one type to 400).
type ValidationError = fielderr.ValidationError

// Sentinel errors; server maps them to HTTP statuses (not found and conflict
// by their apperr kind).
var (
	ErrNotFound = apperr.NotFound("not found", "")
	ErrConflict = apperr.Conflict("conflict", "")
	ErrErased   = errors.New("contact is erased")
)

// Event is one entry of a contact's timeline.
type Event struct {
	ID        int64           `json:"id"`
	ContactID int64           `json:"contact_id"`
	At        time.Time       `json:"at"`
	Kind      string          `json:"kind"`
	Actor     string          `json:"actor"`
	Summary   string          `json:"summary"`
	Data      json.RawMessage `json:"data"`
}

// Event kinds written by this package. Other packages add their own
// (message.sent, message.delivered, revisit.logged, ...).
const (
	EventCreated        = "contact.created"
	EventUpdated        = "contact.updated"
	EventErased         = "contact.erased"
	EventConsentChanged = "consent.changed"
)

// Consent is a contact's statement for one channel and purpose.
type Consent struct {
	Channel string    `json:"channel"`
	Purpose string    `json:"purpose"`
	Granted bool      `json:"granted"`
	Source  string    `json:"source"`
	At      time.Time `json:"at"`
}

// ValidChannel reports whether c names a consent channel.
func ValidChannel(c string) bool {
	return c == ChannelSMS || c == ChannelEmail || c == ChannelWeChat
}

// ValidPurpose reports whether p names a purpose.
func ValidPurpose(p string) bool {
	return p == PurposeService || p == PurposeCare || p == PurposeMarketing
}

func fieldErr(field string, err error) FieldError {
	return FieldError{Field: field, Message: err.Error()}
}

// Chinese names of channels and purposes for the timeline's summaries.
var (
	channelZh = map[string]string{ChannelSMS: "短信", ChannelEmail: "邮件", ChannelWeChat: "微信"}
	purposeZh = map[string]string{PurposeService: "服务", PurposeCare: "关怀", PurposeMarketing: "营销"}
)

// ReplyText is the customer's own words an event carries (the reply that
// revoked a consent), "" when none.
func (e Event) ReplyText() string {
	var d struct {
		ReplyText string `json:"reply_text"`
	}
	_ = json.Unmarshal(e.Data, &d)
	return d.ReplyText
}

// Masked returns the event with the customer's own words hidden, for staff who
// may not see personal data.
func (e Event) Masked() Event {
	if e.ReplyText() == "" {
		return e
	}
	var d map[string]any
	if json.Unmarshal(e.Data, &d) != nil {
		return e
	}
	d["reply_text"] = "***"
	e.Data, _ = json.Marshal(d)
	return e
}
