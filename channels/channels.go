package channels

import (
	"context"
	"net/http"
	"time"
)

// Channel is a kind of medium a message travels on.
type Channel string

// The channels Carillon sends on.
const (
	SMS    Channel = "sms"
	Email  Channel = "email"
	WeChat Channel = "wechat" // WeChat Official Account, to customers by openid
	WeCom  Channel = "wecom"  // WeCom application messages, to managers by user id
)

// Purpose says why a message is sent; consent and channel rules depend on it.
type Purpose string

// The purposes of a message.
const (
	PurposeService   Purpose = "service"   // notices the bank must send (a deposit maturing), reminders to managers
	PurposeCare      Purpose = "care"      // greetings (birthdays, festivals): sent unless the customer refused them
	PurposeMarketing Purpose = "marketing" // campaigns: need the customer's consent
)

// Address is where a message goes: an E.164 phone number, an email address, an
// openid or a WeCom user id, depending on the channel.
type Address struct {
	Channel Channel
	Value   string
	Name    string // display name, email only
}

// String returns the address masked for logs.
func (a Address) String() string { return Mask(a.Channel, a.Value) }

// ProviderTemplate is a template approved in advance by a mainland SMS provider: a
// message to Aliyun or Tencent Cloud is a sign name, a template code and parameters,
// never free text.
type ProviderTemplate struct {
	SignName string          // 短信签名; the provider's default when empty
	Code     string          // Aliyun SMS_xxx code, Tencent numeric template id
	Params   []TemplateParam // ordered: Tencent takes values by position, Aliyun by name
}

// TemplateParam is one named template parameter.
type TemplateParam struct {
	Name, Value string
}

// WeChatPayload is the content of a WeChat Official Account template message or of a
// WeCom application message.
type WeChatPayload struct {
	// Official Account template message.
	TemplateID  string
	Fields      []WeChatField // typed fields such as thing1, time2, amount3
	URL         string        // opened on tap
	MiniProgram *MiniProgram  // opened on tap instead of URL

	// WeCom application message: "text" (default), "textcard" or "markdown".
	MsgType     string
	Title       string // textcard
	Description string // textcard
	ButtonText  string // textcard, default 详情
}

// WeChatField is one data field of a template message. Its key names its type
// (thing, time, amount, number, phrase, character_string, …) followed by a number.
type WeChatField struct {
	Key, Value, Color string
}

// MiniProgram is the mini program a template message opens.
type MiniProgram struct {
	AppID, PagePath string
}

// Message is one message to one recipient, as the delivery worker hands it to a Sender.
type Message struct {
	ID       string // our message id; providers echo it back (OutId, SessionContext, VERP)
	To       Address
	Purpose  Purpose
	Subject  string // email
	Text     string // SMS free text (Twilio only), email text part, WeCom text
	HTML     string // email HTML part
	Template *ProviderTemplate
	WeChat   *WeChatPayload
	// UnsubscribeURL is the one-click unsubscribe link of a marketing email
	// (List-Unsubscribe, RFC 8058).
	UnsubscribeURL string
	Meta           map[string]string
	// Version is the template version the content was rendered from: the
	// outbox records it; providers do not send it.
	Version int
}

// Result is what a provider answered when it accepted a message.
type Result struct {
	Provider          string
	ProviderMessageID string
	Accepted          time.Time
	// Receipt is set when the provider's answer is itself final (WeCom delivers
	// application messages synchronously and pushes no receipt).
	Receipt *Receipt
}

// Sender sends messages through one configured provider. Errors are classified (see
// IsPermanent, IsRateLimited, IsTemporary). A Sender is safe for concurrent use.
type Sender interface {
	Channel() Channel
	Send(ctx context.Context, m Message) (Result, error)
}

// Named is implemented by Senders that know their configured provider name.
type Named interface {
	Name() string
}

// Status is the delivery status a receipt reports.
type Status string

// Receipt statuses. Status only moves forward: sent < delivered | failed.
const (
	StatusSent      Status = "sent"      // accepted downstream, not yet final
	StatusDelivered Status = "delivered" // reached the handset, mailbox or WeChat user
	StatusFailed    Status = "failed"    // will not arrive
)

// Receipt is a provider's report about one message.
type Receipt struct {
	Provider          string // configured provider name
	ProviderMessageID string // BizId, SerialNo, MessageSid, WeChat msgid, …
	MessageID         string // our message id when the provider echoes it back
	To                string // recipient as reported (raw; mask before logging)
	Status            Status
	Permanent         bool // a failure that says the address will never work
	// SuppressReason is why a permanent failure condemns the address: "invalid"
	// (no such number, out of service), "complaint" (a carrier's blacklist),
	// "hard_bounce"; empty: the channel's usual reason.
	SuppressReason string
	// Unclassified marks a failure whose code the adapter's table does not know:
	// treated as temporary (the next channel is tried, nothing suppressed).
	Unclassified bool
	Code, Detail string // provider's code and text
	At           time.Time
}

// ReceiptParser is implemented by providers that push receipts over HTTP. It verifies
// the request and returns its receipts, or a *RequestError and nothing.
type ReceiptParser interface {
	ParseReceipts(r *http.Request) ([]Receipt, error)
}

// InboundKind says what an inbound event is.
type InboundKind string

// Kinds of inbound events.
const (
	InboundReply       InboundKind = "reply"       // an SMS reply (or a message to the OA)
	InboundFollow      InboundKind = "follow"      // WeChat subscribe
	InboundUnfollow    InboundKind = "unfollow"    // WeChat unsubscribe
	InboundUnsubscribe InboundKind = "unsubscribe" // email one-click unsubscribe
)

// Inbound is a reply or an event from a customer.
type Inbound struct {
	Provider    string
	Kind        InboundKind
	From        Address
	Text        string
	Unsubscribe bool // a reply that revokes marketing consent (TD, 退订, STOP, …); unfollow
	ProviderID  string
	At          time.Time
}

// InboundParser is implemented by providers that push replies and events over HTTP.
type InboundParser interface {
	ParseInbound(r *http.Request) ([]Inbound, error)
}

// Acknowledger is implemented by parsers whose provider expects a particular answer
// body once a push was accepted (Aliyun {"code":0,…}, Tencent {"result":0,…},
// WeChat "success").
type Acknowledger interface {
	Ack(w http.ResponseWriter)
}
