package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// tokens issues and checks access tokens like WeChat's token API.
type tokens struct {
	mu   sync.Mutex
	live map[string]time.Time
}

func (t *tokens) issue() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	t.mu.Lock()
	if t.live == nil {
		t.live = map[string]time.Time{}
	}
	t.live[tok] = time.Now().Add(2 * time.Hour)
	t.mu.Unlock()
	return tok
}

// check returns 0, 40001 (invalid) or 42001 (expired).
func (t *tokens) check(tok string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	exp, ok := t.live[tok]
	switch {
	case !ok:
		return 40001
	case time.Now().After(exp):
		return 42001
	}
	return 0
}

// expireAll makes every issued token expired (42001), as when WeChat rotates them.
func (t *tokens) expireAll() {
	t.mu.Lock()
	for k := range t.live {
		t.live[k] = time.Now().Add(-time.Second)
	}
	t.mu.Unlock()
}

func wxErr(w http.ResponseWriter, code int, msg string) {
	writeBody(w, http.StatusOK, "application/json; encoding=utf-8", jsonBody(map[string]any{"errcode": code, "errmsg": msg}))
}

// ---------------------------------------------------------------- Official Account

// WeChatOA simulates the Official Account API (token, template send) and pushes
// TEMPLATESENDJOBFINISH events, signed with the server Token (and encrypted with
// the EncodingAESKey in AES mode), to the receipt URL.
type WeChatOA struct {
	*core
	tokens tokens
	issued int
}

// StartWeChatOA starts an Official Account sandbox; KeyID is the AppID.
func StartWeChatOA(ctx context.Context, o Options) (*WeChatOA, error) {
	s := &WeChatOA{core: newCore("wechat_oa", o)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/token", s.token)
	mux.HandleFunc("POST /cgi-bin/message/template/send", s.send)
	return s, s.listen(mux)
}

// ExpireTokens expires every issued access token (the next send gets 42001).
func (s *WeChatOA) ExpireTokens() { s.tokens.expireAll() }

// TokensIssued is how many access tokens the sandbox handed out.
func (s *WeChatOA) TokensIssued() int {
	s.tokens.mu.Lock()
	defer s.tokens.mu.Unlock()
	return len(s.tokens.live)
}

func (s *WeChatOA) token(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("grant_type") != "client_credential" || q.Get("appid") != s.opts.KeyID {
		wxErr(w, 40013, "invalid appid")
		return
	}
	if q.Get("secret") != s.opts.Secret {
		wxErr(w, 40125, "invalid appsecret")
		return
	}
	writeBody(w, http.StatusOK, "application/json", jsonBody(map[string]any{"access_token": s.tokens.issue(), "expires_in": 7200}))
}

func (s *WeChatOA) send(w http.ResponseWriter, r *http.Request) {
	if c := s.tokens.check(r.URL.Query().Get("access_token")); c != 0 {
		wxErr(w, c, map[int]string{40001: "invalid credential, access_token is invalid or not latest", 42001: "access_token expired"}[c])
		return
	}
	var req struct {
		ToUser      string                       `json:"touser"`
		TemplateID  string                       `json:"template_id"`
		Data        map[string]map[string]string `json:"data"`
		ClientMsgID string                       `json:"client_msg_id"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxRequest)).Decode(&req); err != nil {
		wxErr(w, 47001, "data format error")
		return
	}
	if req.ToUser == "" {
		wxErr(w, 40003, "invalid openid")
		return
	}
	if req.TemplateID == "" {
		wxErr(w, 40037, "invalid template_id")
		return
	}
	for k, v := range req.Data {
		if strings.HasPrefix(k, "thing") && len([]rune(v["value"])) > 20 {
			wxErr(w, 47003, "argument invalid! data."+k+".value exceeds limit")
			return
		}
	}
	id := 2000000000 + s.nextID()
	d := Delivery{Provider: s.opts.Name, MessageID: req.ClientMsgID, ProviderMessageID: strconv.FormatInt(id, 10), To: req.ToUser,
		Content: req.TemplateID, At: time.Now()}
	switch s.decide(r.Context(), d) {
	case throttled:
		wxErr(w, 45009, "reach max api daily quota limit")
		return
	case tempFail:
		wxErr(w, -1, "system error")
		return
	case permFail, recipientLimited:
		wxErr(w, 43004, "require subscribe")
		return
	}
	writeBody(w, http.StatusOK, "application/json", jsonBody(map[string]any{"errcode": 0, "errmsg": "ok", "msgid": id}))
	status := "success"
	if !s.delivered() {
		status = "failed:user block"
	}
	xmlBody := fmt.Sprintf("<xml><ToUserName><![CDATA[gh_sandbox]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"+
		"<CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[TEMPLATESENDJOBFINISH]]></Event>"+
		"<MsgID>%d</MsgID><Status><![CDATA[%s]]></Status></xml>", req.ToUser, s.opts.Now().Unix(), id, status)
	if p, err := s.signedPush(s.opts.Behavior.ReceiptURL, req.ToUser, xmlBody); err == nil {
		s.enqueue(p)
	}
}

// signedPush builds a push of xmlBody to target as WeChat sends it: plain mode with
// signature, or AES mode with msg_signature and an encrypted body.
func (s *WeChatOA) signedPush(target, openid, xmlBody string) (push, error) {
	if target == "" {
		return push{}, fmt.Errorf("no receipt url")
	}
	u, err := url.Parse(target)
	if err != nil {
		return push{}, err
	}
	ts := strconv.FormatInt(s.opts.Now().Unix(), 10)
	nonce := strconv.FormatInt(s.nextID()*7919, 10)
	q := u.Query()
	q.Set("timestamp", ts)
	q.Set("nonce", nonce)
	q.Set("openid", openid)
	q.Set("signature", util.Signature(s.opts.Token, ts, nonce))
	body := []byte(xmlBody)
	if s.opts.AESKey != "" {
		random := make([]byte, 16)
		_, _ = rand.Read(random)
		for i := range random {
			random[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[int(random[i])%36]
		}
		enc, err := util.EncryptMsg(random, body, s.opts.KeyID, s.opts.AESKey)
		if err != nil {
			return push{}, err
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", util.Signature(s.opts.Token, ts, nonce, string(enc)))
		body = []byte(fmt.Sprintf("<xml><ToUserName><![CDATA[gh_sandbox]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt></xml>", enc))
	}
	u.RawQuery = q.Encode()
	return push{url: u.String(), ctype: "text/xml", body: body}, nil
}

// Follow pushes a subscribe (follow=true) or unsubscribe event for openid to url.
func (s *WeChatOA) Follow(ctx context.Context, target, openid string, follow bool) error {
	ev := "unsubscribe"
	if follow {
		ev = "subscribe"
	}
	p, err := s.signedPush(target, openid, fmt.Sprintf("<xml><ToUserName><![CDATA[gh_sandbox]]></ToUserName>"+
		"<FromUserName><![CDATA[%s]]></FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType>"+
		"<Event><![CDATA[%s]]></Event></xml>", openid, time.Now().Unix(), ev))
	if err != nil {
		return err
	}
	return postOnce(ctx, p.url, p.ctype, p.body, nil)
}

// ---------------------------------------------------------------- WeCom

// WeCom simulates the WeCom API (gettoken, message/send). It pushes nothing: WeCom
// answers a send synchronously.
type WeCom struct {
	*core
	tokens tokens
}

// StartWeCom starts a WeCom sandbox; KeyID is the CorpID.
func StartWeCom(ctx context.Context, o Options) (*WeCom, error) {
	s := &WeCom{core: newCore("wecom", o)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/gettoken", s.token)
	mux.HandleFunc("POST /cgi-bin/message/send", s.send)
	return s, s.listen(mux)
}

// ExpireTokens expires every issued access token.
func (s *WeCom) ExpireTokens() { s.tokens.expireAll() }

func (s *WeCom) token(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("corpid") != s.opts.KeyID {
		wxErr(w, 40013, "invalid corpid")
		return
	}
	if q.Get("corpsecret") != s.opts.Secret {
		wxErr(w, 40001, "invalid credential")
		return
	}
	writeBody(w, http.StatusOK, "application/json", jsonBody(map[string]any{"errcode": 0, "errmsg": "ok",
		"access_token": s.tokens.issue(), "expires_in": 7200}))
}

func (s *WeCom) send(w http.ResponseWriter, r *http.Request) {
	if c := s.tokens.check(r.URL.Query().Get("access_token")); c != 0 {
		wxErr(w, c, "invalid access_token")
		return
	}
	var req map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, maxRequest)).Decode(&req); err != nil {
		wxErr(w, 40058, "invalid json")
		return
	}
	to, _ := req["touser"].(string)
	kind, _ := req["msgtype"].(string)
	body, ok := req[kind].(map[string]any)
	switch {
	case kind != "text" && kind != "textcard" && kind != "markdown":
		wxErr(w, 40008, "invalid message type")
		return
	case !ok:
		wxErr(w, 44004, "empty content")
		return
	case to == "":
		wxErr(w, 81013, "user & party & tag all invalid")
		return
	}
	id := fmt.Sprintf("wecom-%d", s.nextID())
	content, _ := json.Marshal(body)
	d := Delivery{Provider: s.opts.Name, ProviderMessageID: id, To: to, Content: kind + " " + string(content), At: time.Now()}
	switch s.decide(r.Context(), d) {
	case throttled:
		wxErr(w, 45033, "api concurrent out of limit")
		return
	case tempFail:
		wxErr(w, -1, "system busy")
		return
	case permFail, recipientLimited:
		writeBody(w, http.StatusOK, "application/json", jsonBody(map[string]any{"errcode": 81013,
			"errmsg": "user & party & tag all invalid", "invaliduser": to}))
		return
	}
	writeBody(w, http.StatusOK, "application/json", jsonBody(map[string]any{"errcode": 0, "errmsg": "ok",
		"invaliduser": "", "msgid": id}))
}
