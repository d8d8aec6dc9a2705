package wechat_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/silenceper/wechat/v2/util"
	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/channels/channelstest"
	"carillon/channels/sandbox"
	"carillon/channels/wechat"
	"carillon/internal/pgtest"
	"carillon/internal/testclock"
)

var secret = channels.NewSecret(channels.DefaultSandboxSecret)

// WeCom's published callback example (also used by WeChat's AES mode).
const (
	exToken   = "QDG6eK"
	exAESKey  = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	exAppID   = "wx5823bf96d3bd56c7"
	exTS      = "1409659813"
	exNonce   = "1372623149"
	exSig     = "477715d11cdb4164915debcba66cb864d751f3e6"
	exEncrypt = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)

func TestSignatureExample(t *testing.T) {
	t.Parallel()
	require.Equal(t, exSig, util.Signature(exToken, exTS, exNonce, exEncrypt))
	_, plain, err := util.DecryptMsg(exAppID, exEncrypt, exAESKey)
	require.NoError(t, err)
	require.Contains(t, string(plain), "<Content><![CDATA[hello]]></Content>")
}

// The published example pushed to the adapter in AES mode verifies and parses (a
// text message from "mycreate"); the same push with a wrong signature is refused.
func TestParsePublishedAESPush(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	exAt := time.Unix(1409659813, 0) // exTS: the example's own time
	oa, err := wechat.NewOA(wechat.OAConfig{AppID: exAppID, AppSecret: secret, Token: channels.NewSecret(exToken),
		AESKey: channels.NewSecret(exAESKey), Pool: db.Pool, Now: func() time.Time { return exAt }})
	require.NoError(t, err)
	body := "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[" + exEncrypt + "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
	req := func(sig string) *http.Request {
		return httptest.NewRequest(http.MethodPost, "/wechat?encrypt_type=aes&msg_signature="+sig+"&timestamp="+exTS+"&nonce="+exNonce, strings.NewReader(body))
	}
	in, err := oa.ParseInbound(req(exSig))
	require.NoError(t, err)
	require.Len(t, in, 1)
	require.Equal(t, channels.InboundReply, in[0].Kind)
	require.Equal(t, "mycreate", in[0].From.Value)
	require.Equal(t, "hello", in[0].Text)

	in, err = oa.ParseInbound(req(strings.Replace(exSig, "4", "5", 1)))
	require.ErrorIs(t, err, channels.ErrUnauthorized)
	require.Equal(t, 401, channels.StatusOf(err))
	require.Empty(t, in)

	in, err = oa.ParseInbound(req(exSig))
	require.ErrorIs(t, err, channels.ErrUnauthorized, "the same push again is a replay")
	require.Contains(t, err.Error(), "nonce")
	require.Empty(t, in)
}

func TestPushRefusals(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	clk := testclock.New(testclock.Base())
	oa, err := wechat.NewOA(wechat.OAConfig{AppID: "wxapp", AppSecret: secret, Token: channels.NewSecret("tok"), Pool: db.Pool, MaxBody: 1024, Now: clk.Now})
	require.NoError(t, err)
	ts := strconv.FormatInt(clk.Now().Unix(), 10)
	signed := func(nonce string) string {
		return "/wechat?timestamp=" + ts + "&nonce=" + nonce + "&signature=" + util.Signature("tok", ts, nonce)
	}
	cases := []struct {
		url, body string
		status    int
	}{
		{"/wechat?timestamp=" + ts + "&nonce=2&signature=bad", "<xml/>", 401},
		{"/wechat", "<xml/>", 401},
		{signed("n1"), "<xml><FromUserName>", 400},
		{signed("n2"), "<xml></xml>", 400},
		{signed("n3"), "<xml>" + strings.Repeat("x", 2000) + "</xml>", 413},
	}
	for _, c := range cases {
		rs, in, err := oa.ParseEvents(httptest.NewRequest(http.MethodPost, c.url, strings.NewReader(c.body)))
		require.Error(t, err, c.url)
		require.Empty(t, rs)
		require.Empty(t, in)
		require.Equal(t, c.status, channels.StatusOf(err), "%s: %v", c.url, err)
	}
	echo, err := oa.VerifyURL(httptest.NewRequest(http.MethodGet, signed("n4")+"&echostr=hi", nil))
	require.NoError(t, err)
	require.Equal(t, "hi", echo)
	_, err = oa.VerifyURL(httptest.NewRequest(http.MethodGet, "/wechat?timestamp=1&nonce=2&signature="+util.Signature("tok", "1", "2")+"&echostr=hi", nil))
	require.ErrorIs(t, err, channels.ErrUnauthorized, "a URL check signed in 1970")
}

// A correctly signed push is refused when its timestamp is older or further ahead
// than PushMaxAge, or when its nonce was already accepted within it; a fresh one is
// accepted, and the remembered nonces are pruned once they could not pass anyway.
func TestPushFreshnessAndReplay(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	clk := testclock.New(testclock.Base())
	oa, err := wechat.NewOA(wechat.OAConfig{AppID: "wxfresh", AppSecret: secret, Token: channels.NewSecret("tok"), Pool: db.Pool, Now: clk.Now})
	require.NoError(t, err)
	unfollow := "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oVICTIM0001abcd]]></FromUserName>" +
		"<CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event></xml>"
	push := func(at time.Time, nonce string) ([]channels.Inbound, error) {
		ts := strconv.FormatInt(at.Unix(), 10)
		u := "/wechat?timestamp=" + ts + "&nonce=" + nonce + "&signature=" + util.Signature("tok", ts, nonce)
		return oa.ParseInbound(httptest.NewRequest(http.MethodPost, u, strings.NewReader(unfollow)))
	}
	now := clk.Now()
	for _, at := range []time.Time{time.Unix(1, 0), now.Add(-wechat.DefaultPushMaxAge - time.Second), now.Add(wechat.DefaultPushMaxAge + time.Second)} {
		in, err := push(at, "n-old")
		require.ErrorIs(t, err, channels.ErrUnauthorized, "timestamp %s", at)
		require.Equal(t, 401, channels.StatusOf(err))
		require.Empty(t, in)
	}

	in, err := push(now.Add(-time.Minute), "n-1")
	require.NoError(t, err)
	require.Len(t, in, 1)
	require.Equal(t, channels.InboundUnfollow, in[0].Kind)

	in, err = push(now.Add(-time.Minute), "n-1")
	require.ErrorIs(t, err, channels.ErrUnauthorized, "a replayed nonce")
	require.Empty(t, in)
	in, err = push(now.Add(-time.Minute), "n-2")
	require.NoError(t, err, "another nonce is another push")
	require.Len(t, in, 1)

	// A nonce is remembered only while its push could pass the freshness check.
	clk.Advance(10 * time.Minute)
	in, err = push(clk.Now(), "n-3")
	require.NoError(t, err)
	require.Len(t, in, 1)
	var kept int
	require.NoError(t, db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM wechat_push_nonces`).Scan(&kept))
	require.Equal(t, 1, kept, "n-1 and n-2 pruned")

	// A per-provider window.
	strict, err := wechat.NewOA(wechat.OAConfig{AppID: "wxstrict", AppSecret: secret, Token: channels.NewSecret("tok"), Pool: db.Pool,
		PushMaxAge: 30 * time.Second, Now: clk.Now})
	require.NoError(t, err)
	ts := strconv.FormatInt(clk.Now().Add(-time.Minute).Unix(), 10)
	_, err = strict.ParseInbound(httptest.NewRequest(http.MethodPost, "/wechat?timestamp="+ts+"&nonce=s&signature="+util.Signature("tok", ts, "s"),
		strings.NewReader(unfollow)))
	require.ErrorIs(t, err, channels.ErrUnauthorized)
}

func startOA(t *testing.T, b channels.SandboxConfig, aesKey string) (*wechat.OA, *sandbox.WeChatOA) {
	sb, err := sandbox.StartWeChatOA(context.Background(), sandbox.Options{KeyID: "wx-sandbox", Behavior: b, AESKey: aesKey})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sb.Stop(ctx)
	})
	db := pgtest.New(t)
	oa, err := wechat.NewOA(wechat.OAConfig{Name: "oa-test", Endpoint: sb.URL(), AppID: "wx-sandbox", AppSecret: secret,
		Token: secret, AESKey: channels.NewSecret(aesKey), Pool: db.Pool})
	require.NoError(t, err)
	return oa, sb
}

func oaMessage(id string) channels.Message {
	return channels.Message{ID: id, To: channels.Address{Channel: channels.WeChat, Value: "oABCD1234openid5678"},
		Purpose: channels.PurposeService, WeChat: &channels.WeChatPayload{TemplateID: "tpl-birthday",
			Fields: []channels.WeChatField{{Key: "thing1", Value: "生日祝福"}, {Key: "time2", Value: "2024-10-01 09:00"}, {Key: "amount3", Value: "¥100.00"}}}}
}

func TestOASuite(t *testing.T) {
	t.Parallel()
	channelstest.Run(t, channelstest.Harness{
		Start: func(t *testing.T, b channels.SandboxConfig) channelstest.Env {
			oa, sb := startOA(t, b, "")
			return channelstest.Env{Sender: oa, Parser: oa, Recorder: sb.Recorder()}
		},
		Message: oaMessage,
	})
}

func TestOASuiteAESMode(t *testing.T) {
	t.Parallel()
	channelstest.Run(t, channelstest.Harness{
		Start: func(t *testing.T, b channels.SandboxConfig) channelstest.Env {
			oa, sb := startOA(t, b, exAESKey)
			return channelstest.Env{Sender: oa, Parser: oa, Recorder: sb.Recorder()}
		},
		Message: oaMessage,
	})
}

func TestWeComSuite(t *testing.T) {
	t.Parallel()
	channelstest.Run(t, channelstest.Harness{
		Start: func(t *testing.T, b channels.SandboxConfig) channelstest.Env {
			w, sb := startWeCom(t, b)
			return channelstest.Env{Sender: w, Recorder: sb.Recorder()}
		},
		Message: func(id string) channels.Message {
			return channels.Message{ID: id, To: channels.Address{Channel: channels.WeCom, Value: "zhangwei"},
				Purpose: channels.PurposeService, Text: "今天需回访 3 位客户"}
		},
		SyncReceipt: true,
		NoEcho:      true,
	})
}

func startWeCom(t *testing.T, b channels.SandboxConfig) (*wechat.WeCom, *sandbox.WeCom) {
	sb, err := sandbox.StartWeCom(context.Background(), sandbox.Options{KeyID: "ww-corp", Behavior: b})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sb.Stop(ctx)
	})
	db := pgtest.New(t)
	w, err := wechat.NewWeCom(wechat.WeComConfig{Name: "wecom-test", Endpoint: sb.URL(), CorpID: "ww-corp", CorpSecret: secret,
		AgentID: "1000002", Pool: db.Pool})
	require.NoError(t, err)
	return w, sb
}

func TestWeComTextcardAndMarkdown(t *testing.T) {
	t.Parallel()
	w, sb := startWeCom(t, channels.SandboxConfig{})
	to := channels.Address{Channel: channels.WeCom, Value: "zhangwei"}
	_, err := w.Send(context.Background(), channels.Message{ID: "c1", To: to, WeChat: &channels.WeChatPayload{MsgType: "textcard",
		Title: "回访提醒", Description: "A 类客户 2 位", URL: "https://carillon.example/revisits"}})
	require.NoError(t, err)
	_, err = w.Send(context.Background(), channels.Message{ID: "c2", To: to, Text: "**逾期** 1 位", WeChat: &channels.WeChatPayload{MsgType: "markdown"}})
	require.NoError(t, err)
	ds := sb.Recorder().Deliveries()
	require.Len(t, ds, 2)
	require.True(t, strings.HasPrefix(ds[0].Content, "textcard "), ds[0].Content)
	require.Contains(t, ds[0].Content, "回访提醒")
	require.True(t, strings.HasPrefix(ds[1].Content, "markdown "), ds[1].Content)
}

// An expired token (42001) is invalidated in Postgres, refreshed and the send retried.
func TestExpiredTokenIsRefreshed(t *testing.T) {
	t.Parallel()
	oa, sb := startOA(t, channels.SandboxConfig{}, "")
	ctx := context.Background()
	_, err := oa.Send(ctx, oaMessage("t1"))
	require.NoError(t, err)
	first, err := oa.Tokens().Token(ctx)
	require.NoError(t, err)
	sb.ExpireTokens()
	_, err = oa.Send(ctx, oaMessage("t2"))
	require.NoError(t, err)
	second, err := oa.Tokens().Token(ctx)
	require.NoError(t, err)
	require.NotEqual(t, first, second)
	require.Equal(t, 2, sb.TokensIssued())
	require.Equal(t, 2, sb.Recorder().Count())
}

// Two stores of one app (two nodes) share one token.
func TestTokenSharedAcrossNodes(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	calls := 0
	fetch := func(context.Context) (string, time.Duration, error) {
		calls++
		return "tok-" + string(rune('a'+calls)), time.Hour, nil
	}
	a := wechat.NewTokenStore(db.Pool, "wechat_oa:x", fetch)
	b := wechat.NewTokenStore(db.Pool, "wechat_oa:x", fetch)
	ctx := context.Background()
	ta, err := a.Token(ctx)
	require.NoError(t, err)
	tb, err := b.Token(ctx)
	require.NoError(t, err)
	require.Equal(t, ta, tb)
	require.Equal(t, 1, calls)
	require.NoError(t, b.Invalidate(ctx, tb))
	tb2, err := b.Token(ctx)
	require.NoError(t, err)
	require.NotEqual(t, tb, tb2)
	// A stale invalidation (of the old token) does not kill the new one.
	require.NoError(t, a.Invalidate(ctx, ta))
	ta2, err := a.Token(ctx)
	require.NoError(t, err)
	require.Equal(t, tb2, ta2)
	require.Equal(t, 2, calls)
}

func TestFieldLimitsCheckedBeforeSending(t *testing.T) {
	t.Parallel()
	oa, sb := startOA(t, channels.SandboxConfig{}, "")
	m := oaMessage("f1")
	m.WeChat.Fields[0].Value = strings.Repeat("长", 21)
	_, err := oa.Send(context.Background(), m)
	require.True(t, channels.IsPermanent(err))
	require.ErrorIs(t, err, channels.ErrInvalidMessage)
	require.Zero(t, sb.Recorder().Count())

	m = oaMessage("f2")
	m.Purpose = channels.PurposeMarketing
	_, err = oa.Send(context.Background(), m)
	require.ErrorIs(t, err, channels.ErrPurpose)

	require.NoError(t, wechat.CheckFields([]channels.WeChatField{{Key: "phrase4", Value: "已到期"}, {Key: "character_string5", Value: "NO.20241001"}}))
	require.Error(t, wechat.CheckFields([]channels.WeChatField{{Key: "phrase4", Value: "已经到期了啊"}}))
	require.Error(t, wechat.CheckFields([]channels.WeChatField{{Key: "bogus", Value: "x"}}))
}

func TestFollowAndUnfollow(t *testing.T) {
	t.Parallel()
	oa, sb := startOA(t, channels.SandboxConfig{}, "")
	got := make(chan channels.Inbound, 2)
	srv := httptest.NewServer(channels.InboundHandler(oa, func(_ context.Context, in []channels.Inbound) error {
		for _, i := range in {
			got <- i
		}
		return nil
	}, nil))
	defer srv.Close()
	require.NoError(t, sb.Follow(context.Background(), srv.URL+"/wechat", "oOPENID0001xyz", true))
	require.NoError(t, sb.Follow(context.Background(), srv.URL+"/wechat", "oOPENID0001xyz", false))
	in := <-got
	require.Equal(t, channels.InboundFollow, in.Kind)
	in = <-got
	require.Equal(t, channels.InboundUnfollow, in.Kind)
	require.True(t, in.Unsubscribe)
	require.Equal(t, "oOPENID0001xyz", in.From.Value)
}
