package sms_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	neturl "net/url"

	"carillon/channels"
	"carillon/channels/channelstest"
	"carillon/channels/internal/sign"
	"carillon/channels/sandbox"
	"carillon/channels/sms"
)

var secret = channels.NewSecret(channels.DefaultSandboxSecret)

func stop(t *testing.T, s interface{ Stop(context.Context) }) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Stop(ctx)
	})
}

func templateMessage(id string) channels.Message {
	return channels.Message{ID: id, To: channels.Address{Channel: channels.SMS, Value: "+8613800138000"},
		Purpose: channels.PurposeService,
		Template: &channels.ProviderTemplate{SignName: "Carillon", Code: "SMS_100001",
			Params: []channels.TemplateParam{{Name: "name", Value: "张三"}, {Name: "date", Value: "10月1日"}}}}
}

func startAliyun(t *testing.T, b channels.SandboxConfig) (*sms.Aliyun, *sandbox.Aliyun) {
	sb, err := sandbox.StartAliyun(context.Background(), sandbox.Options{KeyID: "LTAI-test", Behavior: b})
	require.NoError(t, err)
	stop(t, sb)
	a, err := sms.NewAliyun(sms.AliyunConfig{Name: "aliyun-test", Endpoint: sb.URL(), AccessKeyID: "LTAI-test",
		AccessKeySecret: secret, SignName: "Carillon", WebhookToken: secret})
	require.NoError(t, err)
	return a, sb
}

func startTencent(t *testing.T, b channels.SandboxConfig) (*sms.Tencent, *sandbox.Tencent) {
	sb, err := sandbox.StartTencent(context.Background(), sandbox.Options{KeyID: "AKID-test", Behavior: b})
	require.NoError(t, err)
	stop(t, sb)
	a, err := sms.NewTencent(sms.TencentConfig{Name: "tencent-test", Endpoint: sb.URL(), SecretID: "AKID-test",
		SecretKey: secret, SdkAppID: "1400000001", SignName: "Carillon", WebhookToken: secret})
	require.NoError(t, err)
	return a, sb
}

func startTwilio(t *testing.T, b channels.SandboxConfig) (*sms.Twilio, *sandbox.Twilio) {
	sb, err := sandbox.StartTwilio(context.Background(), sandbox.Options{KeyID: "AC-test", Behavior: b})
	require.NoError(t, err)
	stop(t, sb)
	a, err := sms.NewTwilio(sms.TwilioConfig{Name: "twilio-test", Endpoint: sb.URL(), AccountSID: "AC-test",
		AuthToken: secret, From: "+15005550006", StatusCallback: b.ReceiptURL})
	require.NoError(t, err)
	return a, sb
}

func TestAliyunSuite(t *testing.T) {
	t.Parallel()
	channelstest.Run(t, channelstest.Harness{
		Start: func(t *testing.T, b channels.SandboxConfig) channelstest.Env {
			a, sb := startAliyun(t, b)
			return channelstest.Env{Sender: a, Parser: a, Recorder: sb.Recorder()}
		},
		Message: templateMessage,
	})
}

func TestTencentSuite(t *testing.T) {
	t.Parallel()
	channelstest.Run(t, channelstest.Harness{
		Start: func(t *testing.T, b channels.SandboxConfig) channelstest.Env {
			a, sb := startTencent(t, b)
			return channelstest.Env{Sender: a, Parser: a, Recorder: sb.Recorder()}
		},
		Message: templateMessage,
	})
}

func TestTwilioSuite(t *testing.T) {
	t.Parallel()
	channelstest.Run(t, channelstest.Harness{
		Start: func(t *testing.T, b channels.SandboxConfig) channelstest.Env {
			a, sb := startTwilio(t, b)
			return channelstest.Env{Sender: a, Parser: a, Recorder: sb.Recorder()}
		},
		Message: func(id string) channels.Message {
			return channels.Message{ID: id, To: channels.Address{Channel: channels.SMS, Value: "+14155550100"},
				Purpose: channels.PurposeService, Text: "Your deposit matures on 1 October."}
		},
	})
}

// The per-number limit of mainland providers limits that recipient only.
func TestRecipientLimitIsRecipientScoped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, _ := startAliyun(t, channels.SandboxConfig{RecipientLimit: 1})
	tc, _ := startTencent(t, channels.SandboxConfig{RecipientLimit: 1})
	for _, s := range []channels.Sender{a, tc} {
		_, err := s.Send(ctx, templateMessage("m1"))
		require.NoError(t, err)
		_, err = s.Send(ctx, templateMessage("m2"))
		require.True(t, channels.IsRateLimited(err), "%v", err)
		require.True(t, channels.RecipientScoped(err), "%v", err)
		require.Positive(t, channels.RetryAfter(err))
		other := templateMessage("m3")
		other.To.Value = "+8613900139000"
		_, err = s.Send(ctx, other)
		require.NoError(t, err, "another number still goes through")
	}
}

func TestMainlandProvidersRefuseFreeText(t *testing.T) {
	t.Parallel()
	a, sb := startAliyun(t, channels.SandboxConfig{})
	tc, _ := startTencent(t, channels.SandboxConfig{})
	for _, s := range []channels.Sender{a, tc} {
		_, err := s.Send(context.Background(), channels.Message{ID: "x", To: channels.Address{Channel: channels.SMS, Value: "+8613800138000"}, Text: "hello"})
		require.True(t, channels.IsPermanent(err))
		require.False(t, channels.IsBadAddress(err))
		require.ErrorIs(t, err, channels.ErrInvalidMessage)
	}
	require.Zero(t, sb.Recorder().Count())
}

func TestWrongCredentialsAreTemporaryNotPermanent(t *testing.T) {
	t.Parallel()
	sb, err := sandbox.StartAliyun(context.Background(), sandbox.Options{KeyID: "LTAI-test"})
	require.NoError(t, err)
	stop(t, sb)
	a, err := sms.NewAliyun(sms.AliyunConfig{Endpoint: sb.URL(), AccessKeyID: "LTAI-test", AccessKeySecret: channels.NewSecret("wrong")})
	require.NoError(t, err)
	_, err = a.Send(context.Background(), templateMessage("x"))
	var ce *channels.Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, "SignatureDoesNotMatch", ce.Code)
	require.Equal(t, channels.Temporary, ce.Class)
}

func TestNetworkErrorsAreTemporary(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // connection refused from now on
	a, err := sms.NewAliyun(sms.AliyunConfig{Endpoint: url, AccessKeyID: "k", AccessKeySecret: secret})
	require.NoError(t, err)
	_, err = a.Send(context.Background(), templateMessage("x"))
	require.True(t, channels.IsTemporary(err))
	require.False(t, channels.IsRateLimited(err))

	five := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}))
	defer five.Close()
	tc, err := sms.NewTencent(sms.TencentConfig{Endpoint: five.URL, SecretID: "k", SecretKey: secret})
	require.NoError(t, err)
	_, err = tc.Send(context.Background(), templateMessage("x"))
	require.Equal(t, channels.Temporary, channels.ClassOf(err), "%v", err)

	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	tw, err := sms.NewTwilio(sms.TwilioConfig{Endpoint: slow.URL, AccountSID: "AC", AuthToken: secret, From: "+1500", Timeout: 50 * time.Millisecond})
	require.NoError(t, err)
	_, err = tw.Send(context.Background(), channels.Message{To: channels.Address{Value: "+14155550100"}, Text: "x"})
	var ce *channels.Error
	require.ErrorAs(t, err, &ce)
	require.Equal(t, channels.Temporary, ce.Class)
	require.Equal(t, "timeout", ce.Code)
}

// Parsers refuse a bad token or signature, a malformed body and an oversized body,
// and return nothing.
func TestParsersRefuseBadInput(t *testing.T) {
	t.Parallel()
	a, err := sms.NewAliyun(sms.AliyunConfig{AccessKeyID: "k", AccessKeySecret: secret, WebhookToken: secret, MaxBody: 1024})
	require.NoError(t, err)
	tc, err := sms.NewTencent(sms.TencentConfig{SecretID: "k", SecretKey: secret, WebhookToken: secret, MaxBody: 1024})
	require.NoError(t, err)
	tw, err := sms.NewTwilio(sms.TwilioConfig{AccountSID: "AC", AuthToken: secret, From: "+1500", MaxBody: 1024})
	require.NoError(t, err)

	good := "http://carillon.test/hook?token=" + channels.DefaultSandboxSecret
	big := strings.Repeat("x", 2048)
	twSigned := func(body string, sig string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "http://carillon.test/hook", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			r.Header.Set("X-Twilio-Signature", sig)
		}
		return r
	}
	okForm := "MessageSid=SM1&MessageStatus=delivered"
	okSig := sign.Twilio(channels.DefaultSandboxSecret, "http://carillon.test/hook", mustForm(okForm))
	badFormSig := sign.Twilio(channels.DefaultSandboxSecret, "http://carillon.test/hook", mustForm("MessageSid=SM1"))

	type parse func(*http.Request) (int, error)
	rcpt := func(p channels.ReceiptParser) parse {
		return func(r *http.Request) (int, error) { rs, err := p.ParseReceipts(r); return len(rs), err }
	}
	inb := func(p channels.InboundParser) parse {
		return func(r *http.Request) (int, error) { in, err := p.ParseInbound(r); return len(in), err }
	}
	cases := []struct {
		name string
		p    parse
		req  *http.Request
		kind error
		code int
	}{
		{"aliyun no token", rcpt(a), httptest.NewRequest(http.MethodPost, "http://carillon.test/hook", strings.NewReader(`[]`)), channels.ErrUnauthorized, 401},
		{"aliyun wrong token", rcpt(a), httptest.NewRequest(http.MethodPost, "http://carillon.test/hook?token=nope", strings.NewReader(`[]`)), channels.ErrUnauthorized, 401},
		{"aliyun malformed", rcpt(a), httptest.NewRequest(http.MethodPost, good, strings.NewReader(`{"biz_id":`)), channels.ErrMalformed, 400},
		{"aliyun no ids", rcpt(a), httptest.NewRequest(http.MethodPost, good, strings.NewReader(`[{"success":true}]`)), channels.ErrMalformed, 400},
		{"aliyun too large", rcpt(a), httptest.NewRequest(http.MethodPost, good, strings.NewReader(`["`+big+`"]`)), channels.ErrTooLarge, 413},
		{"aliyun up malformed", inb(a), httptest.NewRequest(http.MethodPost, good, strings.NewReader(`nope`)), channels.ErrMalformed, 400},
		{"tencent wrong token", rcpt(tc), httptest.NewRequest(http.MethodPost, "http://carillon.test/hook?token=x", strings.NewReader(`[]`)), channels.ErrUnauthorized, 401},
		{"tencent malformed", rcpt(tc), httptest.NewRequest(http.MethodPost, good, strings.NewReader(`[{"sid":1}]`)), channels.ErrMalformed, 400},
		{"tencent too large", inb(tc), httptest.NewRequest(http.MethodPost, good, strings.NewReader(big)), channels.ErrTooLarge, 413},
		{"twilio no signature", rcpt(tw), twSigned(okForm, ""), channels.ErrUnauthorized, 401},
		{"twilio bad signature", rcpt(tw), twSigned(okForm, "AAAA"), channels.ErrUnauthorized, 401},
		{"twilio tampered", rcpt(tw), twSigned(okForm+"&ErrorCode=1", okSig), channels.ErrUnauthorized, 401},
		{"twilio malformed", rcpt(tw), twSigned("MessageSid=SM1", badFormSig), channels.ErrMalformed, 400},
		{"twilio too large", inb(tw), twSigned("Body="+big, okSig), channels.ErrTooLarge, 413},
	}
	for _, c := range cases {
		n, err := c.p(c.req)
		require.ErrorIs(t, err, c.kind, c.name)
		require.Zero(t, n, c.name)
		require.Equal(t, c.code, channels.StatusOf(err), c.name)
	}
	// The signed good request passes.
	rs, err := tw.ParseReceipts(twSigned(okForm, okSig))
	require.NoError(t, err)
	require.Equal(t, channels.StatusDelivered, rs[0].Status)
}

func mustForm(s string) map[string][]string {
	v, err := urlParse(s)
	if err != nil {
		panic(err)
	}
	return v
}

func TestReceiptHandlerAnswersAsProviderExpects(t *testing.T) {
	t.Parallel()
	a, err := sms.NewAliyun(sms.AliyunConfig{AccessKeyID: "k", AccessKeySecret: secret, WebhookToken: secret})
	require.NoError(t, err)
	var got []channels.Receipt
	h := channels.ReceiptHandler(a, func(_ context.Context, rs []channels.Receipt) error { got = rs; return nil }, nil)
	body := `[{"phone_number":"13800138000","send_time":"2017-01-01 00:00:00","report_time":"2017-01-01 00:00:01","success":false,"err_code":"MN:0001","err_msg":"空号","sms_size":"1","biz_id":"12345^0","out_id":"msg-1"}]`
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook?token="+channels.DefaultSandboxSecret, strings.NewReader(body)))
	require.Equal(t, http.StatusOK, w.Code)
	require.JSONEq(t, `{"code":0,"msg":"接收成功"}`, w.Body.String())
	require.Len(t, got, 1)
	require.Equal(t, channels.Receipt{Provider: "aliyun", ProviderMessageID: "12345^0", MessageID: "msg-1", To: "13800138000",
		Status: channels.StatusFailed, Permanent: true, SuppressReason: "invalid", Code: "MN:0001", Detail: "空号", At: got[0].At}, got[0])
	require.Equal(t, "2017-01-01T00:00:01+08:00", got[0].At.Format(time.RFC3339))

	w = httptest.NewRecorder()
	got = nil
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/hook?token=wrong", strings.NewReader(body)))
	require.Equal(t, http.StatusUnauthorized, w.Code)
	require.Contains(t, w.Body.String(), `"code":"unauthorized"`)
	require.Nil(t, got)
}

// Replies from each provider's sandbox come back as inbound events; unsubscribe
// keywords are recognised.
func TestInboundReplies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, asb := startAliyun(t, channels.SandboxConfig{})
	tc, tsb := startTencent(t, channels.SandboxConfig{})
	tw, wsb := startTwilio(t, channels.SandboxConfig{})

	got := make(chan channels.Inbound, 8)
	sink := func(_ context.Context, in []channels.Inbound) error {
		for _, i := range in {
			got <- i
		}
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("/aliyun", channels.InboundHandler(a, sink, nil))
	mux.Handle("/tencent", channels.InboundHandler(tc, sink, nil))
	mux.Handle("/twilio", channels.InboundHandler(tw, sink, nil))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tok := "?token=" + channels.DefaultSandboxSecret

	require.NoError(t, asb.Reply(ctx, srv.URL+"/aliyun"+tok, "13800138000", "退订"))
	in := <-got
	require.Equal(t, channels.InboundReply, in.Kind)
	require.Equal(t, "+8613800138000", in.From.Value)
	require.True(t, in.Unsubscribe)

	require.NoError(t, tsb.Reply(ctx, srv.URL+"/tencent"+tok, "13800138000", "请问利率多少？"))
	in = <-got
	require.Equal(t, "+8613800138000", in.From.Value)
	require.False(t, in.Unsubscribe)
	require.Equal(t, "请问利率多少？", in.Text)

	require.NoError(t, wsb.Inbound(ctx, srv.URL+"/twilio", "+14155550100", "+15005550006", "STOP"))
	in = <-got
	require.Equal(t, "+14155550100", in.From.Value)
	require.True(t, in.Unsubscribe)
	require.Equal(t, "STOP", in.Text)

	// a forged Twilio inbound is refused
	err := postForm(srv.URL+"/twilio", "From=%2B14155550100&Body=STOP")
	require.ErrorContains(t, err, "401")
}

func TestAliyunErrorCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code, msg string
		class     channels.Class
		address   bool
		scope     channels.Scope
		after     time.Duration
	}{
		{"isv.MOBILE_NUMBER_ILLEGAL", "非法手机号", channels.Permanent, true, 0, 0},
		{"isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1", channels.RateLimited, false, channels.ScopeRecipient, time.Minute},
		{"isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5", channels.RateLimited, false, channels.ScopeRecipient, time.Hour},
		{"isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10", channels.RateLimited, false, channels.ScopeRecipient, 24 * time.Hour},
		{"isv.DAY_LIMIT_CONTROL", "", channels.RateLimited, false, channels.ScopeProvider, time.Hour},
		{"Throttling.User", "Request was denied due to user flow control.", channels.RateLimited, false, channels.ScopeProvider, time.Second},
		{"Throttling", "", channels.RateLimited, false, channels.ScopeProvider, time.Second},
		{"isv.SMS_TEMPLATE_ILLEGAL", "", channels.Permanent, false, 0, 0},
		{"isv.SMS_SIGNATURE_ILLEGAL", "", channels.Permanent, false, 0, 0},
		{"isv.TEMPLATE_MISSING_PARAMETERS", "", channels.Permanent, false, 0, 0},
		{"isp.SYSTEM_ERROR", "", channels.Temporary, false, 0, 0},
		{"isv.OUT_OF_SERVICE", "", channels.Temporary, false, 0, 0},
		{"isv.AMOUNT_NOT_ENOUGH", "", channels.Temporary, false, 0, 0},
		{"SignatureDoesNotMatch", "", channels.Temporary, false, 0, 0},
		{"SomethingNew", "", channels.Temporary, false, 0, 0},
	}
	for _, c := range cases {
		err := sms.AliyunError("p", c.code, c.msg)
		assertClass(t, err, c.code, c.class, c.address, c.scope, c.after)
	}
	require.NoError(t, sms.AliyunError("p", "OK", "OK"))
}

func TestTencentErrorCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		code    string
		class   channels.Class
		address bool
		scope   channels.Scope
		after   time.Duration
	}{
		{"InvalidParameterValue.IncorrectPhoneNumber", channels.Permanent, true, 0, 0},
		{"FailedOperation.PhoneNumberInBlacklist", channels.Permanent, true, 0, 0},
		{"LimitExceeded.PhoneNumberThirtySecondLimit", channels.RateLimited, false, channels.ScopeRecipient, 30 * time.Second},
		{"LimitExceeded.PhoneNumberOneHourLimit", channels.RateLimited, false, channels.ScopeRecipient, time.Hour},
		{"LimitExceeded.PhoneNumberDailyLimit", channels.RateLimited, false, channels.ScopeRecipient, 24 * time.Hour},
		{"LimitExceeded.AppDailyLimit", channels.RateLimited, false, channels.ScopeProvider, time.Hour},
		{"RequestLimitExceeded", channels.RateLimited, false, channels.ScopeProvider, time.Second},
		{"FailedOperation.TemplateIncorrectOrUnapproved", channels.Permanent, false, 0, 0},
		{"FailedOperation.SignatureIncorrectOrUnapproved", channels.Permanent, false, 0, 0},
		{"InvalidParameterValue.TemplateParameterFormatError", channels.Permanent, false, 0, 0},
		{"InternalError.Timeout", channels.Temporary, false, 0, 0},
		{"AuthFailure.SignatureFailure", channels.Temporary, false, 0, 0},
		{"FailedOperation.InsufficientBalanceInSmsPackage", channels.Temporary, false, 0, 0},
	}
	for _, c := range cases {
		assertClass(t, sms.TencentError("p", c.code, ""), c.code, c.class, c.address, c.scope, c.after)
	}
	require.NoError(t, sms.TencentError("p", "Ok", "send success"))
}

func TestTwilioErrorCodes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status, code int
		class        channels.Class
		address      bool
	}{
		{400, 21211, channels.Permanent, true},
		{400, 21614, channels.Permanent, true},
		{400, 21610, channels.Permanent, true},
		{400, 21408, channels.Permanent, false},
		{400, 21602, channels.Permanent, false},
		{429, 20429, channels.RateLimited, false},
		{429, 0, channels.RateLimited, false},
		{500, 20500, channels.Temporary, false},
		{401, 20003, channels.Temporary, false},
	}
	for _, c := range cases {
		err := sms.TwilioError("p", c.status, c.code, "")
		var after time.Duration
		if c.class == channels.RateLimited {
			after = time.Second
		}
		assertClass(t, err, "twilio", c.class, c.address, channels.ScopeProvider, after)
	}
}

func assertClass(t *testing.T, err error, name string, class channels.Class, address bool, scope channels.Scope, after time.Duration) {
	t.Helper()
	var ce *channels.Error
	require.True(t, errors.As(err, &ce), name)
	require.Equal(t, class, ce.Class, name)
	require.Equal(t, address, channels.IsBadAddress(err), name)
	if class == channels.RateLimited {
		require.Equal(t, scope, ce.Scope, name)
		require.Equal(t, after, channels.RetryAfter(err), name)
	}
}

func postForm(url, body string) error {
	resp, err := http.Post(url, "application/x-www-form-urlencoded", bytes.NewBufferString(body))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return errors.New(resp.Status)
	}
	return nil
}

func urlParse(s string) (map[string][]string, error) { return neturl.ParseQuery(s) }

// A failed delivery receipt says what it means for the number: the carrier's code
// decides permanent (suppressed for the reason), temporary, or unknown.
func TestFailedReceiptsAreClassifiedByCarrierCode(t *testing.T) {
	t.Parallel()
	a, err := sms.NewAliyun(sms.AliyunConfig{Name: "ali", AccessKeyID: "k", AccessKeySecret: secret, WebhookToken: secret})
	require.NoError(t, err)
	tc, err := sms.NewTencent(sms.TencentConfig{Name: "tx", SecretID: "k", SecretKey: secret, WebhookToken: secret})
	require.NoError(t, err)
	hook := "http://carillon.test/hook?token=" + channels.DefaultSandboxSecret
	aliyun := func(code, msg string, ok bool) channels.Receipt {
		body := fmt.Sprintf(`[{"phone_number":"13800138000","send_time":"2026-11-30 10:00:00","report_time":"2026-11-30 10:00:05","success":%t,"err_code":%q,"err_msg":%q,"sms_size":"1","biz_id":"b1","out_id":"7"}]`, ok, code, msg)
		rs, err := a.ParseReceipts(httptest.NewRequest(http.MethodPost, hook, strings.NewReader(body)))
		require.NoError(t, err)
		return rs[0]
	}
	tencent := func(status, errmsg, desc string) channels.Receipt {
		body := fmt.Sprintf(`[{"user_receive_time":"2026-11-30 10:00:05","nationcode":"86","mobile":"13800138000","report_status":%q,"errmsg":%q,"description":%q,"sid":"s1"}]`, status, errmsg, desc)
		rs, err := tc.ParseReceipts(httptest.NewRequest(http.MethodPost, hook, strings.NewReader(body)))
		require.NoError(t, err)
		return rs[0]
	}
	for _, c := range []struct {
		name         string
		r            channels.Receipt
		permanent    bool
		reason       string
		unclassified bool
	}{
		{"aliyun 空号", aliyun("MN:0001", "空号", false), true, "invalid", false},
		{"aliyun 停机", aliyun("MK:0005", "", false), true, "invalid", false},
		{"aliyun carrier blacklist", aliyun("DB:0144", "", false), true, "complaint", false},
		{"aliyun handset off", aliyun("MK:0023", "", false), false, "", false},
		{"aliyun flow control", aliyun("IB:0008", "", false), false, "", false},
		{"aliyun carrier internal fault", aliyun("CA:0054", "", false), false, "", false},
		{"aliyun code unknown to the table", aliyun("ZZ:9999", "", false), false, "", true},
		{"tencent undeliverable", tencent("FAIL", "UNDELIV", "用户短信未送达"), true, "invalid", false},
		{"tencent expired", tencent("FAIL", "EXPIRED", ""), false, "", false},
		{"tencent blacklist", tencent("FAIL", "MBBLACK", ""), true, "complaint", false},
	} {
		require.Equal(t, channels.StatusFailed, c.r.Status, c.name)
		require.Equal(t, c.permanent, c.r.Permanent, c.name)
		require.Equal(t, c.reason, c.r.SuppressReason, c.name)
		require.Equal(t, c.unclassified, c.r.Unclassified, c.name)
	}
	ok := aliyun("DELIVERED", "用户接收成功", true)
	require.Equal(t, channels.StatusDelivered, ok.Status)
	require.False(t, ok.Permanent)
	require.Equal(t, "停机", aliyun("MK:0005", "", false).Detail, "the code's meaning when the provider gave no text")
}
