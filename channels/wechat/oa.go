package wechat

import (
	"context"
	"crypto/subtle"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"
	oacfg "github.com/silenceper/wechat/v2/officialaccount/config"
	oactx "github.com/silenceper/wechat/v2/officialaccount/context"
	"github.com/silenceper/wechat/v2/officialaccount/message"
	"github.com/silenceper/wechat/v2/util"

	"carillon/channels"
	"carillon/internal/pii"
)

// OAConfig configures a WeChat Official Account.
type OAConfig struct {
	Name      string
	Endpoint  string // default https://api.weixin.qq.com
	AppID     string
	AppSecret channels.Secret
	Token     channels.Secret // server Token, signs pushes
	AESKey    channels.Secret // EncodingAESKey; set in AES (safe) mode
	Pool      *pgxpool.Pool   // token store
	MaxBody   int64
	Timeout   time.Duration
	// PushMaxAge: a push (or URL check) whose signed timestamp is further than this
	// from Now, in the past or the future, is refused, and a push's nonce is refused
	// a second time while its timestamp is within it (default DefaultPushMaxAge, 5m).
	PushMaxAge time.Duration
	// Now is the clock pushes are checked against (default time.Now).
	Now func() time.Time
}

// OA sends template messages through a WeChat Official Account and parses its server
// pushes (TEMPLATESENDJOBFINISH receipts, subscribe/unsubscribe events).
type OA struct {
	cfg      OAConfig
	endpoint *url.URL
	tokens   *TokenStore
	handle   *handle
	tpl      *message.Template
	guard    *PushGuard
}

// NewOA returns an Official Account adapter.
func NewOA(cfg OAConfig) (*OA, error) {
	if cfg.Name == "" {
		cfg.Name = channels.KindWeChatOA
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = channels.DefaultWeChatURL
	}
	if cfg.AppID == "" || cfg.AppSecret.IsZero() || cfg.Pool == nil {
		return nil, fmt.Errorf("wechat_oa %s: app id, app secret and a database pool are required", cfg.Name)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = channels.DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ep, err := url.Parse(strings.TrimRight(cfg.Endpoint, "/"))
	if err != nil || ep.Host == "" {
		return nil, fmt.Errorf("wechat_oa %s: endpoint %q is not a URL", cfg.Name, cfg.Endpoint)
	}
	InstallHTTPClient()
	hc := &http.Client{Timeout: cfg.Timeout}
	o := &OA{cfg: cfg, endpoint: ep, handle: &handle{},
		guard: NewPushGuard(cfg.Pool, "wechat_oa:"+cfg.AppID, cfg.PushMaxAge, cfg.Now)}
	o.tokens = NewTokenStore(cfg.Pool, "wechat_oa:"+cfg.AppID, func(ctx context.Context) (string, time.Duration, error) {
		q := url.Values{"grant_type": {"client_credential"}, "appid": {cfg.AppID}, "secret": {cfg.AppSecret.Reveal()}}
		return fetchJSON(ctx, hc, ep.String()+"/cgi-bin/token?"+q.Encode())
	})
	// silenceper's context carries our Postgres-backed token as its AccessTokenHandle.
	octx := &oactx.Context{Config: &oacfg.Config{AppID: cfg.AppID, Token: cfg.Token.Reveal(), EncodingAESKey: cfg.AESKey.Reveal()},
		AccessTokenHandle: o.handle}
	o.tpl = message.NewTemplate(octx)
	return o, nil
}

// Name returns the configured provider name.
func (o *OA) Name() string { return o.cfg.Name }

// Channel is WeChat.
func (o *OA) Channel() channels.Channel { return channels.WeChat }

// Tokens returns the adapter's token store.
func (o *OA) Tokens() *TokenStore { return o.tokens }

// fieldLimits are WeChat's limits (in characters) per typed template field.
var fieldLimits = map[string]int{
	"thing": 20, "character_string": 32, "number": 32, "letter": 32, "symbol": 5, "amount": 32,
	"phrase": 5, "name": 20, "phone_number": 17, "car_number": 8, "time": 32, "date": 32, "const": 20,
}

var fieldKey = regexp.MustCompile(`^([a-z_]+?)(\d+)$`)

// CheckFields checks typed template fields against WeChat's length limits before
// sending (WeChat would refuse them with errcode 47003).
func CheckFields(fields []channels.WeChatField) error {
	for _, f := range fields {
		m := fieldKey.FindStringSubmatch(f.Key)
		if m == nil {
			return fmt.Errorf("field %q: key must be a type and a number, like thing1", f.Key)
		}
		limit, ok := fieldLimits[m[1]]
		if !ok {
			return fmt.Errorf("field %q: unknown type %q", f.Key, m[1])
		}
		if n := utf8.RuneCountInString(f.Value); n > limit {
			return fmt.Errorf("field %q: %d characters, %s allows %d", f.Key, n, m[1], limit)
		}
		if f.Value == "" {
			return fmt.Errorf("field %q: empty", f.Key)
		}
		if m[1] == "name" && hasHan(f.Value) && utf8.RuneCountInString(f.Value) > 10 {
			return fmt.Errorf("field %q: a Chinese name allows 10 characters", f.Key)
		}
	}
	return nil
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4e00 && r <= 0x9fff {
			return true
		}
	}
	return false
}

// Send sends m.WeChat as a template message to the openid m.To.Value.
func (o *OA) Send(ctx context.Context, m channels.Message) (channels.Result, error) {
	p := m.WeChat
	if p == nil || p.TemplateID == "" {
		return channels.Result{}, channels.NewPermanent(o.cfg.Name, "no_template", "a template message needs a template id", channels.ErrInvalidMessage)
	}
	if m.Purpose == channels.PurposeMarketing {
		return channels.Result{}, channels.NewPermanent(o.cfg.Name, "purpose", "WeChat forbids marketing by template message", channels.ErrPurpose)
	}
	if err := CheckFields(p.Fields); err != nil {
		return channels.Result{}, channels.NewPermanent(o.cfg.Name, "47003", err.Error(), channels.ErrInvalidMessage)
	}
	msg := &message.TemplateMessage{ToUser: m.To.Value, TemplateID: p.TemplateID, URL: p.URL, ClientMsgID: m.ID,
		Data: make(map[string]*message.TemplateDataItem, len(p.Fields))}
	for _, f := range p.Fields {
		msg.Data[f.Key] = &message.TemplateDataItem{Value: f.Value, Color: f.Color}
	}
	if p.MiniProgram != nil {
		msg.MiniProgram.AppID, msg.MiniProgram.PagePath = p.MiniProgram.AppID, p.MiniProgram.PagePath
	}
	for attempt := 0; ; attempt++ {
		tok, err := o.tokens.Token(ctx)
		if err != nil {
			return channels.Result{}, channels.NewTemporary(o.cfg.Name, "access_token", "", err)
		}
		route(tok, o.endpoint)
		o.handle.set(tok)
		id, err := o.tpl.Send(msg)
		if err == nil {
			return channels.Result{Provider: o.cfg.Name, ProviderMessageID: strconv.FormatInt(id, 10), Accepted: o.cfg.Now()}, nil
		}
		code, text := errCode(err)
		if isTokenError(code) && attempt == 0 {
			if ierr := o.tokens.Invalidate(ctx, tok); ierr != nil {
				return channels.Result{}, channels.NewTemporary(o.cfg.Name, "access_token", "", ierr)
			}
			continue
		}
		return channels.Result{}, classifyOA(o.cfg.Name, code, strings.ReplaceAll(text, m.To.Value, pii.OpenID(m.To.Value)), err)
	}
}

var errcodeRE = regexp.MustCompile(`errcode=(-?\d+)\s*,\s*errmsg=(.*)$`)

// errCode extracts WeChat's errcode from silenceper's error (a *util.CommonError or
// the "errcode=…, errmsg=…" text of template Send); ok=false for transport errors.
func errCode(err error) (int64, string) {
	if ce, ok := err.(*util.CommonError); ok {
		return ce.ErrCode, ce.ErrMsg
	}
	if m := errcodeRE.FindStringSubmatch(err.Error()); m != nil {
		c, _ := strconv.ParseInt(m[1], 10, 64)
		return c, strings.TrimSpace(m[2])
	}
	return 0, ""
}

func isTokenError(code int64) bool { return code == 40001 || code == 42001 || code == 40014 }

// classifyOA classifies an Official Account errcode (0 with err: a transport error).
func classifyOA(provider string, code int64, msg string, err error) error {
	c := strconv.FormatInt(code, 10)
	switch code {
	case 0:
		return channels.TransportError(provider, err)
	case 40003, 43004, 43101, 43019:
		// invalid openid, user unfollowed, user refuses template messages, user blocked us
		return channels.NewBadAddress(provider, c, msg)
	case 40037, 47003, 40165, 41030, 47001, 44002:
		return channels.NewPermanent(provider, c, msg, channels.ErrInvalidMessage)
	case 45009:
		return channels.NewRateLimited(provider, c, msg, channels.ScopeProvider, time.Hour)
	case 45011, 45047:
		return channels.NewRateLimited(provider, c, msg, channels.ScopeProvider, time.Second)
	}
	return channels.NewTemporary(provider, c, msg, nil)
}

// ---------------------------------------------------------------- server pushes

// Event is one push to the Official Account's server URL.
type Event struct {
	message.MixMessage
}

// verify checks the push signature and freshness, records its nonce (a replay is
// refused) and returns the plain XML body. In AES mode (encrypt_type=aes) it checks
// msg_signature and decrypts.
func (o *OA) verify(r *http.Request) ([]byte, error) {
	q := r.URL.Query()
	at, err := o.guard.Fresh(q.Get("timestamp"))
	if q.Get("timestamp") != "" && err != nil {
		return nil, err
	}
	body, err := verifyPush(r, o.cfg.Token.Reveal(), o.cfg.AESKey.Reveal(), o.cfg.AppID, o.cfg.MaxBody)
	if err != nil {
		return nil, err
	}
	if err := o.guard.See(r.Context(), at, q.Get("nonce")); err != nil {
		return nil, err
	}
	return body, nil
}

// Forget removes the nonce of a verified push whose handling failed, so that
// WeChat's retry of it is not refused as a replay.
func (o *OA) Forget(r *http.Request) error {
	q := r.URL.Query()
	at, err := o.guard.Fresh(q.Get("timestamp"))
	if err != nil {
		return nil // never recorded
	}
	return o.guard.Forget(r.Context(), at, q.Get("nonce"))
}

func verifyPush(r *http.Request, token, aesKey, appID string, max int64) ([]byte, error) {
	q := r.URL.Query()
	ts, nonce := q.Get("timestamp"), q.Get("nonce")
	if token == "" || ts == "" || nonce == "" {
		return nil, channels.Unauthorized("missing timestamp, nonce or token")
	}
	body, err := channels.ReadBody(r, max)
	if err != nil {
		return nil, err
	}
	if q.Get("encrypt_type") != "aes" {
		if aesKey != "" && q.Get("msg_signature") != "" {
			return nil, channels.Unauthorized("encrypted push without encrypt_type=aes")
		}
		if !eq(util.Signature(token, ts, nonce), q.Get("signature")) {
			return nil, channels.Unauthorized("signature does not match")
		}
		return body, nil
	}
	if aesKey == "" {
		return nil, channels.Unauthorized("AES push but no EncodingAESKey configured")
	}
	var env message.EncryptedXMLMsg
	if err := xml.Unmarshal(body, &env); err != nil || env.EncryptedMsg == "" {
		return nil, channels.Malformed("encrypted push: no Encrypt element")
	}
	if !eq(util.Signature(token, ts, nonce, env.EncryptedMsg), q.Get("msg_signature")) {
		return nil, channels.Unauthorized("msg_signature does not match")
	}
	_, plain, err := util.DecryptMsg(appID, env.EncryptedMsg, aesKey)
	if err != nil {
		return nil, channels.Unauthorized("cannot decrypt push: " + err.Error())
	}
	return plain, nil
}

// ParseEvents verifies a push and returns its receipt or inbound event.
func (o *OA) ParseEvents(r *http.Request) ([]channels.Receipt, []channels.Inbound, error) {
	body, err := o.verify(r)
	if err != nil {
		return nil, nil, err
	}
	var ev message.MixMessage
	if err := xml.Unmarshal(body, &ev); err != nil {
		return nil, nil, channels.Malformed("push: %v", err)
	}
	openid := string(ev.FromUserName)
	if openid == "" || ev.MsgType == "" {
		return nil, nil, channels.Malformed("push: FromUserName and MsgType are required")
	}
	at := time.Unix(ev.CreateTime, 0)
	from := channels.Address{Channel: channels.WeChat, Value: openid}
	switch {
	case ev.Event == message.EventTemplateSendJobFinish:
		st, perm := channels.StatusDelivered, false
		if ev.Status != "success" {
			st = channels.StatusFailed
			perm = strings.Contains(ev.Status, "user block")
		}
		return []channels.Receipt{{Provider: o.cfg.Name, ProviderMessageID: strconv.FormatInt(ev.TemplateMsgID, 10),
			To: openid, Status: st, Permanent: perm, Code: ev.Status, At: at}}, nil, nil
	case ev.Event == message.EventSubscribe:
		return nil, []channels.Inbound{{Provider: o.cfg.Name, Kind: channels.InboundFollow, From: from, At: at}}, nil
	case ev.Event == message.EventUnsubscribe:
		return nil, []channels.Inbound{{Provider: o.cfg.Name, Kind: channels.InboundUnfollow, From: from, Unsubscribe: true, At: at}}, nil
	case ev.MsgType == message.MsgTypeText:
		return nil, []channels.Inbound{{Provider: o.cfg.Name, Kind: channels.InboundReply, From: from, Text: ev.Content,
			Unsubscribe: channels.IsUnsubscribeReply(ev.Content), ProviderID: strconv.FormatInt(ev.MsgID, 10), At: at}}, nil
	}
	return nil, nil, nil // other events are acknowledged and ignored
}

// ParseReceipts returns the receipts of a push (TEMPLATESENDJOBFINISH).
func (o *OA) ParseReceipts(r *http.Request) ([]channels.Receipt, error) {
	rs, _, err := o.ParseEvents(r)
	return rs, err
}

// ParseInbound returns the events of a push (subscribe, unsubscribe, text).
func (o *OA) ParseInbound(r *http.Request) ([]channels.Inbound, error) {
	_, in, err := o.ParseEvents(r)
	return in, err
}

// VerifyURL answers WeChat's server URL check (GET with echostr): it returns the
// echostr to write back when the signature matches and the timestamp is fresh.
func (o *OA) VerifyURL(r *http.Request) (string, error) {
	q := r.URL.Query()
	if !eq(util.Signature(o.cfg.Token.Reveal(), q.Get("timestamp"), q.Get("nonce")), q.Get("signature")) {
		return "", channels.Unauthorized("signature does not match")
	}
	if _, err := o.guard.Fresh(q.Get("timestamp")); err != nil {
		return "", err
	}
	return q.Get("echostr"), nil
}

// Ack answers a push: "success" tells WeChat not to retry.
func (o *OA) Ack(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("success"))
}

func eq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
