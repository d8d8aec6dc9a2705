package server_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/identity"
)

func TestTemplatesAPI(t *testing.T) {
	t.Parallel()
	b := setup(t, serverConfigNoLimit())
	marketer := b.as(b.newUser(t, "mk", "", identity.RoleMarketer))
	approver := b.as(b.newUser(t, "ap", "", identity.RoleApprover))
	auditor := b.as(b.newUser(t, "au", "", identity.RoleAuditor))
	require.Equal(t, 201, b.jsonReq(t, "POST", "/api/managers", map[string]any{"code": "M9", "name": "经理"}).status)
	mgr := b.as(b.newUser(t, "mg", "M9", identity.RoleManager))
	require.Equal(t, 403, mgr.do(t, "GET", "/api/templates", "", nil).status)
	require.Equal(t, 200, auditor.do(t, "GET", "/api/templates/birthday", "", nil).status)
	require.Equal(t, 401, b.as("").do(t, "GET", "/api/templates", "", nil).status)

	// The built-ins are there after migrate.
	r := approver.do(t, "GET", "/api/templates", "", nil)
	require.Equal(t, 200, r.status, string(r.body))
	var list struct {
		Items []struct {
			Key           string
			ActiveVersion int `json:"active_version"`
		}
	}
	require.NoError(t, json.Unmarshal(r.body, &list))
	require.Len(t, list.Items, 13)

	def := map[string]any{
		"key": "notice.points", "purpose": "service", "source": "care.birthday", "default_locale": "zh-CN",
		"variants": []any{map[string]any{"channel": "sms", "locale": "zh-CN", "sms": map[string]any{
			"text": "{{.Contact.Salutation}}，\n您的积分{{.Contact.Pointz}}即将过期"}}},
	}
	// Refused with positions.
	r = marketer.jsonReq(t, "POST", "/api/templates", def)
	require.Equal(t, 400, r.status, string(r.body))
	var bad struct {
		Error struct {
			Code   string
			Fields []struct {
				Field        string
				Line, Column int
				Message      string
			}
		}
	}
	require.NoError(t, json.Unmarshal(r.body, &bad))
	require.Equal(t, "invalid", bad.Error.Code)
	require.Len(t, bad.Error.Fields, 1)
	require.Equal(t, "sms.zh-CN.text", bad.Error.Fields[0].Field)
	require.Equal(t, [2]int{2, 7}, [2]int{bad.Error.Fields[0].Line, bad.Error.Fields[0].Column})
	require.Contains(t, bad.Error.Fields[0].Message, "unknown variable .Contact.Pointz")

	// Saved, then a second version, activated by a marketer and not by an approver.
	def["variants"].([]any)[0].(map[string]any)["sms"] = map[string]any{"text": "{{.Contact.Salutation}}，您的积分即将过期。"}
	r = marketer.jsonReq(t, "POST", "/api/templates", def)
	require.Equal(t, 201, r.status, string(r.body))
	def["variants"].([]any)[0].(map[string]any)["sms"] = map[string]any{"text": "{{.Contact.Salutation}}，您的积分将于月底过期。"}
	require.Equal(t, 403, approver.jsonReq(t, "POST", "/api/templates", def).status)
	r = marketer.jsonReq(t, "POST", "/api/templates", def)
	require.Equal(t, 201, r.status, string(r.body))
	require.Equal(t, 403, approver.do(t, "POST", "/api/templates/notice.points/versions/2/activate", "", nil).status)
	require.Equal(t, 404, marketer.do(t, "POST", "/api/templates/notice.points/versions/7/activate", "", nil).status)
	r = marketer.do(t, "POST", "/api/templates/notice.points/versions/2/activate", "", nil)
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, float64(2), r.json(t)["active_version"])

	r = approver.do(t, "GET", "/api/templates/notice.points", "", nil)
	require.Equal(t, 200, r.status)
	require.Len(t, r.json(t)["template"].(map[string]any)["versions"], 2)
	require.Equal(t, 404, approver.do(t, "GET", "/api/templates/no.such", "", nil).status)

	// Preview against a real contact, with the segment count.
	r = b.jsonReq(t, "POST", "/api/contacts", map[string]any{"external_id": "P1", "name": "王芳", "gender": "female", "phone": "13912345678"})
	require.Equal(t, 201, r.status, string(r.body))
	r = approver.jsonReq(t, "POST", "/api/templates/notice.points/preview", map[string]any{"external_id": "P1", "channel": "sms"})
	require.Equal(t, 200, r.status, string(r.body))
	var p struct {
		Version  int
		Rendered []struct {
			SMS struct {
				Text     string
				Segments struct{ Parts, Units int }
			}
		}
	}
	require.NoError(t, json.Unmarshal(r.body, &p))
	require.Equal(t, 2, p.Version)
	require.Equal(t, "王女士，您的积分将于月底过期。", p.Rendered[0].SMS.Text)
	require.Equal(t, 1, p.Rendered[0].SMS.Segments.Parts)
	require.Equal(t, 15, p.Rendered[0].SMS.Segments.Units)

	// Email HTML of the built-in birthday for the sample contact.
	r = approver.jsonReq(t, "POST", "/api/templates/birthday/preview", map[string]any{"channel": "email", "locale": "en"})
	require.Equal(t, 200, r.status, string(r.body))
	require.Contains(t, string(r.body), `<p>Dear Mr Wei Zhang,</p>`)
	r = approver.jsonReq(t, "POST", "/api/templates/revisit_digest/preview", map[string]any{"channel": "wechat"})
	require.Equal(t, 422, r.status, string(r.body))

	// Writes are audited.
	r = b.do(t, "GET", "/api/audit?action=template.", "", nil)
	require.Equal(t, 200, r.status)
	require.Equal(t, 3, strings.Count(string(r.body), `"object_id":"notice.points"`), string(r.body))
}

// A preview whose output would pass the channel's cap is refused with the
// limit's error (422 render_limit, naming the template), never a huge body.
func TestTemplatePreviewOverTheCap(t *testing.T) {
	t.Parallel()
	b := setup(t, serverConfigNoLimit())
	marketer := b.as(b.newUser(t, "mk", "", identity.RoleMarketer))
	def := map[string]any{
		"key": "notice.long", "purpose": "service", "source": "care.birthday", "default_locale": "zh-CN",
		"variants": []any{map[string]any{"channel": "email", "locale": "zh-CN", "email": map[string]any{
			"subject": "通知", "html": "<p>{{.Contact.Salutation}}</p>{{range 20000}}<p>{{$.Contact.Attrs.note}}</p>{{end}}"}}},
	}
	// The sample contact has no note: the template saves.
	r := marketer.jsonReq(t, "POST", "/api/templates", def)
	require.Equal(t, 201, r.status, string(r.body))
	r = b.jsonReq(t, "POST", "/api/contacts", map[string]any{"external_id": "P1", "name": "王芳", "gender": "female",
		"email": "wang@example.com", "attrs": map[string]any{"note": strings.Repeat("备注", 50)}})
	require.Equal(t, 201, r.status, string(r.body))

	r = marketer.jsonReq(t, "POST", "/api/templates/notice.long/preview", map[string]any{"external_id": "P1", "channel": "email"})
	require.Equal(t, 422, r.status)
	require.Less(t, len(r.body), 2048, "the body must not carry the output")
	var e struct {
		Error struct{ Code, Message string }
	}
	require.NoError(t, json.Unmarshal(r.body, &e))
	require.Equal(t, "render_limit", e.Error.Code)
	require.Contains(t, e.Error.Message, "template notice.long v1 (email, zh-CN) email.zh-CN.html: renders more than 524288 bytes")
	require.Contains(t, e.Error.Message, "渲染输出超过")
}
