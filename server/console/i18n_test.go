package console

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/identity"
)

// TestEveryTextHasBothLanguages checks that each message key a page or the Go
// code names exists, in English and in Chinese.
func TestEveryTextHasBothLanguages(t *testing.T) {
	for k, m := range messages {
		require.NotEmpty(t, m[0], "%s has no English", k)
		require.NotEmpty(t, m[1], "%s has no Chinese", k)
	}
	used := map[string]string{}
	tplKey := regexp.MustCompile(`\.Tf? "([a-z0-9_.]+)"`)
	require.NoError(t, fs.WalkDir(webFS, "web", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".html") {
			return err
		}
		data, err := fs.ReadFile(webFS, path)
		if err != nil {
			return err
		}
		for _, m := range tplKey.FindAllStringSubmatch(string(data), -1) {
			used[m[1]] = path
		}
		return nil
	}))
	goKey := regexp.MustCompile(`"([a-z]+\.[a-z0-9_.]+)"([^+]|$)`)
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "i18n.go" {
			continue
		}
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range goKey.FindAllStringSubmatch(string(data), -1) {
			if strings.HasPrefix(m[1], "err.") || strings.HasPrefix(m[1], "cal.") || strings.HasSuffix(m[1], ".title") ||
				strings.HasPrefix(m[1], "contact.") || strings.HasPrefix(m[1], "tpl.") || strings.HasPrefix(m[1], "dash.") {
				used[m[1]] = f
			}
		}
	}
	// Keys put together at run time.
	for _, r := range identity.AllRoles() {
		used["role."+string(r)] = "layout"
	}
	for _, s := range messageStatuses {
		used["status."+s] = "dashboard"
	}
	for _, k := range timelineKinds {
		used["kind."+k] = "contact"
	}
	for _, s := range []string{"active", "dormant", "closed", "deceased"} {
		used["contact.status."+s] = "contacts"
	}
	for _, k := range []string{"birthday", "festival", "notice", "digest"} {
		used["dash.kind."+k] = "dashboard"
	}
	for _, k := range revisitMethods {
		used["method."+k] = "my"
	}
	for _, k := range revisitOutcomes {
		used["outcome."+k] = "my"
	}
	for _, k := range []string{"birthday", "deposit_maturity"} {
		used["my.kind."+k] = "my"
	}
	for _, st := range allStatuses {
		used["camp.status."+string(st)] = "campaigns"
	}
	for _, k := range []string{"now", "at", "cron"} {
		used["camp.kind."+k] = "campaigns"
	}
	for _, k := range []string{"saved", "consent", "unchanged", "activated", "rule", "revisit", "created", "submitted", "approved",
		"rejected", "started", "paused", "resumed", "cancelled", "test_sent"} {
		used["notice."+k] = "seeOther"
	}
	require.Greater(t, len(used), 100)
	for k, where := range used {
		_, ok := messages[k]
		require.True(t, ok, "%s (used in %s) has no text", k, where)
	}
}

func TestAcceptLanguage(t *testing.T) {
	for h, want := range map[string]string{
		"":                             "zh",
		"en":                           "en",
		"en-US,en;q=0.9":               "en",
		"zh-CN,zh;q=0.9,en;q=0.8":      "zh",
		"en;q=0.5, zh-TW;q=0.8":        "zh",
		"fr-FR,fr;q=0.9,en;q=0.7":      "en",
		"de":                           "zh",
		"zh-Hans-CN;q=bogus, en;q=0.1": "en",
	} {
		require.Equal(t, want, fromAcceptLanguage(h), h)
	}
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/console/contacts?q=1": "/console/contacts?q=1",
		"//evil.example/":       "/",
		"https://evil.example/": "/",
		"/console/\\evil":       "/",
		"/api/contacts":         "/",
		"":                      "/",
	} {
		require.Equal(t, want, safeNext(next, "/"), next)
	}
}

func TestNiceMax(t *testing.T) {
	for v, want := range map[int]int{0: 4, 3: 4, 5: 8, 9: 20, 11: 20, 99: 100, 101: 200, 450: 800, 1001: 2000, 12345: 20000} {
		got := niceMax(v)
		require.GreaterOrEqual(t, got, v)
		require.Zero(t, got%4, "%d", got)
		require.Equal(t, want, got, "%d", v)
	}
}
