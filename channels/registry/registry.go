// Package registry builds the channels.Registry from configuration: one adapter per
// declared provider, with its rate limit, priority and purposes, and a loopback
// sandbox started for every provider whose endpoint is "sandbox".
package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/channels"
	"carillon/channels/email"
	"carillon/channels/sandbox"
	"carillon/channels/sms"
	"carillon/channels/wechat"
)

// Deps are what the adapters need besides their configuration.
type Deps struct {
	Pool   *pgxpool.Pool // WeChat/WeCom token store; required when those are configured
	Logger *slog.Logger
	Getenv func(string) string // default os.Getenv
	Now    func() time.Time
}

// Sandbox is a running simulator.
type Sandbox interface {
	URL() string
	Recorder() *sandbox.Recorder
	Stop(ctx context.Context)
}

// Built is the registry and the sandboxes started for it.
type Built struct {
	Registry  *channels.Registry
	Sandboxes map[string]Sandbox // by provider name
	closers   []func() error
}

// Stop stops the sandboxes and closes pooled connections.
func (b *Built) Stop(ctx context.Context) {
	for _, c := range b.closers {
		_ = c()
	}
	for _, s := range b.Sandboxes {
		s.Stop(ctx)
	}
}

// Build applies defaults, validates cfg and builds every provider.
func Build(ctx context.Context, cfg channels.Config, deps Deps) (*Built, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Built{Sandboxes: map[string]Sandbox{}}
	var ps []*channels.Provider
	for _, pc := range cfg.Providers {
		p, err := b.build(ctx, pc, deps)
		if err != nil {
			b.Stop(ctx)
			return nil, fmt.Errorf("channels: provider %q: %w", pc.Name, err)
		}
		ps = append(ps, p)
	}
	reg, err := channels.NewRegistry(ps...)
	if err != nil {
		b.Stop(ctx)
		return nil, err
	}
	b.Registry = reg
	return b, nil
}

func (b *Built) build(ctx context.Context, pc channels.ProviderConfig, deps Deps) (*channels.Provider, error) {
	sec, err := pc.ResolveSecrets(deps.Getenv)
	if err != nil {
		return nil, err
	}
	endpoint := pc.Endpoint
	if pc.IsSandbox() {
		if pc.KeyID == "" {
			pc.KeyID = "sandbox-" + pc.Provider
		}
		sb, err := startSandbox(ctx, pc, sec, deps.Logger, deps.Now)
		if err != nil {
			return nil, err
		}
		b.Sandboxes[pc.Name] = sb
		endpoint = sb.URL()
	}
	p := &channels.Provider{Name: pc.Name, Kind: pc.Provider, DisplayName: pc.DisplayName, Channel: channels.ChannelOf(pc.Provider), Priority: pc.Priority,
		Purposes: pc.Purposes, Limiter: channels.NewLimiter(pc.Rate, pc.Burst, deps.Now)}
	to := pc.Timeout.D()
	switch pc.Provider {
	case channels.KindAliyun:
		a, err := sms.NewAliyun(sms.AliyunConfig{Name: pc.Name, Endpoint: endpoint, AccessKeyID: pc.KeyID, AccessKeySecret: sec.Secret,
			Region: pc.Region, SignName: pc.SignName, WebhookToken: sec.Webhook, MaxBody: pc.MaxBodyBytes, Timeout: to, Logger: deps.Logger, Now: deps.Now})
		if err != nil {
			return nil, err
		}
		p.Sender, p.Receipts, p.Inbound = a, a, a
	case channels.KindTencent:
		t, err := sms.NewTencent(sms.TencentConfig{Name: pc.Name, Endpoint: endpoint, SecretID: pc.KeyID, SecretKey: sec.Secret,
			SdkAppID: pc.AppID, Region: pc.Region, SignName: pc.SignName, WebhookToken: sec.Webhook, MaxBody: pc.MaxBodyBytes, Timeout: to, Now: deps.Now})
		if err != nil {
			return nil, err
		}
		p.Sender, p.Receipts, p.Inbound = t, t, t
	case channels.KindTwilio:
		t, err := sms.NewTwilio(sms.TwilioConfig{Name: pc.Name, Endpoint: endpoint, AccountSID: pc.KeyID, AuthToken: sec.Secret,
			From: pc.From, StatusCallback: pc.CallbackURL, MaxBody: pc.MaxBodyBytes, Timeout: to, Now: deps.Now})
		if err != nil {
			return nil, err
		}
		p.Sender, p.Receipts, p.Inbound = t, t, t
	case channels.KindSMTP:
		host, port, err := net.SplitHostPort(endpoint)
		if err != nil {
			return nil, fmt.Errorf("smtp endpoint %q: want host:port: %w", endpoint, err)
		}
		n, _ := strconv.Atoi(port)
		tls, auth := pc.TLS, pc.Auth
		if pc.IsSandbox() {
			tls, auth = "none", "none"
		}
		e, err := email.New(email.Config{Name: pc.Name, Host: host, Port: n, TLS: tls, Auth: auth, Username: pc.KeyID,
			Password: sec.Secret, From: pc.From, FromName: pc.FromName, BounceDomain: pc.BounceDomain, Pool: pc.Pool,
			HELO: pc.HELO, Timeout: to, WebhookToken: sec.Webhook, MaxBody: pc.MaxBodyBytes, Logger: deps.Logger, Now: deps.Now})
		if err != nil {
			return nil, err
		}
		b.closers = append(b.closers, e.Close)
		p.Sender, p.Receipts = e, e
	case channels.KindWeChatOA:
		if deps.Pool == nil {
			return nil, errors.New("wechat_oa needs a database pool for its access token")
		}
		o, err := wechat.NewOA(wechat.OAConfig{Name: pc.Name, Endpoint: endpoint, AppID: pc.KeyID, AppSecret: sec.Secret,
			Token: sec.Webhook, AESKey: sec.AESKey, Pool: deps.Pool, MaxBody: pc.MaxBodyBytes, Timeout: to,
			PushMaxAge: pc.PushMaxAge.D(), Now: deps.Now})
		if err != nil {
			return nil, err
		}
		p.Sender, p.Receipts, p.Inbound = o, o, o
	case channels.KindWeCom:
		if deps.Pool == nil {
			return nil, errors.New("wecom needs a database pool for its access token")
		}
		w, err := wechat.NewWeCom(wechat.WeComConfig{Name: pc.Name, Endpoint: endpoint, CorpID: pc.KeyID, CorpSecret: sec.Secret,
			AgentID: pc.AppID, Pool: deps.Pool, Timeout: to, Now: deps.Now})
		if err != nil {
			return nil, err
		}
		p.Sender = w
	}
	return p, nil
}

func startSandbox(ctx context.Context, pc channels.ProviderConfig, sec channels.Secrets, log *slog.Logger, now func() time.Time) (Sandbox, error) {
	o := sandbox.Options{Name: pc.Name, Behavior: pc.Sandbox, KeyID: pc.KeyID, Secret: sec.Secret.Reveal(),
		Token: sec.Webhook.Reveal(), AESKey: sec.AESKey.Reveal(), Logger: log, Now: now}
	switch pc.Provider {
	case channels.KindAliyun:
		return sandbox.StartAliyun(ctx, o)
	case channels.KindTencent:
		return sandbox.StartTencent(ctx, o)
	case channels.KindTwilio:
		return sandbox.StartTwilio(ctx, o)
	case channels.KindSMTP:
		s, err := sandbox.StartSMTP(ctx, o)
		if err != nil {
			return nil, err
		}
		return smtpSandbox{s}, nil
	case channels.KindWeChatOA:
		return sandbox.StartWeChatOA(ctx, o)
	case channels.KindWeCom:
		return sandbox.StartWeCom(ctx, o)
	}
	return nil, fmt.Errorf("no sandbox for %q", pc.Provider)
}

// smtpSandbox reports host:port as its URL (the SMTP adapter's endpoint form).
type smtpSandbox struct{ *sandbox.SMTP }

func (s smtpSandbox) URL() string { return s.Addr() }
