package templates

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/audit"
)

func TestSaveRefusesUnknownVariable(t *testing.T) {
	t.Parallel()
	b := setup(t)
	def := smsDef("{{.Contact.Salutation}}，您的积分{{.Contact.Points}}即将过期")
	_, _, err := b.store.Save(b.ctx, b.actor, def, SaveOptions{})
	ve, ok := IsValidation(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, []Problem{{Field: "sms.zh-CN.text", Line: 1, Column: 31, Message: "unknown variable .Contact.Points"}}, ve.Problems)
	_, err = b.store.Get(b.ctx, def.Key)
	require.ErrorIs(t, err, ErrNotFound)
	var n int
	require.NoError(t, b.db.Pool.QueryRow(b.ctx, `SELECT count(*) FROM audit_log WHERE object_type = 'template'`).Scan(&n))
	require.Zero(t, n)
}

func TestVersionsAndActivation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	def := smsDef("{{.Contact.Salutation}}，生日快乐！")
	v1, rep, err := b.store.Save(b.ctx, b.actor, def, SaveOptions{Note: "first"})
	require.NoError(t, err)
	require.Equal(t, 1, v1.Version)
	require.Equal(t, 1, rep.Variants[0].Segments.Parts)

	def.Variants[0].SMS.Text = "{{.Contact.Salutation}}，祝您生日快乐，万事如意！"
	v2, _, err := b.store.Save(b.ctx, b.actor, def, SaveOptions{})
	require.NoError(t, err)
	require.Equal(t, 2, v2.Version)

	// Saving does not activate; the first version stays active until activated.
	r, err := b.store.Render(b.ctx, def.Key, 0, SMS, "zh-CN", Vars{"Contact": map[string]any{"Salutation": "王女士"}})
	require.NoError(t, err)
	require.Equal(t, 1, r.Version)
	require.Equal(t, "王女士，生日快乐！", r.SMS.Text)

	require.NoError(t, b.store.Activate(b.ctx, b.actor, def.Key, 2))
	r, err = b.store.Render(b.ctx, def.Key, 0, SMS, "en", Vars{"Contact": map[string]any{"Salutation": "王女士"}})
	require.NoError(t, err)
	require.Equal(t, Rendered{TemplateKey: def.Key, Version: 2, Channel: SMS, Locale: "zh-CN", Purpose: Service, SMS: r.SMS}, r)
	require.Equal(t, "王女士，祝您生日快乐，万事如意！", r.SMS.Text)

	// An old version still renders (a message records the version it used).
	r, err = b.store.Render(b.ctx, def.Key, 1, SMS, "zh-CN", nil)
	require.NoError(t, err)
	require.Equal(t, "，生日快乐！", r.SMS.Text)

	require.ErrorIs(t, b.store.Activate(b.ctx, b.actor, def.Key, 9), ErrNotFound)
	require.ErrorIs(t, b.store.Activate(b.ctx, b.actor, "no.such", 1), ErrNotFound)
	_, err = b.store.Render(b.ctx, def.Key, 0, WeChat, "zh-CN", nil)
	require.ErrorIs(t, err, ErrNoVariant)

	tpl, err := b.store.Get(b.ctx, def.Key)
	require.NoError(t, err)
	require.Equal(t, 2, tpl.ActiveVersion)
	require.True(t, tpl.Edited)
	require.Len(t, tpl.Versions, 2)
	require.True(t, tpl.Versions[0].Active)
	require.Equal(t, "first", tpl.Versions[1].Note)

	recs, _, err := audit.List(b.ctx, b.db.Pool, audit.Filter{ObjectType: "template"})
	require.NoError(t, err)
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action)
	}
	require.Equal(t, []string{"template.activate", "template.save", "template.save"}, actions)
}

func TestPreview(t *testing.T) {
	t.Parallel()
	b := setup(t)
	p, err := b.store.Preview(b.ctx, KeyBirthday, PreviewRequest{})
	require.NoError(t, err)
	require.Equal(t, "SAMPLE-0001", p.Contact)
	require.Len(t, p.Rendered, 3) // sms, email, wechat
	require.Equal(t, SMS, p.Rendered[0].Channel)
	require.Equal(t, "尊敬的张先生，今天是农历八月十五，您的农历生日，示例银行祝您生日快乐，福寿安康！", p.Rendered[0].SMS.Text)
	require.Equal(t, Segments{UCS2, 40, 1}, p.Rendered[0].SMS.Segments)
	require.Contains(t, p.Rendered[1].Email.HTML, "<p>尊敬的张先生：</p>")

	c := SampleContact("en")
	c.Name, c.Gender, c.Birthday = "Ann Lee", "female", nil
	p, err = b.store.Preview(b.ctx, KeyBirthday, PreviewRequest{Contact: &c, Channel: SMS})
	require.NoError(t, err)
	require.Len(t, p.Rendered, 1)
	require.Equal(t, "Dear Ms Ann Lee, happy birthday! Wishing you good health and joy in the year ahead. - Example Bank", p.Rendered[0].SMS.Text)
	require.Equal(t, GSM7, p.Rendered[0].SMS.Segments.Encoding)

	_, err = b.store.Preview(b.ctx, "no.such", PreviewRequest{})
	require.ErrorIs(t, err, ErrNotFound)
}
