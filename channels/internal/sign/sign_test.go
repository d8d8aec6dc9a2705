package sign

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// Aliyun's SendSms signature example (help.aliyun.com/document_detail/56189).
func TestAliyunRPCDocumentedExample(t *testing.T) {
	t.Parallel()
	p := url.Values{}
	for k, v := range map[string]string{
		"AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
		"PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
		"SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
		"SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": `{"customer":"test"}`,
		"Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
	} {
		p.Set(k, v)
	}
	require.Equal(t, "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001&RegionId=cn-hangzhou&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8&SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466&SignatureVersion=1.0&TemplateCode=SMS_71390007&TemplateParam=%7B%22customer%22%3A%22test%22%7D&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25", AliyunCanonical(p))
	require.Equal(t, "zJDF+Lrzhj/ThnlvIToysFRq6t4=", AliyunRPC("GET", p, "testSecret"))
}

// Aliyun's RPC signature mechanism example (DescribeRegions).
func TestAliyunRPCDescribeRegionsExample(t *testing.T) {
	t.Parallel()
	p := url.Values{}
	for k, v := range map[string]string{
		"Format": "XML", "AccessKeyId": "testid", "Action": "DescribeRegions", "SignatureMethod": "HMAC-SHA1",
		"SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
		"Version": "2014-05-26", "Timestamp": "2016-02-23T12:46:24Z",
	} {
		p.Set(k, v)
	}
	require.Equal(t, "OLeaidS1JvxuMvnyHOwuJ+uX5qY=", AliyunRPC("GET", p, "testsecret"))
}

func TestAliyunPercentEncode(t *testing.T) {
	t.Parallel()
	require.Equal(t, "a%20b", AliyunPercentEncode("a b"))
	require.Equal(t, "%2A", AliyunPercentEncode("*"))
	require.Equal(t, "~-_.", AliyunPercentEncode("~-_."))
	require.Equal(t, "%2F%3D%26%2B", AliyunPercentEncode("/=&+"))
}

// Tencent Cloud's TC3-HMAC-SHA256 example (CVM DescribeInstances, "Signature v3").
func TestTC3DocumentedExample(t *testing.T) {
	t.Parallel()
	s := TC3{
		SecretID:    "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
		SecretKey:   "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
		Service:     "cvm",
		Host:        "cvm.tencentcloudapi.com",
		ContentType: "application/json; charset=utf-8",
		Payload:     []byte(`{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`),
		Timestamp:   1551113065,
	}
	require.Equal(t, "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064", s.CanonicalRequest())
	require.Equal(t, "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031", s.StringToSign())
	require.Equal(t, "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168", s.Signature())
	require.Equal(t, "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168", s.Authorization())
}

// Twilio's documented request validation example (auth token 12345).
func TestTwilioDocumentedExample(t *testing.T) {
	t.Parallel()
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+14158675310"},
		"Digits":  {"1234"},
		"From":    {"+14158675310"},
		"To":      {"+18005551212"},
	}
	require.Equal(t, "GvWf1cFY/Q7PnoempGyD5oXAezc=", Twilio("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params))
	require.NotEqual(t, "GvWf1cFY/Q7PnoempGyD5oXAezc=", Twilio("12346", "https://mycompany.com/myapp.php?foo=1&bar=2", params))
}
