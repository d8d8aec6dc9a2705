// Package sandbox runs loopback simulators of Carillon's providers: the Aliyun,
// Tencent Cloud and Twilio SMS APIs, an SMTP server (go-smtp), and the WeChat
// Official Account and WeCom APIs. Each speaks its provider's wire format, checks
// signatures and credentials as the provider would, answers with the provider's own
// error codes at configurable rates (temporary, permanent, throttling, per-recipient
// limits), adds latency, records what it accepted, and pushes receipts back to the
// configured webhook URL like the real provider does.
//
// Sandboxes start from configuration (endpoint = "sandbox", see channels/registry)
// so the demo and the tests exercise the real adapter code.
package sandbox
