package delivery

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"carillon/channels"
	"carillon/templates"
)

// TemplateRenderer renders messages with the template store: the message's own
// variables, plus Contact and Manager built from the recipient. A key's active
// version is looked up at most once every activeTTL, so a batch does not ask the
// database once per message; an activation reaches senders within that time.
func TemplateRenderer(st *templates.Store) Renderer { return TemplateRendererFor(st, templates.Bank{}) }

// TemplateRendererFor is TemplateRenderer with the sending bank's identity as
// .Bank for every message whose own variables do not name one.
func TemplateRendererFor(st *templates.Store, bank templates.Bank) Renderer {
	return &templateRenderer{st: st, bank: bank, active: map[string]cachedVersion{}}
}

const activeTTL = 5 * time.Second

type cachedVersion struct {
	v       templates.Version
	fetched time.Time
}

type templateRenderer struct {
	st     *templates.Store
	bank   templates.Bank
	pins   sync.Map // "key\x00version" -> templates.Version (versions are immutable)
	mu     sync.Mutex
	active map[string]cachedVersion
}

func (t *templateRenderer) version(ctx context.Context, key string) (templates.Version, error) {
	// The lock is held across the fetch: when the entry expires under load, one
	// sender fetches and the others wait for it rather than all asking at once.
	t.mu.Lock()
	defer t.mu.Unlock()
	if c, ok := t.active[key]; ok && time.Since(c.fetched) < activeTTL {
		return c.v, nil
	}
	v, err := t.st.Active(ctx, key)
	if err != nil {
		return v, err
	}
	t.active[key] = cachedVersion{v: v, fetched: time.Now()}
	return v, nil
}

// pinned returns a given version of a template; versions never change, so
// each is read once.
func (t *templateRenderer) pinned(ctx context.Context, key string, n int) (templates.Version, error) {
	k := key + "\x00" + strconv.Itoa(n)
	if v, ok := t.pins.Load(k); ok {
		return v.(templates.Version), nil
	}
	v, err := t.st.Version(ctx, key, n)
	if err != nil {
		return v, err
	}
	t.pins.Store(k, v)
	return v, nil
}

func (t *templateRenderer) Render(ctx context.Context, req RenderRequest) (Rendered, error) {
	vars := make(templates.Vars, len(req.Vars)+3)
	if t.bank != (templates.Bank{}) {
		vars["Bank"] = t.bank.Vars()
	}
	for k, v := range req.Vars {
		vars[k] = v
	}
	if req.Contact != nil {
		vars["Contact"] = templates.ContactVars(req.Contact.ForTemplate(), req.Locale)
	}
	if req.Manager != nil {
		vars["Manager"] = templates.ManagerVars(req.Manager.ForTemplate())
	}
	var v templates.Version
	var err error
	if req.TemplateVersion > 0 {
		v, err = t.pinned(ctx, req.TemplateKey, req.TemplateVersion)
	} else {
		v, err = t.version(ctx, req.TemplateKey)
	}
	if err != nil {
		return Rendered{}, err
	}
	r, err := t.st.RenderVersion(ctx, v, templates.Channel(req.Channel), req.Locale, vars)
	if errors.Is(err, templates.ErrNoVariant) {
		return Rendered{}, ErrNoVariant
	}
	if errors.Is(err, templates.ErrRenderLimit) {
		return Rendered{}, limitError{err}
	}
	if err != nil {
		return Rendered{}, err
	}
	out := Rendered{Version: r.Version}
	switch {
	case r.SMS != nil:
		out.Text = r.SMS.Text
		switch req.ProviderKind {
		case "aliyun", "tencent":
			p, ok := r.SMS.Providers[req.ProviderKind]
			if !ok || p.Code == "" {
				// Mainland providers send only approved templates: without a code for
				// this provider the template cannot go through it.
				return Rendered{}, fmt.Errorf("%w: no %s template code for %s", ErrNoVariant, req.ProviderKind, req.TemplateKey)
			}
			out.Template = &channels.ProviderTemplate{SignName: r.SMS.SignName, Code: p.Code, Params: orderedParams(p.Params)}
		default:
			out.Text = r.SMS.Body
		}
	case r.Email != nil:
		out.Subject, out.HTML, out.Text = r.Email.Subject, r.Email.HTML, r.Email.Text
	case r.WeChat != nil:
		w := &channels.WeChatPayload{TemplateID: r.WeChat.TemplateID, URL: r.WeChat.URL}
		for _, k := range sortedKeys(r.WeChat.Data) {
			w.Fields = append(w.Fields, channels.WeChatField{Key: k, Value: r.WeChat.Data[k]})
		}
		out.WeChat = w
		out.Text = strings.Join(fieldValues(w.Fields), " / ")
	case r.WeCom != nil:
		out.Text = r.WeCom.Content
		out.WeChat = &channels.WeChatPayload{MsgType: r.WeCom.Format}
	default:
		return Rendered{}, ErrNoVariant
	}
	return out, nil
}

// orderedParams orders a provider's parameters: numerically when the names are
// positions (Tencent's 1, 2, …), else by name.
func orderedParams(m map[string]string) []channels.TemplateParam {
	keys := sortedKeys(m)
	sort.SliceStable(keys, func(i, j int) bool {
		a, errA := strconv.Atoi(keys[i])
		b, errB := strconv.Atoi(keys[j])
		if errA == nil && errB == nil {
			return a < b
		}
		return false
	})
	out := make([]channels.TemplateParam, len(keys))
	for i, k := range keys {
		out[i] = channels.TemplateParam{Name: k, Value: m[k]}
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func fieldValues(fs []channels.WeChatField) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Value
	}
	return out
}

// limitError is the template store's limit error as delivery's ErrRenderLimit.
type limitError struct{ err error }

func (e limitError) Error() string        { return e.err.Error() }
func (e limitError) Unwrap() error        { return e.err }
func (e limitError) Is(target error) bool { return target == ErrRenderLimit }
