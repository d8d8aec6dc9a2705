// Package sms implements the SMS providers: Aliyun SMS and Tencent Cloud SMS
// (mainland China, approved templates only) and Twilio (international, free text).
//
// Each adapter is a thin wire client (signing, HTTP) beside the formatting and
// classification policy. Each is a channels.Sender, a channels.ReceiptParser for the
// provider's delivery reports and a channels.InboundParser for replies.
package sms

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"carillon/channels"
)

// maxResponse bounds a provider's answer.
const maxResponse = 1 << 20

// roundTrip sends req and reads the answer; a transport failure is a temporary
// channels.Error.
func roundTrip(ctx context.Context, hc *http.Client, provider string, req *http.Request) (*http.Response, []byte, error) {
	resp, err := hc.Do(req.WithContext(ctx))
	if err != nil {
		return nil, nil, channels.TransportError(provider, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, nil, channels.TransportError(provider, fmt.Errorf("read answer: %w", err))
	}
	return resp, body, nil
}

func httpClient(hc *http.Client, timeout time.Duration) *http.Client {
	if hc != nil {
		return hc
	}
	if timeout <= 0 {
		timeout = channels.DefaultTimeout
	}
	// Many workers send at once: keep enough idle connections per provider host that
	// sends reuse them instead of opening (and leaving in TIME_WAIT) one each.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 512
	tr.MaxIdleConnsPerHost = 256
	return &http.Client{Timeout: timeout, Transport: tr}
}

// nationalNumber splits an E.164 number into country code and national number for
// mainland providers: "+8613800138000" → ("86", "13800138000"). A number without +
// is taken as a mainland national number.
func nationalNumber(e164 string) (cc, national string) {
	s := strings.TrimSpace(e164)
	if !strings.HasPrefix(s, "+") {
		return "86", s
	}
	s = s[1:]
	if strings.HasPrefix(s, "86") {
		return "86", s[2:]
	}
	// Other country codes are 1–3 digits; mainland providers take them as 00<cc><n>.
	return "", s
}

func requireTemplate(provider string, m channels.Message) error {
	if m.Template == nil || m.Template.Code == "" {
		return channels.NewPermanent(provider, "template_required",
			"mainland SMS providers send only pre-approved templates", channels.ErrInvalidMessage)
	}
	if m.To.Value == "" {
		return channels.NewPermanent(provider, "no_recipient", "", channels.ErrInvalidMessage)
	}
	return nil
}

// parseShanghai parses "2006-01-02 15:04:05" in China Standard Time.
func parseShanghai(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", s, cst)
	if err != nil {
		return time.Time{}
	}
	return t
}

var cst = time.FixedZone("CST", 8*3600)

func writeJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, body)
}
