package sms

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"carillon/channels"
	"carillon/channels/internal/sign"
)

// TencentConfig configures a Tencent Cloud SMS adapter.
type TencentConfig struct {
	Name         string
	Endpoint     string // default channels.DefaultTencentURL
	SecretID     string
	SecretKey    channels.Secret
	SdkAppID     string // SmsSdkAppId
	Region       string // default ap-guangzhou
	SignName     string
	WebhookToken channels.Secret
	MaxBody      int64
	Timeout      time.Duration
	HTTPClient   *http.Client
	Logger       *slog.Logger
	Now          func() time.Time
}

// Tencent sends through Tencent Cloud SMS (SendSms, API 2021-01-11) with the
// TC3-HMAC-SHA256 signature, and parses its status and reply callbacks.
type Tencent struct {
	cfg  TencentConfig
	hc   *http.Client
	host string
}

const tencentContentType = "application/json; charset=utf-8"

// NewTencent returns a Tencent Cloud SMS adapter.
func NewTencent(cfg TencentConfig) (*Tencent, error) {
	if cfg.Name == "" {
		cfg.Name = channels.KindTencent
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = channels.DefaultTencentURL
	}
	if cfg.Region == "" {
		cfg.Region = channels.DefaultTencentRegion
	}
	if cfg.SecretID == "" || cfg.SecretKey.IsZero() {
		return nil, fmt.Errorf("tencent %s: secret id and key are required", cfg.Name)
	}
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("tencent %s: endpoint %q is not a URL", cfg.Name, cfg.Endpoint)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Tencent{cfg: cfg, hc: httpClient(cfg.HTTPClient, cfg.Timeout), host: u.Host}, nil
}

// Name returns the configured provider name.
func (t *Tencent) Name() string { return t.cfg.Name }

// Channel is SMS.
func (t *Tencent) Channel() channels.Channel { return channels.SMS }

type tencentSendRequest struct {
	PhoneNumberSet   []string `json:"PhoneNumberSet"`
	SmsSdkAppID      string   `json:"SmsSdkAppId"`
	SignName         string   `json:"SignName,omitempty"`
	TemplateID       string   `json:"TemplateId"`
	TemplateParamSet []string `json:"TemplateParamSet,omitempty"`
	SessionContext   string   `json:"SessionContext,omitempty"`
}

type tencentError struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

type tencentSendStatus struct {
	SerialNo       string `json:"SerialNo"`
	PhoneNumber    string `json:"PhoneNumber"`
	Fee            int    `json:"Fee"`
	SessionContext string `json:"SessionContext"`
	Code           string `json:"Code"`
	Message        string `json:"Message"`
	IsoCode        string `json:"IsoCode"`
}

type tencentAnswer struct {
	Response struct {
		Error         *tencentError       `json:"Error"`
		SendStatusSet []tencentSendStatus `json:"SendStatusSet"`
		RequestID     string              `json:"RequestId"`
	} `json:"Response"`
}

// call is the wire client: one signed API 3.0 POST.
func (t *Tencent) call(ctx context.Context, action string, payload any) (tencentAnswer, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return tencentAnswer{}, fmt.Errorf("tencent: encode: %w", err)
	}
	ts := t.cfg.Now().Unix()
	s := sign.TC3{SecretID: t.cfg.SecretID, SecretKey: t.cfg.SecretKey.Reveal(), Service: "sms", Host: t.host,
		ContentType: tencentContentType, Payload: body, Timestamp: ts}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(t.cfg.Endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return tencentAnswer{}, fmt.Errorf("tencent: build request: %w", err)
	}
	req.Header.Set("Authorization", s.Authorization())
	req.Header.Set("Content-Type", tencentContentType)
	req.Header.Set("X-TC-Action", action)
	req.Header.Set("X-TC-Version", "2021-01-11")
	req.Header.Set("X-TC-Timestamp", fmt.Sprint(ts))
	req.Header.Set("X-TC-Region", t.cfg.Region)
	resp, rbody, err := roundTrip(ctx, t.hc, t.cfg.Name, req)
	if err != nil {
		return tencentAnswer{}, err
	}
	var ans tencentAnswer
	if err := json.Unmarshal(rbody, &ans); err != nil || (ans.Response.Error == nil && ans.Response.SendStatusSet == nil) {
		return tencentAnswer{}, channels.HTTPStatusError(t.cfg.Name, resp, rbody)
	}
	return ans, nil
}

// Send sends m's approved template to m.To (SessionContext = m.ID).
func (t *Tencent) Send(ctx context.Context, m channels.Message) (channels.Result, error) {
	if err := requireTemplate(t.cfg.Name, m); err != nil {
		return channels.Result{}, err
	}
	to := m.To.Value
	if !strings.HasPrefix(to, "+") {
		to = "+86" + to
	}
	req := tencentSendRequest{
		PhoneNumberSet: []string{to}, SmsSdkAppID: t.cfg.SdkAppID,
		SignName: cmpOr(m.Template.SignName, t.cfg.SignName), TemplateID: m.Template.Code,
		SessionContext: m.ID,
	}
	for _, p := range m.Template.Params {
		req.TemplateParamSet = append(req.TemplateParamSet, p.Value)
	}
	ans, err := t.call(ctx, "SendSms", req)
	if err != nil {
		return channels.Result{}, err
	}
	if e := ans.Response.Error; e != nil {
		return channels.Result{}, tencentClassify(t.cfg.Name, e.Code, e.Message)
	}
	if len(ans.Response.SendStatusSet) != 1 {
		return channels.Result{}, channels.NewTemporary(t.cfg.Name, "bad_answer",
			fmt.Sprintf("%d send statuses for one number", len(ans.Response.SendStatusSet)), nil)
	}
	st := ans.Response.SendStatusSet[0]
	if err := tencentClassify(t.cfg.Name, st.Code, st.Message); err != nil {
		return channels.Result{}, err
	}
	return channels.Result{Provider: t.cfg.Name, ProviderMessageID: st.SerialNo, Accepted: t.cfg.Now()}, nil
}

// tencentClassify classifies a Tencent Cloud SMS error code (nil for Ok).
func tencentClassify(provider, code, msg string) error {
	switch {
	case strings.EqualFold(code, "Ok"):
		return nil
	case code == "InvalidParameterValue.IncorrectPhoneNumber", code == "FailedOperation.PhoneNumberInBlacklist",
		code == "UnsupportedOperation.UnsupportedRegion", code == "FailedOperation.PhoneNumberParseFail":
		return channels.NewBadAddress(provider, code, msg)
	case code == "LimitExceeded.PhoneNumberThirtySecondLimit":
		return channels.NewRateLimited(provider, code, msg, channels.ScopeRecipient, 30*time.Second)
	case code == "LimitExceeded.PhoneNumberOneHourLimit":
		return channels.NewRateLimited(provider, code, msg, channels.ScopeRecipient, time.Hour)
	case code == "LimitExceeded.PhoneNumberDailyLimit", code == "LimitExceeded.PhoneNumberSameContentDailyLimit":
		return channels.NewRateLimited(provider, code, msg, channels.ScopeRecipient, 24*time.Hour)
	case code == "LimitExceeded.DailyLimit", code == "LimitExceeded.AppDailyLimit",
		code == "LimitExceeded.AppGlobalDailyLimit", code == "LimitExceeded.AppMainlandChinaDailyLimit":
		return channels.NewRateLimited(provider, code, msg, channels.ScopeProvider, time.Hour)
	case strings.HasPrefix(code, "RequestLimitExceeded"):
		return channels.NewRateLimited(provider, code, msg, channels.ScopeProvider, time.Second)
	case strings.HasPrefix(code, "FailedOperation.TemplateIncorrectOrUnapproved"),
		strings.HasPrefix(code, "FailedOperation.SignatureIncorrectOrUnapproved"),
		strings.HasPrefix(code, "FailedOperation.MissingTemplateToModify"),
		strings.HasPrefix(code, "InvalidParameterValue.TemplateParameter"),
		code == "FailedOperation.ContainSensitiveWord", code == "InvalidParameterValue.ContentLengthLimit",
		code == "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber":
		return channels.NewPermanent(provider, code, msg, channels.ErrInvalidMessage)
	default:
		// InternalError.*, AuthFailure.*, FailedOperation.InsufficientBalanceInSmsPackage, …
		return channels.NewTemporary(provider, code, msg, nil)
	}
}

type tencentReport struct {
	UserReceiveTime string `json:"user_receive_time"`
	NationCode      string `json:"nationcode"`
	Mobile          string `json:"mobile"`
	ReportStatus    string `json:"report_status"`
	ErrMsg          string `json:"errmsg"`
	Description     string `json:"description"`
	SID             string `json:"sid"`
}

// ParseReceipts parses a status callback (a JSON array), whose URL carries our token.
// Tencent's receipt carries the SerialNo (sid), not the SessionContext: delivery
// matches it by provider message id.
func (t *Tencent) ParseReceipts(r *http.Request) ([]channels.Receipt, error) {
	if err := channels.CheckToken(r, t.cfg.WebhookToken.Reveal()); err != nil {
		return nil, err
	}
	body, err := channels.ReadBody(r, t.cfg.MaxBody)
	if err != nil {
		return nil, err
	}
	var reps []tencentReport
	if err := json.Unmarshal(body, &reps); err != nil {
		return nil, channels.Malformed("status callback: want a JSON array: %v", err)
	}
	out := make([]channels.Receipt, 0, len(reps))
	for i, rp := range reps {
		if rp.SID == "" {
			return nil, channels.Malformed("status callback[%d]: no sid", i)
		}
		rc := channels.Receipt{
			Provider: t.cfg.Name, ProviderMessageID: rp.SID, To: "+" + cmpOr(rp.NationCode, "86") + rp.Mobile,
			Status: channels.StatusDelivered, Code: rp.ErrMsg, Detail: rp.Description, At: parseShanghai(rp.UserReceiveTime),
		}
		if !strings.EqualFold(rp.ReportStatus, "SUCCESS") {
			rc.Status = channels.StatusFailed
			rc = failedReceipt(rc)
		}
		out = append(out, rc)
	}
	return out, nil
}

type tencentReply struct {
	Extend     string `json:"extend"`
	Mobile     string `json:"mobile"`
	NationCode string `json:"nationcode"`
	Sign       string `json:"sign"`
	Text       string `json:"text"`
	Time       int64  `json:"time"`
}

// ParseInbound parses a reply callback (one JSON object, or an array of them).
func (t *Tencent) ParseInbound(r *http.Request) ([]channels.Inbound, error) {
	if err := channels.CheckToken(r, t.cfg.WebhookToken.Reveal()); err != nil {
		return nil, err
	}
	body, err := channels.ReadBody(r, t.cfg.MaxBody)
	if err != nil {
		return nil, err
	}
	var reps []tencentReply
	trim := bytes.TrimSpace(body)
	if len(trim) > 0 && trim[0] == '[' {
		err = json.Unmarshal(trim, &reps)
	} else {
		var one tencentReply
		err = json.Unmarshal(trim, &one)
		reps = []tencentReply{one}
	}
	if err != nil {
		return nil, channels.Malformed("reply callback: %v", err)
	}
	out := make([]channels.Inbound, 0, len(reps))
	for i, rp := range reps {
		if rp.Mobile == "" {
			return nil, channels.Malformed("reply callback[%d]: no mobile", i)
		}
		out = append(out, channels.Inbound{
			Provider: t.cfg.Name, Kind: channels.InboundReply,
			From: channels.Address{Channel: channels.SMS, Value: "+" + cmpOr(rp.NationCode, "86") + rp.Mobile},
			Text: rp.Text, Unsubscribe: channels.IsUnsubscribeReply(rp.Text), At: time.Unix(rp.Time, 0),
		})
	}
	return out, nil
}

// Ack answers a callback as Tencent expects.
func (t *Tencent) Ack(w http.ResponseWriter) { writeJSON(w, `{"result":0,"errmsg":"OK"}`) }
