// Package channels is the contract between Carillon's delivery worker and the
// providers that carry its messages: SMS (Aliyun, Tencent Cloud, Twilio), email over
// SMTP, WeChat Official Account template messages and WeCom application messages.
//
// Each configured provider is a Sender. Send returns either a Result or an error the
// worker can act on without knowing the provider:
//
//   - IsPermanent(err): this address will never work (invalid number, unknown
//     mailbox, user blocked us); give up on the message.
//   - IsRateLimited(err): retry after RetryAfter(err); when RecipientScoped(err) only
//     this recipient is limited (Aliyun isv.BUSINESS_LIMIT_CONTROL), so delay or fall
//     back this one message and keep the provider in service.
//   - anything else is temporary (IsTemporary): retry later, maybe elsewhere.
//
// Providers that push delivery receipts over HTTP implement ReceiptParser; those that
// push replies and follow/unfollow events implement InboundParser. Both verify the
// request (signature or secret token) and refuse bad input with a *RequestError the
// server maps to 401/403, 400 or 413 (see RequestError.HTTPStatus).
//
// A Registry holds the configured providers of each channel, ordered by priority, each
// with its token-bucket rate limit and the purposes it may carry. The sub-packages
// implement the providers (channels/sms, channels/email, channels/wechat), the
// loopback simulators (channels/sandbox) and the wiring from configuration
// (channels/registry).
package channels
