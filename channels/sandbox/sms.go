package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"carillon/channels/internal/sign"
)

var cst = time.FixedZone("CST", 8*3600)

const maxRequest = 1 << 20

func jsonBody(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// ---------------------------------------------------------------- Aliyun

// Aliyun simulates Aliyun SMS (dysmsapi 2017-05-25 SendSms, RPC signature) and pushes
// SmsReport receipts.
type Aliyun struct{ *core }

// StartAliyun starts an Aliyun SMS sandbox.
func StartAliyun(ctx context.Context, o Options) (*Aliyun, error) {
	s := &Aliyun{newCore("aliyun", o)}
	return s, s.listen(http.HandlerFunc(s.serve))
}

func (s *Aliyun) fail(w http.ResponseWriter, status int, code, msg string) {
	writeBody(w, status, "application/json;charset=utf-8",
		jsonBody(map[string]string{"Code": code, "Message": msg, "RequestId": fmt.Sprintf("req-%d", s.nextID())}))
}

var mainlandMobile = regexp.MustCompile(`^1[3-9]\d{9}$`)

func (s *Aliyun) serve(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
	if err := r.ParseForm(); err != nil {
		s.fail(w, http.StatusBadRequest, "InvalidParameter", "cannot parse request")
		return
	}
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		params = r.PostForm
	}
	if params.Get("AccessKeyId") != s.opts.KeyID {
		s.fail(w, http.StatusNotFound, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
		return
	}
	if !sign.Equal(params.Get("Signature"), sign.AliyunRPC(r.Method, params, s.opts.Secret)) {
		s.fail(w, http.StatusBadRequest, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
		return
	}
	if params.Get("Action") != "SendSms" {
		s.fail(w, http.StatusBadRequest, "InvalidAction.NotFound", "Specified api is not found.")
		return
	}
	phone, signName, code := params.Get("PhoneNumbers"), params.Get("SignName"), params.Get("TemplateCode")
	if phone == "" || signName == "" || code == "" {
		s.fail(w, http.StatusOK, "isv.INVALID_PARAMETERS", "PhoneNumbers, SignName and TemplateCode are required")
		return
	}
	if tp := params.Get("TemplateParam"); tp != "" && !json.Valid([]byte(tp)) {
		s.fail(w, http.StatusOK, "isv.INVALID_JSON_PARAM", "JSON参数不合法")
		return
	}
	if !mainlandMobile.MatchString(phone) && !strings.HasPrefix(phone, "00") {
		s.fail(w, http.StatusOK, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
		return
	}
	id := s.nextID()
	bizID := fmt.Sprintf("%d^%d", 900000000000+id, 0)
	d := Delivery{Provider: s.opts.Name, MessageID: params.Get("OutId"), ProviderMessageID: bizID, To: phone,
		Content: code + " " + params.Get("TemplateParam"), At: time.Now()}
	switch s.decide(r.Context(), d) {
	case throttled:
		s.fail(w, http.StatusBadRequest, "Throttling.User", "Request was denied due to user flow control.")
		return
	case tempFail:
		s.fail(w, http.StatusOK, "isp.SYSTEM_ERROR", "isp.SYSTEM_ERROR")
		return
	case permFail:
		s.fail(w, http.StatusOK, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
		return
	case recipientLimited:
		s.fail(w, http.StatusOK, "isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5")
		return
	}
	writeBody(w, http.StatusOK, "application/json;charset=utf-8", jsonBody(map[string]string{
		"Code": "OK", "Message": "OK", "BizId": bizID, "RequestId": fmt.Sprintf("req-%d", id)}))
	now := time.Now().In(cst).Format("2006-01-02 15:04:05")
	ok := s.delivered()
	errCode, errMsg := "DELIVERED", "用户接收成功"
	if !ok {
		errCode, errMsg = "MN:0001", "空号"
		if c := s.opts.Behavior.UndeliveredCode; c != "" {
			errCode, errMsg = c, ""
		}
	}
	s.enqueue(push{url: s.opts.Behavior.ReceiptURL, batch: true, ctype: "application/json", body: jsonBody(map[string]any{
		"phone_number": phone, "send_time": now, "report_time": now, "success": ok, "err_code": errCode,
		"err_msg": errMsg, "sms_size": "1", "biz_id": bizID, "out_id": d.MessageID})})
}

// Reply pushes an SmsUp reply from phone (national number) to url, as Aliyun does.
func (s *Aliyun) Reply(ctx context.Context, url, phone, text string) error {
	body := jsonBody([]map[string]any{{"phone_number": phone, "send_time": time.Now().In(cst).Format("2006-01-02 15:04:05"),
		"content": text, "sign_name": "Carillon", "dest_code": "1234", "sequence_id": s.nextID()}})
	return postOnce(ctx, url, "application/json", body, nil)
}

// ---------------------------------------------------------------- Tencent

// Tencent simulates Tencent Cloud SMS (SendSms 2021-01-11, TC3-HMAC-SHA256) and
// pushes status callbacks.
type Tencent struct{ *core }

// StartTencent starts a Tencent Cloud SMS sandbox.
func StartTencent(ctx context.Context, o Options) (*Tencent, error) {
	s := &Tencent{newCore("tencent", o)}
	return s, s.listen(http.HandlerFunc(s.serve))
}

func (s *Tencent) fail(w http.ResponseWriter, code, msg string) {
	writeBody(w, http.StatusOK, "application/json", jsonBody(map[string]any{"Response": map[string]any{
		"Error": map[string]string{"Code": code, "Message": msg}, "RequestId": fmt.Sprintf("req-%d", s.nextID())}}))
}

var tc3Auth = regexp.MustCompile(`^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z]+)/tc3_request, SignedHeaders=content-type;host, Signature=([0-9a-f]{64})$`)

func (s *Tencent) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequest))
	if err != nil {
		s.fail(w, "InvalidParameter", "cannot read body")
		return
	}
	m := tc3Auth.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		s.fail(w, "AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
		return
	}
	if m[1] != s.opts.KeyID {
		s.fail(w, "AuthFailure.SecretIdNotFound", "The SecretId is not found.")
		return
	}
	ts, _ := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	want := sign.TC3{SecretID: m[1], SecretKey: s.opts.Secret, Service: m[3], Host: r.Host,
		ContentType: r.Header.Get("Content-Type"), Payload: body, Timestamp: ts}
	if !sign.Equal(m[4], want.Signature()) {
		s.fail(w, "AuthFailure.SignatureFailure", "The provided credentials could not be validated.")
		return
	}
	if d := time.Since(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		s.fail(w, "AuthFailure.SignatureExpire", "Signature expired.")
		return
	}
	if r.Header.Get("X-TC-Action") != "SendSms" || r.Header.Get("X-TC-Version") != "2021-01-11" {
		s.fail(w, "InvalidAction", "action or version not supported")
		return
	}
	var req struct {
		PhoneNumberSet   []string `json:"PhoneNumberSet"`
		SmsSdkAppID      string   `json:"SmsSdkAppId"`
		SignName         string   `json:"SignName"`
		TemplateID       string   `json:"TemplateId"`
		TemplateParamSet []string `json:"TemplateParamSet"`
		SessionContext   string   `json:"SessionContext"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.PhoneNumberSet) == 0 || req.TemplateID == "" {
		s.fail(w, "InvalidParameter", "PhoneNumberSet and TemplateId are required")
		return
	}
	var set []map[string]any
	for _, phone := range req.PhoneNumberSet {
		id := s.nextID()
		serial := fmt.Sprintf("2433:%d", 300000000+id)
		st := map[string]any{"SerialNo": serial, "PhoneNumber": phone, "Fee": 1, "SessionContext": req.SessionContext,
			"Code": "Ok", "Message": "send success", "IsoCode": "CN"}
		national := strings.TrimPrefix(phone, "+86")
		valid := e164.MatchString(phone)
		if strings.HasPrefix(phone, "+86") {
			valid = mainlandMobile.MatchString(national)
		}
		if !valid {
			st["Code"], st["Message"], st["SerialNo"], st["Fee"] = "InvalidParameterValue.IncorrectPhoneNumber", "incorrect number", "", 0
			set = append(set, st)
			continue
		}
		d := Delivery{Provider: s.opts.Name, MessageID: req.SessionContext, ProviderMessageID: serial, To: phone,
			Content: req.TemplateID + " " + strings.Join(req.TemplateParamSet, ","), At: time.Now()}
		switch s.decide(r.Context(), d) {
		case throttled:
			s.fail(w, "RequestLimitExceeded", "Your current request times equals to `20` in a second, which exceeds the frequency limit `20` for a second. Please reduce the frequency of calls.")
			return
		case tempFail:
			s.fail(w, "InternalError.Timeout", "timeout")
			return
		case permFail:
			st["Code"], st["Message"], st["SerialNo"], st["Fee"] = "InvalidParameterValue.IncorrectPhoneNumber", "incorrect number", "", 0
		case recipientLimited:
			st["Code"], st["Message"], st["SerialNo"], st["Fee"] = "LimitExceeded.PhoneNumberDailyLimit", "daily limit of this number reached", "", 0
		default:
			status, errmsg, desc := "SUCCESS", "DELIVRD", "用户短信送达成功"
			if !s.delivered() {
				status, errmsg, desc = "FAIL", "UNDELIV", "用户短信未送达"
				if c := s.opts.Behavior.UndeliveredCode; c != "" {
					errmsg, desc = c, ""
				}
			}
			s.enqueue(push{url: s.opts.Behavior.ReceiptURL, batch: true, ctype: "application/json", body: jsonBody(map[string]string{
				"user_receive_time": time.Now().In(cst).Format("2006-01-02 15:04:05"), "nationcode": "86",
				"mobile": national, "report_status": status, "errmsg": errmsg, "description": desc, "sid": serial})})
		}
		set = append(set, st)
	}
	writeBody(w, http.StatusOK, "application/json", jsonBody(map[string]any{"Response": map[string]any{
		"SendStatusSet": set, "RequestId": fmt.Sprintf("req-%d", s.nextID())}}))
}

// Reply pushes a reply callback from a mainland mobile to url, as Tencent does.
func (s *Tencent) Reply(ctx context.Context, url, mobile, text string) error {
	body := jsonBody(map[string]any{"extend": "", "mobile": mobile, "nationcode": "86", "sign": "Carillon",
		"text": text, "time": time.Now().Unix()})
	return postOnce(ctx, url, "application/json", body, nil)
}

// ---------------------------------------------------------------- Twilio

// Twilio simulates Twilio's Messages API (2010-04-01) and signs its status callbacks.
type Twilio struct{ *core }

// StartTwilio starts a Twilio sandbox.
func StartTwilio(ctx context.Context, o Options) (*Twilio, error) {
	s := &Twilio{newCore("twilio", o)}
	return s, s.listen(http.HandlerFunc(s.serve))
}

var twilioPath = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages\.json$`)
var e164 = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)

func (s *Twilio) fail(w http.ResponseWriter, status, code int, msg string) {
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeBody(w, status, "application/json", jsonBody(map[string]any{"code": code, "message": msg,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status}))
}

func (s *Twilio) serve(w http.ResponseWriter, r *http.Request) {
	m := twilioPath.FindStringSubmatch(r.URL.Path)
	if m == nil || r.Method != http.MethodPost {
		s.fail(w, http.StatusNotFound, 20404, "The requested resource was not found")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.opts.KeyID || m[1] != s.opts.KeyID || !sign.Equal(pass, s.opts.Secret) {
		s.fail(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRequest)
	if err := r.ParseForm(); err != nil {
		s.fail(w, http.StatusBadRequest, 21600, "cannot parse form")
		return
	}
	to, body := r.PostForm.Get("To"), r.PostForm.Get("Body")
	if to == "" {
		s.fail(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	}
	if body == "" {
		s.fail(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	if !e164.MatchString(to) {
		s.fail(w, http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
		return
	}
	id := s.nextID()
	sid := fmt.Sprintf("SM%032x", id)
	cb := r.PostForm.Get("StatusCallback")
	mid := ""
	if u, err := url.Parse(cb); err == nil {
		mid = u.Query().Get("mid")
	}
	d := Delivery{Provider: s.opts.Name, MessageID: mid, ProviderMessageID: sid, To: to, Content: body, At: time.Now()}
	switch s.decide(r.Context(), d) {
	case throttled, recipientLimited:
		s.fail(w, http.StatusTooManyRequests, 20429, "Too Many Requests")
		return
	case tempFail:
		s.fail(w, http.StatusServiceUnavailable, 20500, "Service Unavailable")
		return
	case permFail:
		s.fail(w, http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
		return
	}
	from := r.PostForm.Get("From")
	writeBody(w, http.StatusCreated, "application/json", jsonBody(map[string]any{
		"sid": sid, "status": "queued", "to": to, "from": from, "body": body, "account_sid": s.opts.KeyID,
		"messaging_service_sid": r.PostForm.Get("MessagingServiceSid"), "num_segments": "1", "api_version": "2010-04-01"}))
	if cb != "" {
		form := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {s.opts.KeyID}, "From": {from},
			"To": {to}, "ApiVersion": {"2010-04-01"}, "MessageStatus": {"delivered"}, "SmsStatus": {"delivered"}}
		if !s.delivered() {
			form.Set("MessageStatus", "undelivered")
			form.Set("SmsStatus", "undelivered")
			form.Set("ErrorCode", "30003")
		}
		s.enqueue(push{url: cb, ctype: "application/x-www-form-urlencoded", body: []byte(form.Encode()),
			header: http.Header{"X-Twilio-Signature": {sign.Twilio(s.opts.Secret, cb, form)}}})
	}
}

// Inbound posts an inbound message from `from` to url, signed as Twilio signs it.
func (s *Twilio) Inbound(ctx context.Context, url, from, to, body string) error {
	form := urlValues(map[string]string{"MessageSid": fmt.Sprintf("SM%032x", s.nextID()), "AccountSid": s.opts.KeyID,
		"From": from, "To": to, "Body": body, "NumMedia": "0", "ApiVersion": "2010-04-01"})
	if IsStopWord(body) {
		form.Set("OptOutType", "STOP")
	}
	return postOnce(ctx, url, "application/x-www-form-urlencoded", []byte(form.Encode()),
		http.Header{"X-Twilio-Signature": {sign.Twilio(s.opts.Secret, url, form)}})
}

// IsStopWord reports whether Twilio treats body as an opt-out keyword.
func IsStopWord(body string) bool {
	switch strings.ToUpper(strings.TrimSpace(body)) {
	case "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT":
		return true
	}
	return false
}

func urlValues(m map[string]string) url.Values {
	v := url.Values{}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v.Set(k, m[k])
	}
	return v
}

// postOnce posts body to url and wants a 2xx answer.
func postOnce(ctx context.Context, url, ctype string, body []byte, h http.Header) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("sandbox push: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("sandbox push: %s: %s", resp.Status, b)
	}
	return nil
}
