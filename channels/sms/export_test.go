package sms

import (
	"net/http"
	"net/url"
)

// Exported for the table tests of error classification.
var (
	AliyunError  = aliyunError
	TencentError = tencentClassify
)

func TwilioError(provider string, status, code int, msg string) error {
	return twilioClassify(provider, &http.Response{StatusCode: status, Header: http.Header{}}, code, msg)
}

var _ = url.Values{}
