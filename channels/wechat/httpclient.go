package wechat

import (
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/silenceper/wechat/v2/util"
)

// HTTPTimeout bounds one call silenceper makes.
const HTTPTimeout = 15 * time.Second

// router is the transport of silenceper's global client: a request whose
// access_token belongs to a registered app goes to that app's endpoint.
type router struct {
	base   http.RoundTripper
	routes sync.Map // access token → *url.URL (scheme and host of the endpoint)
}

var (
	installOnce sync.Once
	routes      *router
)

// InstallHTTPClient sets silenceper's util.DefaultHTTPClient, once per process, to a
// client with timeouts whose transport routes by access token. It is the only place
// Carillon touches that global; constructors call it.
func InstallHTTPClient() {
	installOnce.Do(func() {
		routes = &router{base: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 32,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second,
			ResponseHeaderTimeout: HTTPTimeout,
		}}
		util.DefaultHTTPClient = &http.Client{Timeout: HTTPTimeout, Transport: routes}
	})
}

// route sends requests carrying token to endpoint.
func route(token string, endpoint *url.URL) {
	InstallHTTPClient()
	routes.routes.Store(token, endpoint)
}

// forget drops a token's route.
func forget(token string) {
	if routes != nil {
		routes.routes.Delete(token)
	}
}

func (rt *router) RoundTrip(req *http.Request) (*http.Response, error) {
	if tok := req.URL.Query().Get("access_token"); tok != "" {
		if v, ok := rt.routes.Load(tok); ok {
			ep := v.(*url.URL)
			r2 := req.Clone(req.Context())
			r2.URL.Scheme, r2.URL.Host = ep.Scheme, ep.Host
			r2.URL.Path = ep.Path + req.URL.Path
			r2.Host = ep.Host
			return rt.base.RoundTrip(r2)
		}
	}
	return rt.base.RoundTrip(req)
}
