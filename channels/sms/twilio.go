package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"carillon/channels"
	"carillon/channels/internal/sign"
	"carillon/internal/pii"
)

// TwilioConfig configures a Twilio adapter.
type TwilioConfig struct {
	Name       string
	Endpoint   string // default https://api.twilio.com
	AccountSID string
	AuthToken  channels.Secret
	// From is the sender: a number, or a Messaging Service SID (MG…).
	From string
	// StatusCallback is the public URL of our status webhook; each message adds
	// mid=<message id> to it. Its scheme and host are also what Twilio signed when we
	// sit behind a proxy.
	StatusCallback string
	MaxBody        int64
	Timeout        time.Duration
	HTTPClient     *http.Client
	Now            func() time.Time
}

// Twilio sends free-text SMS through Twilio's REST API (2010-04-01) and parses its
// status callbacks and inbound messages, both signed with X-Twilio-Signature.
type Twilio struct {
	cfg TwilioConfig
	hc  *http.Client
}

// NewTwilio returns a Twilio adapter.
func NewTwilio(cfg TwilioConfig) (*Twilio, error) {
	if cfg.Name == "" {
		cfg.Name = channels.KindTwilio
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = channels.DefaultTwilioURL
	}
	if cfg.AccountSID == "" || cfg.AuthToken.IsZero() || cfg.From == "" {
		return nil, fmt.Errorf("twilio %s: account sid, auth token and from are required", cfg.Name)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Twilio{cfg: cfg, hc: httpClient(cfg.HTTPClient, cfg.Timeout)}, nil
}

// Name returns the configured provider name.
func (t *Twilio) Name() string { return t.cfg.Name }

// Channel is SMS.
func (t *Twilio) Channel() channels.Channel { return channels.SMS }

type twilioAnswer struct {
	SID     string `json:"sid"`
	Status  any    `json:"status"` // a string on success, the HTTP status number on errors
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// call is the wire client: POST a form to the account's resource.
func (t *Twilio) call(ctx context.Context, resource string, form url.Values) (*http.Response, twilioAnswer, error) {
	u := fmt.Sprintf("%s/2010-04-01/Accounts/%s/%s", strings.TrimRight(t.cfg.Endpoint, "/"), url.PathEscape(t.cfg.AccountSID), resource)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, twilioAnswer{}, fmt.Errorf("twilio: build request: %w", err)
	}
	req.SetBasicAuth(t.cfg.AccountSID, t.cfg.AuthToken.Reveal())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body, err := roundTrip(ctx, t.hc, t.cfg.Name, req)
	if err != nil {
		return nil, twilioAnswer{}, err
	}
	var ans twilioAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return resp, ans, channels.HTTPStatusError(t.cfg.Name, resp, body)
	}
	return resp, ans, nil
}

// Send sends m.Text to m.To.
func (t *Twilio) Send(ctx context.Context, m channels.Message) (channels.Result, error) {
	if strings.TrimSpace(m.Text) == "" {
		return channels.Result{}, channels.NewPermanent(t.cfg.Name, "no_text", "Twilio sends free text; the message has none", channels.ErrInvalidMessage)
	}
	form := url.Values{"To": {m.To.Value}, "Body": {m.Text}}
	if strings.HasPrefix(t.cfg.From, "MG") {
		form.Set("MessagingServiceSid", t.cfg.From)
	} else {
		form.Set("From", t.cfg.From)
	}
	if t.cfg.StatusCallback != "" {
		cb, err := url.Parse(t.cfg.StatusCallback)
		if err == nil && m.ID != "" {
			q := cb.Query()
			q.Set("mid", m.ID)
			cb.RawQuery = q.Encode()
		}
		form.Set("StatusCallback", cb.String())
	}
	resp, ans, err := t.call(ctx, "Messages.json", form)
	if err != nil {
		return channels.Result{}, err
	}
	if resp.StatusCode/100 != 2 || ans.SID == "" {
		// Twilio's messages quote the number: mask it.
		msg := strings.ReplaceAll(ans.Message, m.To.Value, pii.Phone(m.To.Value))
		return channels.Result{}, twilioClassify(t.cfg.Name, resp, ans.Code, msg)
	}
	return channels.Result{Provider: t.cfg.Name, ProviderMessageID: ans.SID, Accepted: t.cfg.Now()}, nil
}

// twilioClassify classifies a Twilio error answer.
func twilioClassify(provider string, resp *http.Response, code int, msg string) error {
	c := strconv.Itoa(code)
	switch code {
	case 21211, 21614, 21610, 21612, 21217, 21401, 21408:
		// 21211 invalid To, 21614 not a mobile number, 21610 recipient replied STOP,
		// 21612 cannot route to this number, 21217/21401 invalid number,
		// 21408 region not enabled for this account.
		if code == 21408 {
			return channels.NewPermanent(provider, c, msg, channels.ErrInvalidMessage)
		}
		return channels.NewBadAddress(provider, c, msg)
	case 21617, 21602, 21619:
		return channels.NewPermanent(provider, c, msg, channels.ErrInvalidMessage) // body too long, missing body
	case 20429, 14107, 30001:
		return channels.NewRateLimited(provider, c, msg, channels.ScopeProvider, channels.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Second))
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return channels.NewRateLimited(provider, c, msg, channels.ScopeProvider, channels.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Second))
	}
	return channels.NewTemporary(provider, c, msg, nil)
}

// signedURL is the URL Twilio signed: our public scheme and host (from
// StatusCallback, else the request) and the request's path and query.
func (t *Twilio) signedURL(r *http.Request) string {
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme = p
	}
	if cb, err := url.Parse(t.cfg.StatusCallback); err == nil && cb.Host != "" {
		scheme, host = cb.Scheme, cb.Host
	}
	return scheme + "://" + host + r.URL.RequestURI()
}

// verify checks X-Twilio-Signature over the form post.
func (t *Twilio) verify(r *http.Request) error {
	got := r.Header.Get("X-Twilio-Signature")
	if got == "" {
		return channels.Unauthorized("no X-Twilio-Signature")
	}
	if err := channels.ReadForm(r, t.cfg.MaxBody); err != nil {
		return err
	}
	if !sign.Equal(got, sign.Twilio(t.cfg.AuthToken.Reveal(), t.signedURL(r), r.PostForm)) {
		return channels.Unauthorized("X-Twilio-Signature does not match")
	}
	return nil
}

// twilioPermanent are delivery error codes that condemn the number.
var twilioPermanent = map[string]bool{"30004": true, "30005": true, "30006": true, "21610": true, "21614": true, "21211": true}

// ParseReceipts parses a status callback.
func (t *Twilio) ParseReceipts(r *http.Request) ([]channels.Receipt, error) {
	if err := t.verify(r); err != nil {
		return nil, err
	}
	sid, status := r.PostForm.Get("MessageSid"), r.PostForm.Get("MessageStatus")
	if sid == "" || status == "" {
		return nil, channels.Malformed("status callback: MessageSid and MessageStatus are required")
	}
	var st channels.Status
	switch status {
	case "delivered", "read":
		st = channels.StatusDelivered
	case "undelivered", "failed":
		st = channels.StatusFailed
	case "queued", "accepted", "scheduled", "sending", "sent":
		st = channels.StatusSent
	default:
		return nil, channels.Malformed("status callback: unknown MessageStatus %q", status)
	}
	code := r.PostForm.Get("ErrorCode")
	return []channels.Receipt{{
		Provider: t.cfg.Name, ProviderMessageID: sid, MessageID: r.URL.Query().Get("mid"),
		To: r.PostForm.Get("To"), Status: st, Permanent: st == channels.StatusFailed && twilioPermanent[code],
		Code: code, Detail: status, At: t.cfg.Now(),
	}}, nil
}

// ParseInbound parses an inbound message (a reply, maybe STOP).
func (t *Twilio) ParseInbound(r *http.Request) ([]channels.Inbound, error) {
	if err := t.verify(r); err != nil {
		return nil, err
	}
	from := r.PostForm.Get("From")
	if from == "" {
		return nil, channels.Malformed("inbound: From is required")
	}
	body := r.PostForm.Get("Body")
	return []channels.Inbound{{
		Provider: t.cfg.Name, Kind: channels.InboundReply,
		From: channels.Address{Channel: channels.SMS, Value: from}, Text: body,
		Unsubscribe: channels.IsUnsubscribeReply(body) || r.PostForm.Get("OptOutType") == "STOP",
		ProviderID:  r.PostForm.Get("MessageSid"), At: t.cfg.Now(),
	}}, nil
}

// Ack answers with empty TwiML (no automatic reply).
func (t *Twilio) Ack(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Response></Response>`))
}
