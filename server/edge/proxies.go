package edge

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// ParseProxies reads trusted proxies given as CIDRs ("10.0.0.0/8") or single
// addresses ("192.0.2.7").
func ParseProxies(cidrs []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !strings.Contains(c, "/") {
			a, err := netip.ParseAddr(c)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q is not an address or a CIDR such as 10.0.0.0/8", c)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q is not an address or a CIDR such as 10.0.0.0/8", c)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Proxies are the trusted proxies: only a connection from one of them may say,
// in X-Forwarded-For and X-Forwarded-Proto, whom it forwards and how.
type Proxies []netip.Prefix

func (p Proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, pre := range p {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// peer is the address of the connection's other end.
func peer(r *http.Request) (netip.Addr, string) {
	host := r.RemoteAddr
	if ap, err := netip.ParseAddrPort(host); err == nil {
		return ap.Addr().Unmap(), ap.Addr().Unmap().String()
	}
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	host = strings.Trim(host, "[]")
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, host
	}
	return a.Unmap(), a.Unmap().String()
}

// resolve returns the client's address and whether a trusted proxy said the
// client's connection was HTTPS. X-Forwarded-For is read from the right: the
// client is the first address that is not a trusted proxy.
func (p Proxies) resolve(r *http.Request) (string, bool) {
	a, host := peer(r)
	if !a.IsValid() || !p.trusted(a) {
		return host, false
	}
	https := false
	if proto := r.Header.Values("X-Forwarded-Proto"); len(proto) > 0 {
		parts := strings.Split(proto[len(proto)-1], ",")
		https = strings.EqualFold(strings.TrimSpace(parts[len(parts)-1]), "https")
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := host
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a hop that is no address: trust nothing further left
		}
		client = h.Unmap().String()
		if !p.trusted(h) {
			break
		}
	}
	return client, https
}

type clientKey struct{}

type client struct {
	addr  string
	https bool
}

// Resolve is middleware that reads the client's address (and whether it came
// over HTTPS) once per request, for ClientAddr and HTTPS. A request already
// resolved keeps what it has.
func Resolve(proxies []netip.Prefix, next http.Handler) http.Handler {
	ps := Proxies(proxies)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := r.Context().Value(clientKey{}).(client); ok {
			next.ServeHTTP(w, r)
			return
		}
		addr, https := ps.resolve(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, client{addr: addr, https: https})))
	})
}

// ClientAddr is the request's client address: the one Resolve read, else the
// connection's other end.
func ClientAddr(r *http.Request) string {
	if c, ok := r.Context().Value(clientKey{}).(client); ok {
		return c.addr
	}
	_, host := peer(r)
	return host
}

// HTTPS reports whether the client's connection is TLS: this one, or a
// trusted proxy's word (X-Forwarded-Proto: https).
func HTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	c, _ := r.Context().Value(clientKey{}).(client)
	return c.https
}
