package wechat

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	workcfg "github.com/silenceper/wechat/v2/work/config"
	workctx "github.com/silenceper/wechat/v2/work/context"
	workmsg "github.com/silenceper/wechat/v2/work/message"

	"carillon/channels"
	"carillon/internal/pii"
)

// WeComConfig configures a WeCom (企业微信) application.
type WeComConfig struct {
	Name       string
	Endpoint   string // default https://qyapi.weixin.qq.com
	CorpID     string
	CorpSecret channels.Secret
	AgentID    string
	Pool       *pgxpool.Pool
	Timeout    time.Duration
	Now        func() time.Time
}

// WeCom sends application messages (text, textcard, markdown) to managers by WeCom
// user id. WeCom answers a send synchronously and pushes no receipt: the Result
// carries the final receipt.
type WeCom struct {
	cfg      WeComConfig
	endpoint *url.URL
	tokens   *TokenStore
	handle   *handle
	client   *workmsg.Client
}

// NewWeCom returns a WeCom adapter.
func NewWeCom(cfg WeComConfig) (*WeCom, error) {
	if cfg.Name == "" {
		cfg.Name = channels.KindWeCom
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = channels.DefaultWeComURL
	}
	if cfg.CorpID == "" || cfg.CorpSecret.IsZero() || cfg.Pool == nil {
		return nil, fmt.Errorf("wecom %s: corp id, corp secret and a database pool are required", cfg.Name)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = channels.DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ep, err := url.Parse(strings.TrimRight(cfg.Endpoint, "/"))
	if err != nil || ep.Host == "" {
		return nil, fmt.Errorf("wecom %s: endpoint %q is not a URL", cfg.Name, cfg.Endpoint)
	}
	InstallHTTPClient()
	hc := &http.Client{Timeout: cfg.Timeout}
	w := &WeCom{cfg: cfg, endpoint: ep, handle: &handle{}}
	w.tokens = NewTokenStore(cfg.Pool, "wecom:"+cfg.CorpID+":"+cfg.AgentID, func(ctx context.Context) (string, time.Duration, error) {
		q := url.Values{"corpid": {cfg.CorpID}, "corpsecret": {cfg.CorpSecret.Reveal()}}
		return fetchJSON(ctx, hc, ep.String()+"/cgi-bin/gettoken?"+q.Encode())
	})
	// The same wiring work.NewWork does, with our token as the AccessTokenHandle
	// (GetContext().AccessTokenHandle) instead of its in-memory cache.
	wctx := &workctx.Context{Config: &workcfg.Config{CorpID: cfg.CorpID, AgentID: cfg.AgentID}, AccessTokenHandle: w.handle}
	w.client = workmsg.NewClient(wctx)
	return w, nil
}

// Name returns the configured provider name.
func (w *WeCom) Name() string { return w.cfg.Name }

// Channel is WeCom.
func (w *WeCom) Channel() channels.Channel { return channels.WeCom }

// Tokens returns the adapter's token store.
func (w *WeCom) Tokens() *TokenStore { return w.tokens }

type textCard struct {
	Title       string `json:"title"`
	Description string `json:"description"`
	URL         string `json:"url"`
	BtnTxt      string `json:"btntxt,omitempty"`
}

type sendTextCard struct {
	*workmsg.SendRequestCommon
	TextCard textCard `json:"textcard"`
}

type sendMarkdown struct {
	*workmsg.SendRequestCommon
	Markdown workmsg.TextField `json:"markdown"`
}

// Send sends an application message to the WeCom user id m.To.Value.
func (w *WeCom) Send(ctx context.Context, m channels.Message) (channels.Result, error) {
	common := &workmsg.SendRequestCommon{ToUser: m.To.Value, AgentID: w.cfg.AgentID}
	kind := "text"
	if m.WeChat != nil && m.WeChat.MsgType != "" {
		kind = m.WeChat.MsgType
	}
	if m.To.Value == "" || strings.ContainsAny(m.To.Value, "|@") {
		return channels.Result{}, channels.NewPermanent(w.cfg.Name, "bad_recipient", "one WeCom user id per message", channels.ErrInvalidMessage)
	}
	var api string
	var req any
	switch kind {
	case "text":
		if m.Text == "" {
			return channels.Result{}, channels.NewPermanent(w.cfg.Name, "44004", "empty text", channels.ErrInvalidMessage)
		}
		common.MsgType = "text"
		api, req = "MessageSendText", workmsg.SendTextRequest{SendRequestCommon: common, Text: workmsg.TextField{Content: m.Text}}
	case "textcard":
		p := m.WeChat
		if p.Title == "" || p.Description == "" || p.URL == "" {
			return channels.Result{}, channels.NewPermanent(w.cfg.Name, "textcard", "title, description and url are required", channels.ErrInvalidMessage)
		}
		common.MsgType = "textcard"
		api, req = "MessageSendTextCard", sendTextCard{SendRequestCommon: common,
			TextCard: textCard{Title: p.Title, Description: p.Description, URL: p.URL, BtnTxt: p.ButtonText}}
	case "markdown":
		if m.Text == "" {
			return channels.Result{}, channels.NewPermanent(w.cfg.Name, "44004", "empty markdown", channels.ErrInvalidMessage)
		}
		common.MsgType = "markdown"
		api, req = "MessageSendMarkdown", sendMarkdown{SendRequestCommon: common, Markdown: workmsg.TextField{Content: m.Text}}
	default:
		return channels.Result{}, channels.NewPermanent(w.cfg.Name, "40008", "message type "+kind+" not supported", channels.ErrInvalidMessage)
	}
	for attempt := 0; ; attempt++ {
		tok, err := w.tokens.Token(ctx)
		if err != nil {
			return channels.Result{}, channels.NewTemporary(w.cfg.Name, "access_token", "", err)
		}
		route(tok, w.endpoint)
		w.handle.set(tok)
		resp, err := w.client.Send(api, req)
		if err == nil && resp != nil && resp.InvalidUser == "" {
			now := w.cfg.Now()
			return channels.Result{Provider: w.cfg.Name, ProviderMessageID: resp.MsgID, Accepted: now,
				Receipt: &channels.Receipt{Provider: w.cfg.Name, ProviderMessageID: resp.MsgID, MessageID: m.ID,
					To: m.To.Value, Status: channels.StatusDelivered, At: now}}, nil
		}
		if err == nil {
			return channels.Result{}, channels.NewBadAddress(w.cfg.Name, "invaliduser", "invalid user "+pii.OpenID(m.To.Value))
		}
		code, text := errCode(err)
		if isTokenError(code) && attempt == 0 {
			if ierr := w.tokens.Invalidate(ctx, tok); ierr != nil {
				return channels.Result{}, channels.NewTemporary(w.cfg.Name, "access_token", "", ierr)
			}
			continue
		}
		return channels.Result{}, classifyWeCom(w.cfg.Name, code, strings.ReplaceAll(text, m.To.Value, pii.OpenID(m.To.Value)), err)
	}
}

// classifyWeCom classifies a WeCom errcode (0 with err: a transport error).
func classifyWeCom(provider string, code int64, msg string, err error) error {
	c := fmt.Sprint(code)
	switch code {
	case 0:
		return channels.TransportError(provider, err)
	case 81013, 60111, 60103, 81011:
		// user & party & tag all invalid, user id not found, bad user id
		return channels.NewBadAddress(provider, c, msg)
	case 44004, 40008, 40058, 41009:
		return channels.NewPermanent(provider, c, msg, channels.ErrInvalidMessage)
	case 45009, 45033, 45047:
		return channels.NewRateLimited(provider, c, msg, channels.ScopeProvider, time.Second)
	}
	return channels.NewTemporary(provider, c, msg, nil)
}
