// Package sign holds the providers' request signatures, shared by the adapters
// (which sign and verify) and the sandboxes (which verify and sign pushes). Each is
// tested against the provider's published example.
package sign

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// AliyunPercentEncode is the POP percent-encoding: URL encoding with space as %20,
// * as %2A and ~ kept.
func AliyunPercentEncode(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	e = strings.ReplaceAll(e, "%7E", "~")
	return e
}

// AliyunCanonical returns the canonicalized query string of params (without Signature).
func AliyunCanonical(params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		if k != "Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(AliyunPercentEncode(k))
		b.WriteByte('=')
		b.WriteString(AliyunPercentEncode(params.Get(k)))
	}
	return b.String()
}

// AliyunRPC returns the RPC (signature version 1.0, HMAC-SHA1) signature of params
// for the HTTP method.
func AliyunRPC(method string, params url.Values, secret string) string {
	toSign := method + "&" + AliyunPercentEncode("/") + "&" + AliyunPercentEncode(AliyunCanonical(params))
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(toSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func hmac256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TC3 holds what a Tencent Cloud TC3-HMAC-SHA256 signature covers.
type TC3 struct {
	SecretID, SecretKey string
	Service             string // "sms"
	Host                string // host header value
	ContentType         string // exact Content-Type sent
	Payload             []byte
	Timestamp           int64
}

// CanonicalRequest is the TC3 canonical request (POST, signed headers content-type;host).
func (t TC3) CanonicalRequest() string {
	return "POST\n/\n\ncontent-type:" + strings.ToLower(t.ContentType) + "\nhost:" + strings.ToLower(t.Host) +
		"\n\ncontent-type;host\n" + sha256hex(t.Payload)
}

func (t TC3) date() string { return time.Unix(t.Timestamp, 0).UTC().Format("2006-01-02") }

// StringToSign is the TC3 string to sign.
func (t TC3) StringToSign() string {
	return fmt.Sprintf("TC3-HMAC-SHA256\n%d\n%s/%s/tc3_request\n%s", t.Timestamp, t.date(), t.Service,
		sha256hex([]byte(t.CanonicalRequest())))
}

// Signature is the hex TC3 signature.
func (t TC3) Signature() string {
	kDate := hmac256([]byte("TC3"+t.SecretKey), t.date())
	kService := hmac256(kDate, t.Service)
	kSigning := hmac256(kService, "tc3_request")
	return hex.EncodeToString(hmac256(kSigning, t.StringToSign()))
}

// Authorization is the Authorization header value.
func (t TC3) Authorization() string {
	return fmt.Sprintf("TC3-HMAC-SHA256 Credential=%s/%s/%s/tc3_request, SignedHeaders=content-type;host, Signature=%s",
		t.SecretID, t.date(), t.Service, t.Signature())
}

// Twilio returns the X-Twilio-Signature of a request: base64(HMAC-SHA1(authToken,
// fullURL + each POST parameter name and value, sorted by name)).
func Twilio(authToken, fullURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Equal compares two signatures in constant time.
func Equal(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }
