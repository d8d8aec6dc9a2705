package delivery

import (
	"context"
	"errors"

	"carillon/channels"
	"carillon/contacts"
)

// Renderer renders a template for one recipient on one channel. The templates
// package implements it; delivery declares only what it needs.
type Renderer interface {
	Render(ctx context.Context, req RenderRequest) (Rendered, error)
}

// RenderRequest is what a message is rendered from.
type RenderRequest struct {
	TemplateKey string
	// TemplateVersion, when positive, is the version to render (pinned);
	// 0 renders the active version.
	TemplateVersion int
	Channel         channels.Channel
	ProviderKind    string // aliyun, tencent, twilio, smtp, wechat_oa, wecom: mainland SMS needs its template code
	Purpose         channels.Purpose
	Locale          string
	Contact         *contacts.Contact // nil for a message to a manager
	Manager         *contacts.Manager // the contact's manager, or the recipient manager
	Vars            map[string]any
}

// Rendered is a message's content as the renderer gives it: the message the
// provider gets, with its Version, Subject, Text, HTML, Template and WeChat
// set; the worker addresses it (ID, To, Purpose, UnsubscribeURL) and sends it
// as rendered.
type Rendered = channels.Message

// ErrNoVariant says the template has no variant for the channel: the channel cannot
// carry this message, and the next one is tried.
var ErrNoVariant = errors.New("template has no variant for this channel")

// ErrRenderLimit says the message's template could not render within the
// template limits (time, range iterations, the channel's output cap): the
// channel is skipped, and a message no channel can carry ends failed with
// reason render_limit. Sending it again would not help.
var ErrRenderLimit = errors.New("template render over its limits")
