package templates

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func emailDef(html string, vars ...Variable) Definition {
	return Definition{Key: "campaign.big", Purpose: Service, Source: SourceCampaign, DefaultLocale: "zh-CN", Variables: vars,
		Variants: []Variant{{Channel: Email, Locale: "zh-CN", Email: &EmailVariant{Subject: "主题", HTML: html}}}}
}

// The templates of the incident are refused at save, before any render, by the
// range iterations they would make; the problem names the limit.
func TestSaveRefusesRunawayRanges(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, src := range []string{
		`{{range 10000}}{{range 1000}}xxxxxxxxxx{{end}}{{end}}`,
		`{{range 40000}}{{range 40000}}{{end}}{{end}}`,
	} {
		for _, def := range []Definition{smsDef(src), emailDef(src)} {
			_, _, err := b.store.Save(b.ctx, b.actor, def, SaveOptions{})
			probs := problemsOf(t, err)
			require.Len(t, probs, 1, "%s: %v", def.Variants[0].Channel, probs)
			require.Equal(t, 1, probs[0].Line)
			require.Equal(t, 16, probs[0].Column) // the inner range takes the count past the limit
			require.Contains(t, probs[0].Message, "more than the limit of 100000 iterations per render")
			require.Contains(t, probs[0].Message, "循环总次数")
		}
	}
	_, err := b.store.Active(b.ctx, "test.one")
	require.ErrorIs(t, err, ErrNotFound)
}

// A render that passes the static check still stops at each limit: the output
// cap at the first write past it, range iterations over data or a variable,
// and the deadline; the error names the template, version, channel, locale and
// field.
func TestRenderStopsAtLimits(t *testing.T) {
	t.Parallel()
	ten := strings.Repeat("x", 10)
	for _, tc := range []struct {
		name  string
		def   Definition
		lim   Limits
		limit string
		field string
		msg   string
	}{
		{"email over 512 KiB", emailDef(`{{range 90000}}` + ten + `{{end}}`), Limits{}, LimitOutput, "email.zh-CN.html", "renders more than 524288 bytes"},
		{"subject over its cap", func() Definition {
			d := emailDef("<p>hi</p>")
			d.Variants[0].Email.Subject = `{{range 200}}` + ten + `{{end}}`
			return d
		}(), Limits{}, LimitOutput, "email.zh-CN.subject", "renders more than 1024 bytes"},
		{"sms over its segments", smsDef(`{{range 1000}}` + ten + `{{end}}`), Limits{}, LimitOutput, "sms.zh-CN.text", "sms.zh-CN.text"},
		{"sms just over the segments", smsDef(strings.Repeat("中", 67*3+1)), Limits{SMSSegments: 3}, LimitSegments, "sms.zh-CN.text", "renders to 4 SMS segments, more than the limit of 3"},
		{"wecom markdown over 4096 bytes", Definition{Key: "campaign.big", Purpose: Service, Source: SourceCampaign, DefaultLocale: "zh-CN",
			Variants: []Variant{{Channel: WeCom, Locale: "zh-CN", WeCom: &WeComVariant{Format: FormatMarkdown, Content: `{{range 500}}` + ten + `{{end}}`}}}}, Limits{}, LimitOutput, "wecom.zh-CN.content", "4096"},
		{"range over a computed number writing nothing", emailDef(`{{range len (printf "%900000s" "")}}{{end}}`), Limits{}, LimitSteps, "email.zh-CN.html", "repeats more than 100000 times"},
		{"ranges adding up past the limit", smsDef(`{{range 60000}}{{end}}{{range .Contact.Tags}}{{range 60000}}{{end}}{{end}}`), Limits{}, LimitSteps, "sms.zh-CN.text", "循环次数超过"},
		{"deadline", emailDef(`{{range 50000}}{{end}}`), Limits{Timeout: time.Nanosecond}, LimitTimeout, "email.zh-CN", "did not finish rendering"},
	} {
		if tc.limit != LimitTimeout && tc.lim.Timeout == 0 {
			// Only the limit under test may stop the render: on a busy machine
			// the default 2 s deadline could come first.
			tc.lim.Timeout = time.Minute
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Check(t.Context(), tc.def, BuiltinSchemas(), 20, tc.lim)
			probs := problemsOf(t, err)
			require.Len(t, probs, 1, "%v", probs)
			require.Equal(t, tc.field, probs[0].Field)
			require.Contains(t, probs[0].Message, tc.msg)

			// The same limits hold at every render of a saved version.
			v := Version{Definition: tc.def, Version: 7}
			s, err := NewStore(nil, Config{MaxSegments: 3, Limits: tc.lim})
			require.NoError(t, err)
			_, err = s.RenderVersion(t.Context(), v, tc.def.Variants[0].Channel, "zh-CN", Vars{"Contact": map[string]any{"Tags": []string{"a", "b"}}})
			require.ErrorIs(t, err, ErrRenderLimit)
			var le *LimitError
			require.True(t, errors.As(err, &le))
			require.Equal(t, tc.limit, le.Limit)
			require.Equal(t, tc.field, le.Field)
			require.Contains(t, err.Error(), "template "+tc.def.Key+" v7 ("+string(tc.def.Variants[0].Channel)+", zh-CN) "+tc.field+": ")
			require.Contains(t, err.Error(), tc.msg)
		})
	}
}

// The caller's context ending is not the template's fault: it comes back as
// the context's error, not as a limit.
func TestRenderStopsWithItsContext(t *testing.T) {
	t.Parallel()
	s, err := NewStore(nil, Config{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = s.RenderVersion(ctx, Version{Definition: smsDef("{{range 5}}a{{end}}"), Version: 1}, SMS, "zh-CN", nil)
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, ErrRenderLimit)
}

// Within the limits a range still renders as before, in text and in HTML, and
// the step action leaves no trace in the output.
func TestRenderWithinLimitsUnchanged(t *testing.T) {
	t.Parallel()
	s, err := NewStore(nil, Config{})
	require.NoError(t, err)
	d := emailDef(`<ul>{{range $i, $t := .Contact.Tags}}<li>{{$i}} {{$t}}</li>{{end}}</ul><script>var n = [{{range 3}}{{.}},{{end}}]</script>`)
	d.Variants[0].Email.Subject = `{{range .Contact.Tags}}{{.}} {{end}}`
	r, err := s.RenderVersion(t.Context(), Version{Definition: d, Version: 1}, Email, "zh-CN", Vars{"Contact": map[string]any{"Tags": []string{"a<", "b"}}})
	require.NoError(t, err)
	require.Equal(t, `<ul><li>0 a&lt;</li><li>1 b</li></ul><script>var n = [ 0 , 1 , 2 ,]</script>`, r.Email.HTML)
	require.Equal(t, "a< b", r.Email.Subject)
}
