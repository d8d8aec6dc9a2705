package registry_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/channels/registry"
	"carillon/internal/pgtest"
)

const config = `
[[provider]]
name = "aliyun-main"
provider = "aliyun"
endpoint = "sandbox"
rate = 100
priority = 1
sign_name = "Carillon银行"
  [provider.sandbox]
  latency = "1ms"

[[provider]]
name = "tencent-backup"
provider = "tencent"
endpoint = "sandbox"
priority = 2

[[provider]]
name = "twilio-intl"
provider = "twilio"
endpoint = "sandbox"
from = "+15005550006"
priority = 3

[[provider]]
name = "mail"
provider = "smtp"
endpoint = "sandbox"
from = "care@bank.example"

[[provider]]
name = "oa"
provider = "wechat_oa"
endpoint = "sandbox"

[[provider]]
name = "wecom"
provider = "wecom"
endpoint = "sandbox"
app_id = "1000002"
`

func TestBuildFromConfigStartsSandboxes(t *testing.T) {
	t.Parallel()
	cfg, err := channels.DecodeTOML(config)
	require.NoError(t, err)
	db := pgtest.New(t)
	ctx := context.Background()
	b, err := registry.Build(ctx, cfg, registry.Deps{Pool: db.Pool})
	require.NoError(t, err)
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		b.Stop(c)
	})
	require.Len(t, b.Sandboxes, 6)
	sms := b.Registry.Providers(channels.SMS)
	require.Equal(t, []string{"aliyun-main", "tencent-backup", "twilio-intl"}, []string{sms[0].Name, sms[1].Name, sms[2].Name})
	require.Equal(t, 100.0, sms[0].Limiter.Rate())
	require.Empty(t, b.Registry.For(channels.WeChat, channels.PurposeMarketing), "WeChat carries service only")

	p, _ := b.Registry.Provider("aliyun-main")
	_, err = p.Send(ctx, channels.Message{ID: "r1", To: channels.Address{Channel: channels.SMS, Value: "+8613800138000"},
		Purpose: channels.PurposeService, Template: &channels.ProviderTemplate{Code: "SMS_1"}})
	require.NoError(t, err)
	require.Equal(t, 1, b.Sandboxes["aliyun-main"].Recorder().SendsOf("r1"))

	p, _ = b.Registry.Provider("mail")
	_, err = p.Send(ctx, channels.Message{ID: "r2", To: channels.Address{Channel: channels.Email, Value: "a@example.com"},
		Purpose: channels.PurposeService, Subject: "hi", Text: "hi"})
	require.NoError(t, err)

	p, _ = b.Registry.Provider("wecom")
	res, err := p.Send(ctx, channels.Message{ID: "r3", To: channels.Address{Channel: channels.WeCom, Value: "zhangwei"},
		Purpose: channels.PurposeService, Text: "提醒"})
	require.NoError(t, err)
	require.Equal(t, channels.StatusDelivered, res.Receipt.Status)
}

func TestConfigValidationAndSecrets(t *testing.T) {
	t.Parallel()
	_, err := channels.DecodeTOML(`
[[provider]]
name = "x"
provider = "aliyun"
`)
	require.ErrorContains(t, err, "secret_env or secret_file is required")
	_, err = channels.DecodeTOML("[[provider]]\nname = \"x\"\nprovider = \"carrier-pigeon\"\nendpoint = \"sandbox\"\n")
	require.ErrorContains(t, err, "not one of")
	_, err = channels.DecodeTOML("[[provider]]\nname = \"x\"\nprovider = \"wechat_oa\"\nendpoint = \"sandbox\"\npurposes = [\"marketing\"]\n")
	require.ErrorContains(t, err, "forbids marketing")
	_, err = channels.DecodeTOML("[[provider]]\nname = \"x\"\nprovider = \"aliyun\"\nendpoint = \"sandbox\"\nsecret = \"inline\"\n")
	require.ErrorContains(t, err, "unknown keys")

	dir := t.TempDir()
	f := filepath.Join(dir, "secret")
	require.NoError(t, os.WriteFile(f, []byte("s3cret\n"), 0o600))
	pc := channels.ProviderConfig{Name: "x", SecretFile: f, WebhookSecretEnv: "HOOK"}
	s, err := pc.ResolveSecrets(func(k string) string { return map[string]string{"HOOK": "h00k"}[k] })
	require.NoError(t, err)
	require.Equal(t, "s3cret", s.Secret.Reveal())
	require.Equal(t, "h00k", s.Webhook.Reveal())
	require.Equal(t, "****", s.Secret.String())
	_, err = channels.ProviderConfig{Name: "x", SecretEnv: "MISSING"}.ResolveSecrets(func(string) string { return "" })
	require.ErrorContains(t, err, "MISSING")
}
