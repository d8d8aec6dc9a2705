package sms

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

// AliyunConfig configures an Aliyun SMS adapter.
type AliyunConfig struct {
	Name            string // configured provider name
	Endpoint        string // default channels.DefaultAliyunURL
	AccessKeyID     string
	AccessKeySecret channels.Secret
	Region          string          // default cn-hangzhou
	SignName        string          // default sign name
	WebhookToken    channels.Secret // token our SmsReport/SmsUp URLs carry
	MaxBody         int64
	Timeout         time.Duration
	HTTPClient      *http.Client
	Logger          *slog.Logger
	Now             func() time.Time
}

// Aliyun sends through Aliyun SMS (dysmsapi, 2017-05-25) over plain HTTP with the
// RPC signature, and parses its SmsReport and SmsUp pushes.
type Aliyun struct {
	cfg AliyunConfig
	hc  *http.Client
}

// NewAliyun returns an Aliyun SMS adapter.
func NewAliyun(cfg AliyunConfig) (*Aliyun, error) {
	if cfg.Name == "" {
		cfg.Name = channels.KindAliyun
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = channels.DefaultAliyunURL
	}
	if cfg.Region == "" {
		cfg.Region = channels.DefaultAliyunRegion
	}
	if cfg.AccessKeyID == "" || cfg.AccessKeySecret.IsZero() {
		return nil, fmt.Errorf("aliyun %s: access key id and secret are required", cfg.Name)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Aliyun{cfg: cfg, hc: httpClient(cfg.HTTPClient, cfg.Timeout)}, nil
}

// Name returns the configured provider name.
func (a *Aliyun) Name() string { return a.cfg.Name }

// Channel is SMS.
func (a *Aliyun) Channel() channels.Channel { return channels.SMS }

type aliyunAnswer struct {
	Code      string `json:"Code"`
	Message   string `json:"Message"`
	BizID     string `json:"BizId"`
	RequestID string `json:"RequestId"`
}

// call is the wire client: one signed RPC POST.
func (a *Aliyun) call(ctx context.Context, action string, params url.Values) (aliyunAnswer, *http.Response, error) {
	params.Set("AccessKeyId", a.cfg.AccessKeyID)
	params.Set("Action", action)
	params.Set("Format", "JSON")
	params.Set("RegionId", a.cfg.Region)
	params.Set("SignatureMethod", "HMAC-SHA1")
	params.Set("SignatureNonce", nonce())
	params.Set("SignatureVersion", "1.0")
	params.Set("Timestamp", a.cfg.Now().UTC().Format("2006-01-02T15:04:05Z"))
	params.Set("Version", "2017-05-25")
	params.Set("Signature", sign.AliyunRPC(http.MethodPost, params, a.cfg.AccessKeySecret.Reveal()))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(a.cfg.Endpoint, "/")+"/", strings.NewReader(params.Encode()))
	if err != nil {
		return aliyunAnswer{}, nil, fmt.Errorf("aliyun: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body, err := roundTrip(ctx, a.hc, a.cfg.Name, req)
	if err != nil {
		return aliyunAnswer{}, nil, err
	}
	var ans aliyunAnswer
	if err := json.Unmarshal(body, &ans); err != nil || ans.Code == "" {
		return aliyunAnswer{}, resp, channels.HTTPStatusError(a.cfg.Name, resp, body)
	}
	return ans, resp, nil
}

// Send sends m's approved template to m.To (OutId = m.ID).
func (a *Aliyun) Send(ctx context.Context, m channels.Message) (channels.Result, error) {
	if err := requireTemplate(a.cfg.Name, m); err != nil {
		return channels.Result{}, err
	}
	params := url.Values{}
	cc, n := nationalNumber(m.To.Value)
	if cc != "86" {
		n = "00" + n // Aliyun takes international numbers as 00 + country code + number
	}
	params.Set("PhoneNumbers", n)
	params.Set("SignName", cmpOr(m.Template.SignName, a.cfg.SignName))
	params.Set("TemplateCode", m.Template.Code)
	if len(m.Template.Params) > 0 {
		tp := make(map[string]string, len(m.Template.Params))
		for _, p := range m.Template.Params {
			tp[p.Name] = p.Value
		}
		b, _ := json.Marshal(tp)
		params.Set("TemplateParam", string(b))
	}
	if m.ID != "" {
		params.Set("OutId", m.ID)
	}
	ans, _, err := a.call(ctx, "SendSms", params)
	if err != nil {
		return channels.Result{}, err
	}
	if err := aliyunError(a.cfg.Name, ans.Code, ans.Message); err != nil {
		return channels.Result{}, err
	}
	return channels.Result{Provider: a.cfg.Name, ProviderMessageID: ans.BizID, Accepted: a.cfg.Now()}, nil
}

// aliyunError classifies an Aliyun SendSms answer code (nil for OK).
func aliyunError(provider, code, msg string) error {
	switch {
	case code == "OK":
		return nil
	case code == "isv.MOBILE_NUMBER_ILLEGAL", code == "isv.MOBILE_NUMBER_NOT_EXIST":
		e := channels.NewPermanent(provider, code, msg, nil)
		e.Address = true
		return e
	case code == "isv.BUSINESS_LIMIT_CONTROL":
		// Aliyun's per-number flow control: by minute, hour or day. Only this
		// recipient is limited.
		after := time.Minute
		switch {
		case strings.Contains(msg, "天"), strings.Contains(strings.ToLower(msg), "day"):
			after = 24 * time.Hour
		case strings.Contains(msg, "小时"), strings.Contains(strings.ToLower(msg), "hour"):
			after = time.Hour
		}
		return channels.NewRateLimited(provider, code, msg, channels.ScopeRecipient, after)
	case code == "isv.DAY_LIMIT_CONTROL":
		return channels.NewRateLimited(provider, code, msg, channels.ScopeProvider, time.Hour)
	case strings.HasPrefix(code, "Throttling"):
		return channels.NewRateLimited(provider, code, msg, channels.ScopeProvider, time.Second)
	case code == "isv.SMS_TEMPLATE_ILLEGAL", code == "isv.SMS_SIGNATURE_ILLEGAL",
		code == "isv.TEMPLATE_MISSING_PARAMETERS", code == "isv.INVALID_JSON_PARAM",
		code == "isv.PARAM_LENGTH_LIMIT", code == "isv.BLACK_KEY_CONTROL_LIMIT",
		code == "isv.INVALID_PARAMETERS", code == "isv.SMS_SIGN_ILLEGAL",
		code == "isv.TEMPLATE_PARAMS_ILLEGAL", code == "isv.MOBILE_COUNT_OVER_LIMIT":
		return channels.NewPermanent(provider, code, msg, channels.ErrInvalidMessage)
	default:
		// isp.SYSTEM_ERROR, ServiceUnavailable, isv.OUT_OF_SERVICE, isv.AMOUNT_NOT_ENOUGH,
		// SignatureDoesNotMatch, InvalidAccessKeyId.*: retry later or elsewhere.
		return channels.NewTemporary(provider, code, msg, nil)
	}
}

type aliyunReport struct {
	PhoneNumber string `json:"phone_number"`
	SendTime    string `json:"send_time"`
	ReportTime  string `json:"report_time"`
	Success     bool   `json:"success"`
	ErrCode     string `json:"err_code"`
	ErrMsg      string `json:"err_msg"`
	SmsSize     string `json:"sms_size"`
	BizID       string `json:"biz_id"`
	OutID       string `json:"out_id"`
}

// ParseReceipts parses an SmsReport push (a JSON array), whose URL carries our token.
func (a *Aliyun) ParseReceipts(r *http.Request) ([]channels.Receipt, error) {
	if err := channels.CheckToken(r, a.cfg.WebhookToken.Reveal()); err != nil {
		return nil, err
	}
	body, err := channels.ReadBody(r, a.cfg.MaxBody)
	if err != nil {
		return nil, err
	}
	var reps []aliyunReport
	if err := json.Unmarshal(body, &reps); err != nil {
		return nil, channels.Malformed("SmsReport: want a JSON array: %v", err)
	}
	out := make([]channels.Receipt, 0, len(reps))
	for i, rp := range reps {
		if rp.BizID == "" && rp.OutID == "" {
			return nil, channels.Malformed("SmsReport[%d]: neither biz_id nor out_id", i)
		}
		rc := channels.Receipt{
			Provider: a.cfg.Name, ProviderMessageID: rp.BizID, MessageID: rp.OutID, To: rp.PhoneNumber,
			Status: channels.StatusDelivered, Code: rp.ErrCode, Detail: rp.ErrMsg, At: parseShanghai(rp.ReportTime),
		}
		if !rp.Success {
			rc.Status = channels.StatusFailed
			rc = failedReceipt(rc)
		}
		out = append(out, rc)
	}
	return out, nil
}

type aliyunUp struct {
	PhoneNumber string `json:"phone_number"`
	SendTime    string `json:"send_time"`
	Content     string `json:"content"`
	SignName    string `json:"sign_name"`
	DestCode    string `json:"dest_code"`
	SequenceID  int64  `json:"sequence_id"`
}

// ParseInbound parses an SmsUp push (a JSON array of replies).
func (a *Aliyun) ParseInbound(r *http.Request) ([]channels.Inbound, error) {
	if err := channels.CheckToken(r, a.cfg.WebhookToken.Reveal()); err != nil {
		return nil, err
	}
	body, err := channels.ReadBody(r, a.cfg.MaxBody)
	if err != nil {
		return nil, err
	}
	var ups []aliyunUp
	if err := json.Unmarshal(body, &ups); err != nil {
		return nil, channels.Malformed("SmsUp: want a JSON array: %v", err)
	}
	out := make([]channels.Inbound, 0, len(ups))
	for i, u := range ups {
		if u.PhoneNumber == "" {
			return nil, channels.Malformed("SmsUp[%d]: no phone_number", i)
		}
		out = append(out, channels.Inbound{
			Provider: a.cfg.Name, Kind: channels.InboundReply,
			From: channels.Address{Channel: channels.SMS, Value: e164(u.PhoneNumber)},
			Text: u.Content, Unsubscribe: channels.IsUnsubscribeReply(u.Content),
			ProviderID: fmt.Sprint(u.SequenceID), At: parseShanghai(u.SendTime),
		})
	}
	return out, nil
}

// Ack answers a push as Aliyun expects.
func (a *Aliyun) Ack(w http.ResponseWriter) { writeJSON(w, `{"code":0,"msg":"接收成功"}`) }

// e164 turns a mainland national number into E.164.
func e164(n string) string {
	n = strings.TrimSpace(n)
	switch {
	case strings.HasPrefix(n, "+"):
		return n
	case strings.HasPrefix(n, "00"):
		return "+" + n[2:]
	case strings.HasPrefix(n, "86") && len(n) == 13:
		return "+" + n
	}
	return "+86" + n
}

func nonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
