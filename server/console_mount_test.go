package server_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/server"
)

// An administrator signed in to the console opens River UI with the session;
// another role's session does not, and neither does no session.
func TestRiverUIOpensWithAnAdministratorsConsoleSession(t *testing.T) {
	t.Parallel()
	b := setup(t, server.Config{})
	b.newUser(t, "mk", "", identity.RoleMarketer)
	const pw = "correct horse battery staple"
	for _, login := range []string{"admin", "mk"} {
		require.NoError(t, b.ids.SetPassword(b.ctx, audit.Actor{Name: "test"}, login, pw))
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	signedIn := func(login string) *http.Client {
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := c.Get(b.url + "/console/login")
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		m := csrf.FindStringSubmatch(string(body))
		require.NotNil(t, m, "the sign-in form has a token")
		res, err = c.PostForm(b.url+"/console/login", url.Values{"csrf": {m[1]}, "login": {login}, "password": {pw}})
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "signed in as %s", login)
		return c
	}
	get := func(c *http.Client) int {
		req, err := http.NewRequest("GET", b.url+"/riverui/", nil)
		require.NoError(t, err)
		res, err := c.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	admin := signedIn("admin")
	require.Equal(t, http.StatusOK, get(admin))
	// River UI's actions take the session only from a page of this site.
	post := func(c *http.Client, hdr map[string]string) int {
		req, err := http.NewRequest("POST", b.url+"/riverui/api/jobs/cancel", strings.NewReader(`{"job_ids":["1"]}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		res, err := c.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	require.Equal(t, http.StatusForbidden, post(admin, nil))
	require.Equal(t, http.StatusForbidden, post(admin, map[string]string{"Sec-Fetch-Site": "same-site"}))
	require.Equal(t, http.StatusForbidden, post(admin, map[string]string{"Origin": "https://evil.bank.example"}))
	require.NotEqual(t, http.StatusForbidden, post(admin, map[string]string{"Origin": b.url}))
	require.Equal(t, http.StatusForbidden, get(signedIn("mk")), "a console user without River UI gets a 403 page, not a password prompt")
	require.Equal(t, http.StatusUnauthorized, get(http.DefaultClient))
}
