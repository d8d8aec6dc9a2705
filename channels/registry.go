package channels

import (
	"context"
	"fmt"
	"slices"
	"sort"
)

// Provider is one configured provider in a Registry.
type Provider struct {
	Name string
	Kind string // aliyun, tencent, twilio, smtp, wechat_oa, wecom
	// DisplayName is the configured name staff read ("" when none is configured).
	DisplayName string
	Channel     Channel
	Priority    int       // lower is tried first
	Purposes    []Purpose // purposes it may carry
	Limiter     *Limiter  // nil: unlimited
	Sender      Sender
	Receipts    ReceiptParser // nil when the provider pushes no receipts
	Inbound     InboundParser // nil when the provider pushes no replies or events
}

// Allows reports whether the provider may carry messages of purpose p.
func (p *Provider) Allows(purpose Purpose) bool { return slices.Contains(p.Purposes, purpose) }

// Send waits for the provider's rate limit, checks the purpose and sends. A purpose
// the provider may not carry is a permanent error wrapping ErrPurpose.
func (p *Provider) Send(ctx context.Context, m Message) (Result, error) {
	if !p.Allows(m.Purpose) {
		return Result{}, NewPermanent(p.Name, "purpose", string(m.Purpose), ErrPurpose)
	}
	if err := p.Limiter.Wait(ctx); err != nil {
		return Result{}, NewTemporary(p.Name, "cancelled", "", err)
	}
	res, err := p.Sender.Send(ctx, m)
	if res.Provider == "" {
		res.Provider = p.Name
	}
	return res, err
}

// Registry holds the configured providers by name and by channel.
type Registry struct {
	byName    map[string]*Provider
	byChannel map[Channel][]*Provider
}

// NewRegistry returns a registry of the given providers; names must be unique.
func NewRegistry(ps ...*Provider) (*Registry, error) {
	r := &Registry{byName: map[string]*Provider{}, byChannel: map[Channel][]*Provider{}}
	for _, p := range ps {
		if p.Name == "" || p.Sender == nil {
			return nil, fmt.Errorf("registry: provider %q has no name or sender", p.Name)
		}
		if _, dup := r.byName[p.Name]; dup {
			return nil, fmt.Errorf("registry: provider %q declared twice", p.Name)
		}
		if p.Channel == "" {
			p.Channel = p.Sender.Channel()
		}
		r.byName[p.Name] = p
		r.byChannel[p.Channel] = append(r.byChannel[p.Channel], p)
	}
	for _, list := range r.byChannel {
		sort.SliceStable(list, func(i, j int) bool { return list[i].Priority < list[j].Priority })
	}
	return r, nil
}

// Provider returns the provider of that name.
func (r *Registry) Provider(name string) (*Provider, bool) {
	p, ok := r.byName[name]
	return p, ok
}

// Providers returns the providers of a channel in failover order (priority).
func (r *Registry) Providers(c Channel) []*Provider { return slices.Clone(r.byChannel[c]) }

// For returns the providers of a channel that may carry purpose, in failover order.
func (r *Registry) For(c Channel, purpose Purpose) []*Provider {
	var out []*Provider
	for _, p := range r.byChannel[c] {
		if p.Allows(purpose) {
			out = append(out, p)
		}
	}
	return out
}

// All returns every provider, by channel then priority.
func (r *Registry) All() []*Provider {
	var out []*Provider
	for _, c := range []Channel{SMS, Email, WeChat, WeCom} {
		out = append(out, r.byChannel[c]...)
	}
	return out
}
