package main

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"carillon/calendar"
	"carillon/channels"
	"carillon/delivery"
	"carillon/server/console"
	"carillon/server/edge"
	"carillon/templates"
)

// fileConfig is carillon.toml: the server, delivery policy and the providers. The
// file is optional; environment variables and flags override it.
type fileConfig struct {
	Server struct {
		Addr      string `toml:"addr"`
		OpsAddr   string `toml:"ops_addr"`
		PublicURL string `toml:"public_url"`
		// TrustedProxies are the CIDRs of the proxies whose X-Forwarded-For
		// and X-Forwarded-Proto are believed. Default none.
		TrustedProxies []string `toml:"trusted_proxies"`
		// Read timeouts per route class (Go durations) and the cap on
		// concurrent imports; defaults in server/edge.
		ReadHeaderTimeout string `toml:"read_header_timeout"`
		BodyTimeout       string `toml:"body_timeout"`
		WebhookTimeout    string `toml:"webhook_timeout"`
		ImportTimeout     string `toml:"import_timeout"`
		ImportIdleTimeout string `toml:"import_idle_timeout"`
		MaxUploads        int    `toml:"max_uploads"`
	} `toml:"server"`
	Delivery struct {
		MarketingHours  string `toml:"marketing_hours"` // "09:00-20:00", or "always"
		ServiceHours    string `toml:"service_hours"`
		FrequencyCap    int    `toml:"frequency_cap"` // negative: off
		FrequencyWindow string `toml:"frequency_window"`
		MaxAttempts     int    `toml:"max_attempts"`
		Backoff         string `toml:"backoff"`
		JobBatch        int    `toml:"job_batch"`
		SendConcurrency int    `toml:"send_concurrency"`
		Workers         int    `toml:"workers"`
	} `toml:"delivery"`
	Channels channels.Config `toml:"channels"`
	// Campaigns are the approver's cost estimate and the second approval;
	// CARILLON_SMS_PRICES and the other variables of campaignConfig override it.
	Campaigns struct {
		SMSPrices           map[string]float64 `toml:"sms_prices"` // by provider name
		EmailPrice          float64            `toml:"email_price"`
		WeChatPrice         float64            `toml:"wechat_price"`
		Currency            string             `toml:"currency"`
		MonthlyBudget       float64            `toml:"monthly_budget"`
		SecondApprovalAbove int64              `toml:"second_approval_above"`
	} `toml:"campaigns"`
	// Console is the web console's: the zone "today" is read in, session
	// lengths, Secure cookies behind a proxy that ends TLS.
	Console struct {
		TimeZone      string `toml:"time_zone"`
		SessionTTL    string `toml:"session_ttl"`
		IdleTimeout   string `toml:"idle_timeout"`
		SecureCookies bool   `toml:"secure_cookies"`
	} `toml:"console"`
	// Auth is how staff sign in: local passwords, OIDC, LDAP, and the role map
	// (auth_config.go; docs/security.md).
	Auth authSection `toml:"auth"`
	// Bank is the sender's identity, the templates' .Bank.Name, .Bank.Hotline
	// and .Bank.URL.
	Bank struct {
		Name    string `toml:"name"`
		Hotline string `toml:"hotline"`
		URL     string `toml:"url"`
	} `toml:"bank"`
	// Calendar is the festivals greeted (festivals, add = ["laba"], xiaonian,
	// [[calendar.festival]]) and the bank's public-holiday years
	// ([[calendar.year]]); see docs/calendar.md.
	Calendar calendar.Config `toml:"calendar"`
}

// bank is the file's [bank] section as the templates' .Bank.
func (fc fileConfig) bank() templates.Bank {
	return templates.Bank{Name: fc.Bank.Name, Hotline: fc.Bank.Hotline, URL: fc.Bank.URL}
}

// loadConfig reads the file named by --config or CARILLON_CONFIG; none is fine.
func loadConfig(path string) (fileConfig, error) {
	var fc fileConfig
	if path == "" {
		return fc, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fc, fmt.Errorf("config: %w", err)
	}
	return parseConfig(string(data), path)
}

func parseConfig(data, name string) (fileConfig, error) {
	var fc fileConfig
	md, err := toml.Decode(data, &fc)
	if err != nil {
		return fc, fmt.Errorf("config %s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return fc, fmt.Errorf("config %s: unknown keys %s", name, strings.Join(keys, ", "))
	}
	if err := fc.Calendar.Validate(); err != nil {
		return fc, fmt.Errorf("config %s: %w", name, err)
	}
	fc.Calendar = fc.Calendar.WithDefaults()
	fc.Channels = fc.Channels.WithDefaults()
	if err := fc.Channels.Validate(); err != nil {
		return fc, fmt.Errorf("config %s: %w", name, err)
	}
	return fc, nil
}

// deliveryConfig turns the file's [delivery] section into delivery.Config.
func (fc fileConfig) deliveryConfig() (delivery.Config, error) {
	d := fc.Delivery
	cfg := delivery.Config{FrequencyCap: d.FrequencyCap, MaxAttempts: d.MaxAttempts, JobBatch: d.JobBatch, SendConcurrency: d.SendConcurrency, PublicURL: fc.Server.PublicURL}
	var err error
	if cfg.MarketingWindow, err = parseHours("delivery.marketing_hours", d.MarketingHours); err != nil {
		return cfg, err
	}
	if cfg.ServiceWindow, err = parseHours("delivery.service_hours", d.ServiceHours); err != nil {
		return cfg, err
	}
	if cfg.FrequencyCapIn, err = parseDuration("delivery.frequency_window", d.FrequencyWindow); err != nil {
		return cfg, err
	}
	if cfg.Backoff, err = parseDuration("delivery.backoff", d.Backoff); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// parseHours reads "09:00-20:00" (or "always"); "" keeps the default.
func parseHours(key, v string) (delivery.Window, error) {
	switch strings.TrimSpace(v) {
	case "":
		return delivery.Window{}, nil
	case "always":
		return delivery.Always, nil
	}
	a, b, ok := strings.Cut(v, "-")
	start, err1 := time.Parse("15:04", strings.TrimSpace(a))
	end, err2 := time.Parse("15:04", strings.TrimSpace(b))
	if !ok || err1 != nil || (err2 != nil && strings.TrimSpace(b) != "24:00") {
		return delivery.Window{}, fmt.Errorf("config %s: %q is not a window such as 09:00-20:00", key, v)
	}
	w := delivery.Window{Start: start.Hour()*60 + start.Minute(), End: 24 * 60}
	if err2 == nil {
		w.End = end.Hour()*60 + end.Minute()
	}
	if w.Start >= w.End {
		return w, fmt.Errorf("config %s: %q ends before it starts", key, v)
	}
	return w, nil
}

// parseDuration reads a Go duration; "" keeps the default (zero).
func parseDuration(key, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("config %s: %q is not a duration such as 168h", key, v)
	}
	return d, nil
}

// consoleConfig turns the file's [console] section into the console's
// configuration.
func (fc fileConfig) consoleConfig() (console.Config, error) {
	c := console.Config{TimeZone: fc.Console.TimeZone, SecureCookies: fc.Console.SecureCookies}
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil {
			return c, fmt.Errorf("config: console.time_zone %q: %w", c.TimeZone, err)
		}
	}
	var err error
	if c.SessionTTL, err = parseDuration("console.session_ttl", fc.Console.SessionTTL); err != nil {
		return c, err
	}
	if c.IdleTimeout, err = parseDuration("console.idle_timeout", fc.Console.IdleTimeout); err != nil {
		return c, err
	}
	return c, nil
}

// trustedProxies reads the file's server.trusted_proxies.
func (fc fileConfig) trustedProxies() ([]netip.Prefix, error) {
	ps, err := edge.ParseProxies(fc.Server.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("config server.trusted_proxies: %w", err)
	}
	return ps, nil
}

// timeouts reads the file's server read timeouts.
func (fc fileConfig) timeouts() (edge.Timeouts, error) {
	t := edge.Timeouts{MaxUploads: fc.Server.MaxUploads}
	for _, f := range []struct {
		key, v string
		dst    *time.Duration
	}{
		{"server.read_header_timeout", fc.Server.ReadHeaderTimeout, &t.ReadHeader},
		{"server.body_timeout", fc.Server.BodyTimeout, &t.Body},
		{"server.webhook_timeout", fc.Server.WebhookTimeout, &t.Webhook},
		{"server.import_timeout", fc.Server.ImportTimeout, &t.Import},
		{"server.import_idle_timeout", fc.Server.ImportIdleTimeout, &t.ImportIdle},
	} {
		d, err := parseDuration(f.key, f.v)
		if err != nil {
			return t, err
		}
		if d < 0 {
			return t, fmt.Errorf("config %s: %q is negative", f.key, f.v)
		}
		*f.dst = d
	}
	if t.MaxUploads < 0 {
		return t, fmt.Errorf("config server.max_uploads: %d is negative", t.MaxUploads)
	}
	return t, nil
}
