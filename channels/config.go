package channels

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Provider kinds (the "provider" key of a provider's configuration).
const (
	KindAliyun   = "aliyun"
	KindTencent  = "tencent"
	KindTwilio   = "twilio"
	KindSMTP     = "smtp"
	KindWeChatOA = "wechat_oa"
	KindWeCom    = "wecom"
)

// EndpointSandbox as a provider's endpoint starts a loopback sandbox of that provider
// and points the adapter at it.
const EndpointSandbox = "sandbox"

// Defaults applied by WithDefaults.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultSMTPPort      = 587
	DefaultSMTPPool      = 4
	DefaultSMTPTLS       = "mandatory"
	DefaultAliyunURL     = "https://dysmsapi.aliyuncs.com"
	DefaultTencentURL    = "https://sms.tencentcloudapi.com"
	DefaultTwilioURL     = "https://api.twilio.com"
	DefaultWeChatURL     = "https://api.weixin.qq.com"
	DefaultWeComURL      = "https://qyapi.weixin.qq.com"
	DefaultAliyunRegion  = "cn-hangzhou"
	DefaultTencentRegion = "ap-guangzhou"
	// DefaultSandboxSecret is the credential sandbox providers use when none is set.
	DefaultSandboxSecret = "sandbox-secret"
)

// DefaultRate is each kind's default rate limit in messages per second.
var defaultRate = map[string]float64{
	KindAliyun: 50, KindTencent: 50, KindTwilio: 10, KindSMTP: 20, KindWeChatOA: 50, KindWeCom: 20,
}

var kindChannel = map[string]Channel{
	KindAliyun: SMS, KindTencent: SMS, KindTwilio: SMS, KindSMTP: Email, KindWeChatOA: WeChat, KindWeCom: WeCom,
}

// ChannelOf returns the channel a provider kind serves ("" for an unknown kind).
func ChannelOf(kind string) Channel { return kindChannel[kind] }

// Config is the channels section of Carillon's configuration: the providers.
//
//	[[channels.provider]]
//	name = "aliyun-main"
//	provider = "aliyun"
//	...
type Config struct {
	Providers []ProviderConfig `toml:"provider"`
}

// ProviderConfig declares one provider. Which keys apply depends on Provider; see
// docs/providers.md for each kind.
type ProviderConfig struct {
	// Name identifies the provider in logs, receipts and webhook routes. Required, unique.
	Name string `toml:"name"`
	// Provider is the kind: aliyun, tencent, twilio, smtp, wechat_oa, wecom. Required.
	Provider string `toml:"provider"`
	// Endpoint is the API base URL (default: the provider's public one), or "sandbox"
	// to start a loopback simulator. For smtp it is host:port (or "sandbox").
	Endpoint string `toml:"endpoint"`
	// Rate is the rate limit in messages per second (default per kind: aliyun and
	// tencent 50, twilio 10, smtp 20, wechat_oa 50, wecom 20). Split across nodes by delivery.
	Rate float64 `toml:"rate"`
	// Burst is the token bucket's size (default: Rate rounded up, at least 1).
	Burst int `toml:"burst"`
	// DisplayName is the provider's name as staff read it in the console
	// ("阿里云短信（主）"); default: its kind's name in the console's language.
	DisplayName string `toml:"display_name"`
	// Priority orders providers of one channel for failover; lower first (default 0).
	Priority int `toml:"priority"`
	// Purposes the provider may carry (default service, care and marketing;
	// wechat_oa: service and care, as WeChat forbids marketing by template
	// message; wecom, which reaches the bank's own staff: service).
	Purposes []Purpose `toml:"purposes"`
	// Timeout bounds one API call (default 10s).
	Timeout Duration `toml:"timeout"`
	// MaxBodyBytes bounds a pushed receipt or event (default 1 MiB).
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// PushMaxAge (wechat_oa): a server push whose signed timestamp is further than
	// this from our clock, past or future, is refused, and so is a nonce seen
	// again within it (default 5m, wechat.DefaultPushMaxAge).
	PushMaxAge Duration `toml:"push_max_age"`

	// KeyID is the public half of the credentials: Aliyun AccessKeyId, Tencent
	// SecretId, Twilio Account SID, SMTP user name, Official Account AppID, WeCom CorpID.
	KeyID string `toml:"key_id"`
	// SecretEnv / SecretFile name where the secret half is: Aliyun AccessKeySecret,
	// Tencent SecretKey, Twilio Auth Token, SMTP password, OA AppSecret, WeCom
	// CorpSecret. Required unless Endpoint is "sandbox".
	SecretEnv  string `toml:"secret_env"`
	SecretFile string `toml:"secret_file"`
	// WebhookSecretEnv / WebhookSecretFile: the token our callback URLs carry (Aliyun,
	// Tencent, smtp bounces: ?token=…), or the WeChat/WeCom server Token.
	WebhookSecretEnv  string `toml:"webhook_secret_env"`
	WebhookSecretFile string `toml:"webhook_secret_file"`
	// AESKeyEnv / AESKeyFile: WeChat/WeCom EncodingAESKey; set for AES (safe) mode.
	AESKeyEnv  string `toml:"aes_key_env"`
	AESKeyFile string `toml:"aes_key_file"`

	// AppID: Tencent SmsSdkAppId; WeCom AgentID.
	AppID string `toml:"app_id"`
	// Region: Aliyun RegionId (default cn-hangzhou), Tencent region (default ap-guangzhou).
	Region string `toml:"region"`
	// SignName: default SMS signature (签名) of mainland providers.
	SignName string `toml:"sign_name"`
	// From: Twilio sender number or Messaging Service SID (MG…); email From address.
	From string `toml:"from"`
	// FromName: email From display name.
	FromName string `toml:"from_name"`
	// CallbackURL: Twilio StatusCallback URL sent with each message; its scheme and
	// host are also used to check X-Twilio-Signature behind a proxy.
	CallbackURL string `toml:"callback_url"`

	// TLS: smtp TLS policy: mandatory (STARTTLS required, default), opportunistic,
	// none, or implicit (SMTPS, port 465).
	TLS string `toml:"tls"`
	// Auth: smtp auth mechanism: plain (default when key_id is set), login, cram-md5, none.
	Auth string `toml:"auth"`
	// BounceDomain: domain of the VERP return path bounce+<message id>@domain
	// (default: the From address's domain).
	BounceDomain string `toml:"bounce_domain"`
	// Pool: smtp connections kept open per provider (default 4).
	Pool int `toml:"pool"`
	// HELO: smtp HELO name (default localhost).
	HELO string `toml:"helo"`

	// Sandbox configures the simulator when Endpoint is "sandbox".
	Sandbox SandboxConfig `toml:"sandbox"`
}

// SandboxConfig is the behaviour of a loopback sandbox.
type SandboxConfig struct {
	// Addr is the listen address (default 127.0.0.1:0, a free port).
	Addr string `toml:"addr"`
	// Latency is added to every API call (default 0).
	Latency Duration `toml:"latency"`
	// TempFailRate, PermFailRate, ThrottleRate: fractions (0..1) of sends answered with
	// the provider's temporary error, permanent error and throttling error.
	TempFailRate float64 `toml:"temp_fail_rate"`
	PermFailRate float64 `toml:"perm_fail_rate"`
	ThrottleRate float64 `toml:"throttle_rate"`
	// RateLimit: messages per second the sandbox accepts before throttling (0: no limit).
	RateLimit float64 `toml:"rate_limit"`
	// RecipientLimit: messages accepted per recipient before the provider's
	// per-recipient limit error (0: no limit).
	RecipientLimit int `toml:"recipient_limit"`
	// UndeliveredRate: fraction of accepted messages whose receipt says failed.
	UndeliveredRate float64 `toml:"undelivered_rate"`
	// UndeliveredCode: the carrier status-report code of those receipts (mainland
	// SMS sandboxes; default MN:0001 空号 for Aliyun, UNDELIV for Tencent).
	UndeliveredCode string `toml:"undelivered_code"`
	// ReceiptURL: where receipts are pushed, like the provider's console setting
	// (default: none). Twilio pushes to each message's StatusCallback instead.
	ReceiptURL string `toml:"receipt_url"`
	// ReceiptDelay: delay before a receipt is pushed (default 0).
	ReceiptDelay Duration `toml:"receipt_delay"`
}

// Duration is a time.Duration written as "1.5s" in TOML.
type Duration time.Duration

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// WithDefaults returns the config with every provider's defaults applied.
func (c Config) WithDefaults() Config {
	out := Config{Providers: make([]ProviderConfig, len(c.Providers))}
	for i, p := range c.Providers {
		out.Providers[i] = p.WithDefaults()
	}
	return out
}

// IsSandbox reports whether the provider runs against a loopback sandbox.
func (p ProviderConfig) IsSandbox() bool { return p.Endpoint == EndpointSandbox }

// WithDefaults applies the defaults of the provider's kind.
func (p ProviderConfig) WithDefaults() ProviderConfig {
	p.Rate = cmp.Or(p.Rate, defaultRate[p.Provider])
	if p.Burst == 0 {
		p.Burst = max(1, int(p.Rate+0.999))
	}
	p.Timeout = cmp.Or(p.Timeout, Duration(DefaultTimeout))
	p.MaxBodyBytes = cmp.Or(p.MaxBodyBytes, DefaultMaxBody)
	if len(p.Purposes) == 0 {
		switch p.Provider {
		case KindWeCom:
			p.Purposes = []Purpose{PurposeService}
		case KindWeChatOA:
			p.Purposes = []Purpose{PurposeService, PurposeCare}
		default:
			p.Purposes = []Purpose{PurposeService, PurposeCare, PurposeMarketing}
		}
	}
	switch p.Provider {
	case KindAliyun:
		p.Endpoint = cmp.Or(p.Endpoint, DefaultAliyunURL)
		p.Region = cmp.Or(p.Region, DefaultAliyunRegion)
	case KindTencent:
		p.Endpoint = cmp.Or(p.Endpoint, DefaultTencentURL)
		p.Region = cmp.Or(p.Region, DefaultTencentRegion)
	case KindTwilio:
		p.Endpoint = cmp.Or(p.Endpoint, DefaultTwilioURL)
	case KindSMTP:
		p.TLS = cmp.Or(p.TLS, DefaultSMTPTLS)
		p.Pool = cmp.Or(p.Pool, DefaultSMTPPool)
		p.HELO = cmp.Or(p.HELO, "localhost")
		if p.BounceDomain == "" {
			if at := strings.LastIndexByte(p.From, '@'); at >= 0 {
				p.BounceDomain = strings.TrimSuffix(p.From[at+1:], ">")
			}
		}
		if p.Auth == "" {
			p.Auth = "none"
			if p.KeyID != "" {
				p.Auth = "plain"
			}
		}
	case KindWeChatOA:
		p.Endpoint = cmp.Or(p.Endpoint, DefaultWeChatURL)
	case KindWeCom:
		p.Endpoint = cmp.Or(p.Endpoint, DefaultWeComURL)
	}
	return p
}

// Validate checks the configuration after WithDefaults; it reports every problem.
func (c Config) Validate() error { return c.validate() }

func (c Config) validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, p := range c.Providers {
		if err := p.validate(); err != nil {
			errs = append(errs, fmt.Errorf("channels.provider[%d] %q: %w", i, p.Name, err))
		}
		if seen[p.Name] {
			errs = append(errs, fmt.Errorf("channels.provider[%d]: name %q used twice", i, p.Name))
		}
		seen[p.Name] = true
	}
	return errors.Join(errs...)
}

// Validate checks one provider's configuration (after WithDefaults).
func (p ProviderConfig) Validate() error { return p.validate() }

func (p ProviderConfig) validate() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	if p.Name == "" {
		bad("name is required")
	}
	if _, ok := kindChannel[p.Provider]; !ok {
		bad("provider %q is not one of aliyun, tencent, twilio, smtp, wechat_oa, wecom", p.Provider)
	}
	if p.Rate < 0 || p.Burst < 0 {
		bad("rate and burst must not be negative")
	}
	if p.PushMaxAge < 0 {
		bad("push_max_age must not be negative")
	}
	for _, pu := range p.Purposes {
		if pu != PurposeService && pu != PurposeCare && pu != PurposeMarketing {
			bad("purpose %q is not service, care or marketing", pu)
		}
	}
	if (p.Provider == KindWeChatOA) && slicesContains(p.Purposes, PurposeMarketing) {
		bad("wechat_oa may not carry marketing: WeChat forbids marketing by template message")
	}
	if p.Endpoint != EndpointSandbox && p.Endpoint != "" && p.Provider != KindSMTP {
		if u, err := url.Parse(p.Endpoint); err != nil || u.Scheme == "" || u.Host == "" {
			bad("endpoint %q is neither a URL nor \"sandbox\"", p.Endpoint)
		}
	}
	if p.Provider == KindSMTP && p.Endpoint == "" {
		bad("endpoint (host:port of the SMTP server) is required")
	}
	if !p.IsSandbox() {
		if p.SecretEnv == "" && p.SecretFile == "" && p.Provider != KindSMTP {
			bad("secret_env or secret_file is required")
		}
		if p.KeyID == "" && p.Provider != KindSMTP {
			bad("key_id is required")
		}
		switch p.Provider {
		case KindAliyun, KindTencent, KindWeChatOA:
			if p.WebhookSecretEnv == "" && p.WebhookSecretFile == "" {
				bad("webhook_secret_env or webhook_secret_file is required (callback token)")
			}
		}
	}
	switch p.Provider {
	case KindTencent:
		if p.AppID == "" && !p.IsSandbox() {
			bad("app_id (SmsSdkAppId) is required")
		}
	case KindTwilio:
		if p.From == "" {
			bad("from (sender number or MG… Messaging Service SID) is required")
		}
	case KindSMTP:
		if p.From == "" {
			bad("from is required")
		}
		switch p.TLS {
		case "mandatory", "opportunistic", "none", "implicit":
		default:
			bad("tls %q is not mandatory, opportunistic, none or implicit", p.TLS)
		}
	case KindWeCom:
		if p.AppID == "" && !p.IsSandbox() {
			bad("app_id (AgentID) is required")
		}
	}
	return errors.Join(errs...)
}

func slicesContains(ps []Purpose, p Purpose) bool {
	for _, x := range ps {
		if x == p {
			return true
		}
	}
	return false
}

// Secret is a resolved secret. It prints as "****" and logs as "****"; Reveal
// returns the value.
type Secret struct{ v string }

// NewSecret wraps a value.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

func (s Secret) String() string { return "****" }

// LogValue keeps the secret out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue("****") }

// ResolveSecret reads a secret from the environment variable env or the file path
// (trailing newline trimmed). getenv defaults to os.Getenv. Both empty gives a zero Secret.
func ResolveSecret(env, file string, getenv func(string) string) (Secret, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if env != "" {
		v := getenv(env)
		if v == "" {
			return Secret{}, fmt.Errorf("secret: environment variable %s is empty or unset", env)
		}
		return Secret{v: v}, nil
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return Secret{}, fmt.Errorf("secret: read file: %w", err)
		}
		return Secret{v: strings.TrimRight(string(b), "\r\n")}, nil
	}
	return Secret{}, nil
}

// Secrets are a provider's resolved secrets.
type Secrets struct {
	Secret  Secret // API secret / password
	Webhook Secret // callback token / WeChat server Token
	AESKey  Secret // WeChat EncodingAESKey
}

// ResolveSecrets resolves the provider's secret references. A sandbox provider
// without references gets DefaultSandboxSecret (and no AES key).
func (p ProviderConfig) ResolveSecrets(getenv func(string) string) (Secrets, error) {
	var s Secrets
	var err error
	if s.Secret, err = ResolveSecret(p.SecretEnv, p.SecretFile, getenv); err != nil {
		return s, fmt.Errorf("%s secret: %w", p.Name, err)
	}
	if s.Webhook, err = ResolveSecret(p.WebhookSecretEnv, p.WebhookSecretFile, getenv); err != nil {
		return s, fmt.Errorf("%s webhook secret: %w", p.Name, err)
	}
	if s.AESKey, err = ResolveSecret(p.AESKeyEnv, p.AESKeyFile, getenv); err != nil {
		return s, fmt.Errorf("%s aes key: %w", p.Name, err)
	}
	if p.IsSandbox() {
		if s.Secret.IsZero() {
			s.Secret = NewSecret(DefaultSandboxSecret)
		}
		if s.Webhook.IsZero() {
			s.Webhook = NewSecret(DefaultSandboxSecret)
		}
	}
	return s, nil
}

// DecodeTOML decodes a TOML document holding [[provider]] tables (the channels
// section of Carillon's config file), refusing unknown keys, and applies defaults.
func DecodeTOML(data string) (Config, error) {
	var c Config
	md, err := toml.Decode(data, &c)
	if err != nil {
		return Config{}, fmt.Errorf("channels config: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return Config{}, fmt.Errorf("channels config: unknown keys %s", strings.Join(keys, ", "))
	}
	c = c.WithDefaults()
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}
