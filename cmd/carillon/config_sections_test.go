package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCampaignsSectionOfTheConfig(t *testing.T) {
	t.Parallel()
	fc, err := parseConfig(`
[campaigns]
sms_prices = { ali = 0.045, tx = 0.05 }
email_price = 0.001
currency = "CNY"
monthly_budget = 20000
second_approval_above = 100000
`, "test")
	require.NoError(t, err)
	cfg, err := campaignConfigFrom(fc, func(string) string { return "" })
	require.NoError(t, err)
	require.Equal(t, map[string]float64{"ali": 0.045, "tx": 0.05}, cfg.Pricing.SMS)
	require.Equal(t, 0.001, cfg.Pricing.Email)
	require.Equal(t, "CNY", cfg.Pricing.Currency)
	require.Equal(t, 20000.0, cfg.Pricing.MonthlyBudget)
	require.EqualValues(t, 100000, cfg.SecondApprovalAbove)

	// The environment overrides the file.
	env := map[string]string{"CARILLON_SMS_PRICES": "ali=0.04", "CARILLON_CAMPAIGN_BUDGET": "5000"}
	cfg, err = campaignConfigFrom(fc, func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, map[string]float64{"ali": 0.04}, cfg.Pricing.SMS)
	require.Equal(t, 5000.0, cfg.Pricing.MonthlyBudget)
	require.Equal(t, "CNY", cfg.Pricing.Currency)

	fc, err = parseConfig("[campaigns]\nemail_price = -1\n", "test")
	require.NoError(t, err)
	_, err = campaignConfigFrom(fc, func(string) string { return "" })
	require.ErrorContains(t, err, "campaigns.email_price is negative")
	_, err = parseConfig("[campaigns]\nsms_price = 1\n", "test")
	require.ErrorContains(t, err, "unknown keys campaigns.sms_price")
}

func TestConsoleSectionOfTheConfig(t *testing.T) {
	t.Parallel()
	fc, err := parseConfig("[console]\ntime_zone = \"America/New_York\"\nsession_ttl = \"8h\"\nidle_timeout = \"30m\"\nsecure_cookies = true\n", "test")
	require.NoError(t, err)
	c, err := fc.consoleConfig()
	require.NoError(t, err)
	require.Equal(t, "America/New_York", c.TimeZone)
	require.Equal(t, 8*time.Hour, c.SessionTTL)
	require.Equal(t, 30*time.Minute, c.IdleTimeout)
	require.True(t, c.SecureCookies)
	for _, bad := range []string{"[console]\ntime_zone = \"Mars/Olympus\"\n", "[console]\nidle_timeout = \"soon\"\n"} {
		fc, err := parseConfig(bad, "test")
		require.NoError(t, err)
		_, err = fc.consoleConfig()
		require.Error(t, err, bad)
	}
}

func TestServerSectionNamesTrustedProxies(t *testing.T) {
	t.Parallel()
	fc, err := parseConfig("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7\"]\n", "test")
	require.NoError(t, err)
	ps, err := fc.trustedProxies()
	require.NoError(t, err)
	require.Len(t, ps, 2)
	require.Equal(t, "192.0.2.7/32", ps[1].String())
	fc, err = parseConfig("", "test")
	require.NoError(t, err)
	ps, err = fc.trustedProxies()
	require.NoError(t, err)
	require.Empty(t, ps, "none by default")
	fc, err = parseConfig("[server]\ntrusted_proxies = [\"10.0.0.0/40\"]\n", "test")
	require.NoError(t, err)
	_, err = fc.trustedProxies()
	require.ErrorContains(t, err, "server.trusted_proxies")
}

func TestServerSectionSetsReadTimeouts(t *testing.T) {
	t.Parallel()
	fc, err := parseConfig("[server]\nbody_timeout = \"20s\"\nimport_idle_timeout = \"2m\"\nmax_uploads = 2\n", "test")
	require.NoError(t, err)
	to, err := fc.timeouts()
	require.NoError(t, err)
	require.Equal(t, 20*time.Second, to.Body)
	require.Equal(t, 2*time.Minute, to.ImportIdle)
	require.Equal(t, 2, to.MaxUploads)
	require.Zero(t, to.Webhook, "unset: the server's default")
	fc, err = parseConfig("[server]\nwebhook_timeout = \"soon\"\n", "test")
	require.NoError(t, err)
	_, err = fc.timeouts()
	require.ErrorContains(t, err, "server.webhook_timeout")
}

func TestDeliverySectionSetsTheJobsSends(t *testing.T) {
	t.Parallel()
	fc, err := parseConfig("[delivery]\njob_batch = 200\nsend_concurrency = 16\n", "test")
	require.NoError(t, err)
	cfg, err := fc.deliveryConfig()
	require.NoError(t, err)
	require.Equal(t, 200, cfg.JobBatch)
	require.Equal(t, 16, cfg.SendConcurrency)
}
