package contacts_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/contacts"
	"carillon/internal/audit"
)

// A bulk tag changes every matching contact in scope at once, skips those
// that already have the tag, writes one timeline event per change and one
// audit row; a failure at the end leaves nothing changed.
func TestBulkTagIsAtomicScopedAndIdempotent(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importManagers(t)
	require.Empty(t, b.importContacts(t, basicCSV).Errors)
	c1, err := b.store.GetByExternalID(b.ctx, "C001")
	require.NoError(t, err)
	c2, err := b.store.GetByExternalID(b.ctx, "C002")
	require.NoError(t, err)
	actor := audit.Actor{Name: "console:admin"}

	for _, bad := range []string{"", "a b", "x;y", "=cmd", "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三"} {
		_, err := b.store.PreviewBulkTag(b.ctx, contacts.Scope{}, contacts.BulkTag{Tag: bad})
		var ve *contacts.ValidationError
		require.ErrorAs(t, err, &ve, "tag %q", bad)
	}

	// A manager's scope: M002's customers only (C002).
	scoped := contacts.Scope{Restricted: true, ManagerIDs: []int64{c2.ManagerID}}
	res, err := b.store.PreviewBulkTag(b.ctx, scoped, contacts.BulkTag{Tag: "高净值"})
	require.NoError(t, err)
	require.Equal(t, contacts.BulkTagResult{Matched: 1, Changed: 1}, res)

	// Everyone tagged "wealth" (C001, C002) gets "vip"; C001 already has it.
	bt := contacts.BulkTag{Search: contacts.SearchQuery{Tag: "wealth"}, Tag: "vip"}
	res, err = b.store.PreviewBulkTag(b.ctx, contacts.Scope{}, bt)
	require.NoError(t, err)
	require.Equal(t, contacts.BulkTagResult{Matched: 2, Changed: 1}, res)

	// A failure after the update and the events (the audit refused) leaves nothing.
	_, err = b.db.Pool.Exec(b.ctx, `CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
		CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit()`)
	require.NoError(t, err)
	_, err = b.store.ApplyBulkTag(b.ctx, actor, contacts.Scope{}, bt)
	require.Error(t, err)
	got, err := b.store.Get(b.ctx, c2.ID)
	require.NoError(t, err)
	require.NotContains(t, got.Tags, "vip", "rolled back")
	tl, err := b.store.Timeline(b.ctx, c2.ID, contacts.TimelineFilter{Kind: "contact.", Limit: 50})
	require.NoError(t, err)
	for _, e := range tl.Items {
		require.NotEqual(t, contacts.EventTagged, e.Kind, "no event survives the rollback")
	}
	_, err = b.db.Pool.Exec(b.ctx, `DROP TRIGGER refuse_audit ON audit_log`)
	require.NoError(t, err)

	res, err = b.store.ApplyBulkTag(b.ctx, actor, contacts.Scope{}, bt)
	require.NoError(t, err)
	require.Equal(t, contacts.BulkTagResult{Matched: 2, Changed: 1}, res)
	got, err = b.store.Get(b.ctx, c2.ID)
	require.NoError(t, err)
	require.Contains(t, got.Tags, "vip")
	tl, err = b.store.Timeline(b.ctx, c2.ID, contacts.TimelineFilter{Kind: "contact.", Limit: 50})
	require.NoError(t, err)
	require.Equal(t, contacts.EventTagged, tl.Items[0].Kind)
	require.Contains(t, tl.Items[0].Summary, "标签「vip」已添加")
	tl, err = b.store.Timeline(b.ctx, c1.ID, contacts.TimelineFilter{Kind: "contact.", Limit: 50})
	require.NoError(t, err)
	for _, e := range tl.Items {
		require.NotEqual(t, contacts.EventTagged, e.Kind, "C001 had the tag: no event")
	}
	again, err := b.store.ApplyBulkTag(b.ctx, actor, contacts.Scope{}, bt)
	require.NoError(t, err)
	require.Equal(t, contacts.BulkTagResult{Matched: 2, Changed: 0}, again, "idempotent")

	recs, _, err := audit.List(b.ctx, b.db.Pool, audit.Filter{Action: "contacts.bulk_tag"})
	require.NoError(t, err)
	require.Len(t, recs, 2, "one row per apply")
	var ch map[string]any
	require.NoError(t, json.Unmarshal(recs[1].Changes, &ch))
	require.EqualValues(t, 1, ch["changed"])
	require.Equal(t, map[string]any{"tag": "wealth"}, ch["search"])

	// Removing within the manager's scope touches C002 only; chosen rows narrow it.
	res, err = b.store.ApplyBulkTag(b.ctx, actor, scoped, contacts.BulkTag{Search: contacts.SearchQuery{IDs: []int64{c1.ID, c2.ID}}, Tag: "vip", Remove: true})
	require.NoError(t, err)
	require.Equal(t, contacts.BulkTagResult{Matched: 1, Changed: 1}, res)
	got, err = b.store.Get(b.ctx, c1.ID)
	require.NoError(t, err)
	require.Contains(t, got.Tags, "vip", "out of scope: unchanged")
}

// A list export streams the matches in scope and audits the search and count.
func TestExportSearchStreamsScopedAndAudits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importManagers(t)
	require.Empty(t, b.importContacts(t, basicCSV).Errors)
	c2, err := b.store.GetByExternalID(b.ctx, "C002")
	require.NoError(t, err)
	var got []string
	n, err := b.store.ExportSearch(b.ctx, audit.Actor{Name: "console:m"}, contacts.Scope{Restricted: true, ManagerIDs: []int64{c2.ManagerID}},
		contacts.SearchQuery{Tag: "wealth"}, func(c contacts.Contact) error {
			got = append(got, c.ExternalID)
			return nil
		})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []string{"C002"}, got)
	recs, _, err := audit.List(b.ctx, b.db.Pool, audit.Filter{Action: "contacts.export_list"})
	require.NoError(t, err)
	require.Len(t, recs, 1)
	var ch map[string]any
	require.NoError(t, json.Unmarshal(recs[0].Changes, &ch))
	require.EqualValues(t, 1, ch["rows"])
	require.Equal(t, "console:m", recs[0].Actor)
}
