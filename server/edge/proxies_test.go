package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClientAddrTrustsOnlyConfiguredProxies(t *testing.T) {
	t.Parallel()
	_, err := ParseProxies([]string{"10.0.0.0/33"})
	require.Error(t, err)
	for _, tc := range []struct {
		name, remote, xff, proto string
		proxies                  []string
		want                     string
		https                    bool
	}{
		{"no proxies: the header is ignored", "203.0.113.5:4000", "198.51.100.1", "https", nil, "203.0.113.5", false},
		{"an untrusted peer cannot say whom it forwards", "203.0.113.5:4000", "198.51.100.1", "https", []string{"10.0.0.0/8"}, "203.0.113.5", false},
		{"a trusted proxy", "10.1.2.3:4000", "198.51.100.1", "https", []string{"10.0.0.0/8"}, "198.51.100.1", true},
		{"a spoofed left part is skipped", "10.1.2.3:4000", "6.6.6.6, 198.51.100.1", "http", []string{"10.0.0.0/8"}, "198.51.100.1", false},
		{"a chain of trusted proxies", "10.1.2.3:4000", "198.51.100.1, 192.0.2.7, 10.9.9.9", "", []string{"10.0.0.0/8", "192.0.2.7"}, "198.51.100.1", false},
		{"garbage stops the walk", "10.1.2.3:4000", "198.51.100.1, junk", "", []string{"10.0.0.0/8"}, "10.1.2.3", false},
		{"IPv6 peer", "[2001:db8::1]:4000", "198.51.100.1", "", nil, "2001:db8::1", false},
	} {
		ps, err := ParseProxies(tc.proxies)
		require.NoError(t, err)
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		r.Header.Set("X-Forwarded-For", tc.xff)
		if tc.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		var got string
		var https bool
		Resolve(ps, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, https = ClientAddr(r), HTTPS(r)
		})).ServeHTTP(httptest.NewRecorder(), r)
		require.Equal(t, tc.want, got, tc.name)
		require.Equal(t, tc.https, https, tc.name)
	}
}
