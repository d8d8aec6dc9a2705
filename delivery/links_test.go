package delivery_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/gif"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/identity"
	"carillon/internal/pgtest"
	"carillon/internal/testlog"
	"carillon/server"
)

func TestClickAndOpenTokensAreSigned(t *testing.T) {
	t.Parallel()
	h := newHarness(t, harnessOpts{noStart: true})
	l := h.svc.Links()
	tok := l.TokenAt(delivery.LinkClick, 42, 3)
	id, idx, err := l.CheckAt(delivery.LinkClick, tok)
	require.NoError(t, err)
	require.Equal(t, int64(42), id)
	require.Equal(t, 3, idx)
	other := l.TokenAt(delivery.LinkClick, 42, 4)
	_, _, err = l.CheckAt(delivery.LinkClick, tok[:len(tok)-2]+other[len(other)-2:])
	require.ErrorIs(t, err, delivery.ErrBadLink, "another link's signature")
	_, _, err = l.CheckAt(delivery.LinkOpen, tok)
	require.ErrorIs(t, err, delivery.ErrBadLink, "a click token is no open token")
	open := l.Token(delivery.LinkOpen, 42)
	_, err = l.Check(delivery.LinkUnsubscribe, open)
	require.ErrorIs(t, err, delivery.ErrBadLink, "an open token does not unsubscribe")
	_, _, err = l.CheckAt(delivery.LinkClick, "AAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	require.ErrorIs(t, err, delivery.ErrBadLink)
}

// htmlRenderer gives email an HTML part with a tracked link, a mailto link and an
// unsubscribe link.
type htmlRenderer struct {
	testRenderer
	unsubscribe string
}

func (r htmlRenderer) Render(ctx context.Context, req delivery.RenderRequest) (delivery.Rendered, error) {
	out, err := r.testRenderer.Render(ctx, req)
	if err == nil && req.Channel == channels.Email {
		out.HTML = `<html><body><p>Hello</p><a href="https://bank.example/offer?x=1&amp;c=c1">offer</a>
<a href="mailto:care@bank.example">write to us</a> <a HREF="` + r.unsubscribe + `">unsubscribe</a></body></html>`
	}
	return out, err
}

// An email's links are rewritten to signed click links (their targets kept), an
// open pixel is added; fetching the pixel records one open however often it is
// fetched, following a link records the click with its index and redirects.
func TestEmailOpensAndClicksReachTheTimeline(t *testing.T) {
	t.Parallel()
	rd := &htmlRenderer{} // its unsubscribe link is signed by the world's delivery service
	h := newHarness(t, harnessOpts{noStart: true, renderer: func(*pgtest.DB) delivery.Renderer { return rd }})
	unsub := h.svc.Links().URL(delivery.LinkUnsubscribe, 1)
	rd.unsubscribe = unsub
	svc := h.svc
	h.start(t)

	c4 := h.contact(t, "C4")
	var res delivery.EnqueueResult
	require.NoError(t, pgx.BeginFunc(h.ctx, h.db.Pool, func(tx pgx.Tx) error {
		var err error
		res, err = svc.Enqueue(h.ctx, tx, []delivery.Planned{planned("track:1", c4.ID, channels.PurposeService, channels.Email)})
		return err
	}))
	id := res.IDs[0]
	h.waitFor(t, id, "sent", "delivered")

	body := htmlPart(t, h.built.Sandboxes["mail"].Recorder().Raw(itoa(id)))
	l := svc.Links()
	click := l.URLAt(delivery.LinkClick, id, 0)
	require.Contains(t, body, `href="`+click+`"`)
	require.NotContains(t, body, "bank.example/offer")
	require.Contains(t, body, `href="mailto:care@bank.example"`, "mailto: is not rewritten")
	require.Contains(t, body, `HREF="`+unsub+`"`, "the unsubscribe link is not rewritten")
	require.Contains(t, body, `<img src="`+l.URL(delivery.LinkOpen, id)+`"`)
	var target string
	require.NoError(t, h.db.Pool.QueryRow(h.ctx, `SELECT url FROM message_links WHERE message_id = $1 AND idx = 0`, id).Scan(&target))
	require.Equal(t, "https://bank.example/offer?x=1&c=c1", target)

	ids, err := identity.NewStore(h.db.Pool, identity.Config{})
	require.NoError(t, err)
	srv, err := server.New(server.Config{Logger: testlog.New(t)}, server.Deps{Pool: h.db.Pool, Contacts: h.store, Auth: ids, Delivery: svc})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := client.Get(ts.URL + path)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	pixel := "/o/" + l.Token(delivery.LinkOpen, id)
	for range 2 {
		resp := get(pixel)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "image/gif", resp.Header.Get("Content-Type"))
		require.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
		img, err := gif.DecodeConfig(resp.Body)
		require.NoError(t, err)
		require.Equal(t, [2]int{1, 1}, [2]int{img.Width, img.Height})
	}
	resp := get("/c/" + l.TokenAt(delivery.LinkClick, id, 0))
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.Equal(t, target, resp.Header.Get("Location"))
	for _, bad := range []string{"/o/" + l.Token(delivery.LinkUnsubscribe, id), "/o/AAAA", "/c/" + l.TokenAt(delivery.LinkClick, id, 5),
		"/c/" + l.Token(delivery.LinkOpen, id)} {
		require.Equal(t, http.StatusNotFound, get(bad).StatusCode, bad)
	}

	kinds := h.kinds(t, c4.ID)
	count := map[string]int{}
	for _, k := range kinds {
		count[k]++
	}
	require.Equal(t, 1, count["message.opened"], "an open is recorded once: %v", kinds)
	require.Equal(t, 1, count["message.clicked"], kinds)
	page, err := h.store.Timeline(h.ctx, c4.ID, contacts.TimelineFilter{Kind: "message.clicked"})
	require.NoError(t, err)
	require.JSONEq(t, `{"message_id": `+itoa(id)+`, "template": "greeting", "channel": "email", "link": 0}`, string(page.Items[0].Data))
}

// htmlPart returns the decoded text/html part of a raw mail.
func htmlPart(t *testing.T, raw []byte) string {
	t.Helper()
	require.NotEmpty(t, raw, "the sandbox kept the mail")
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	var find func(ctype string, enc string, r io.Reader) string
	find = func(ctype, enc string, r io.Reader) string {
		mt, params, err := mime.ParseMediaType(ctype)
		require.NoError(t, err)
		if strings.HasPrefix(mt, "multipart/") {
			mr := multipart.NewReader(r, params["boundary"])
			for {
				p, err := mr.NextRawPart()
				if err == io.EOF {
					return ""
				}
				require.NoError(t, err)
				if s := find(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); s != "" {
					return s
				}
			}
		}
		if mt != "text/html" {
			return ""
		}
		switch strings.ToLower(enc) {
		case "quoted-printable":
			r = quotedprintable.NewReader(r)
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, r)
		}
		b, err := io.ReadAll(r)
		require.NoError(t, err)
		return string(b)
	}
	s := find(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	require.NotEmpty(t, s, "an HTML part")
	return s
}
