package server_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/silenceper/wechat/v2/util"
	"github.com/stretchr/testify/require"

	"carillon/channels"
	"carillon/channels/registry"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/internal/audit"
	"carillon/internal/identity"
	"carillon/internal/pgtest"
	"carillon/internal/testlog"
	"carillon/server"
)

// A correctly signed WeChat unfollow whose timestamp is old (1970), or whose nonce
// was already used, is refused at the hook and the customer's consent stands; a
// fresh one revokes it.
func TestWeChatPushFreshnessAtTheHook(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	clk := newClock()
	log := testlog.New(t)
	store, err := contacts.NewStore(db.Pool, contacts.Config{Logger: log, Now: clk.Now})
	require.NoError(t, err)
	ids, err := identity.NewStore(db.Pool, identity.Config{Now: clk.Now})
	require.NoError(t, err)
	built, err := registry.Build(ctx, channels.Config{Providers: []channels.ProviderConfig{{Name: "oa", Provider: channels.KindWeChatOA, Endpoint: channels.EndpointSandbox}}},
		registry.Deps{Pool: db.Pool, Logger: log, Now: clk.Now})
	require.NoError(t, err)
	t.Cleanup(func() { built.Stop(context.Background()) })
	svc, err := delivery.New(db.Pool, delivery.Config{Logger: log, Now: clk.Now}, delivery.Deps{Registry: built.Registry})
	require.NoError(t, err)
	s, err := server.New(server.Config{Logger: log, RateLimit: -1, Now: clk.Now}, server.Deps{Pool: db.Pool, Contacts: store, Auth: ids, Delivery: svc, Registry: built.Registry})
	require.NoError(t, err)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	b := &bundle{ctx: ctx, url: ts.URL, db: db, store: store, ids: ids, clock: clk}
	_, err = store.ImportContacts(ctx, strings.NewReader("external_id,name,wechat_openid,consent_wechat\nW1,甲,oVICTIM0001abcd,yes\n"),
		contacts.ImportOptions{Actor: audit.Actor{Name: "test"}})
	require.NoError(t, err)
	granted := func() bool {
		c, err := store.GetByExternalID(ctx, "W1")
		require.NoError(t, err)
		cons, err := store.Consents(ctx, c.ID)
		require.NoError(t, err)
		for _, k := range cons {
			if k.Channel == contacts.ChannelWeChat && k.Purpose == contacts.PurposeMarketing {
				return k.Granted
			}
		}
		t.Fatal("no wechat marketing consent")
		return false
	}
	require.True(t, granted())

	unfollow := "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[oVICTIM0001abcd]]></FromUserName>" +
		"<CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event></xml>"
	push := func(at time.Time, nonce string) resp {
		stamp := strconv.FormatInt(at.Unix(), 10)
		path := "/hooks/wechat/oa?timestamp=" + stamp + "&nonce=" + nonce + "&signature=" + util.Signature(channels.DefaultSandboxSecret, stamp, nonce)
		return b.do(t, "POST", path, "text/xml", strings.NewReader(unfollow))
	}
	r := push(time.Unix(1, 0), "forged")
	require.Equal(t, 401, r.status, string(r.body))
	require.True(t, granted(), "a push signed in 1970 changes nothing")
	r = push(clk.Now().Add(-10*time.Minute), "late")
	require.Equal(t, 401, r.status, string(r.body))
	require.True(t, granted())

	// The clock runs: the replay below sends this very request again, the same
	// signed second, as a replayed push does.
	fresh := clk.Now()
	r = push(fresh, "fresh")
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, "success", string(r.body))
	require.False(t, granted(), "a fresh unfollow revokes")

	// The customer follows again and grants consent; the old unfollow replayed
	// within the window is refused and the new consent stands.
	c, err := store.GetByExternalID(ctx, "W1")
	require.NoError(t, err)
	require.NoError(t, pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		_, err := store.SetConsent(ctx, tx, audit.Actor{Name: "test"}, c.ID, contacts.ConsentChange{Channel: contacts.ChannelWeChat,
			Purpose: contacts.PurposeMarketing, Granted: true, Source: "test"})
		return err
	}))
	require.True(t, granted())
	r = push(fresh, "fresh")
	require.Equal(t, 401, r.status, "a replayed nonce: %s", r.body)
	require.True(t, granted(), "a replay changes nothing")
}
