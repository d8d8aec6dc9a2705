package contacts_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/contacts"
)

// What the console reads of the contacts: a search within a scope (by
// customer number, phone tail, name prefix, tier), a manager's customers'
// birthdays and maturities, and the counts by status.
func TestConsoleReadsSearchesDatesAndCounts(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importManagers(t)
	rep := b.importContacts(t, basicCSV)
	require.Empty(t, rep.Errors)
	c1, err := b.store.GetByExternalID(b.ctx, "C001")
	require.NoError(t, err)
	c2, err := b.store.GetByExternalID(b.ctx, "C002")
	require.NoError(t, err)
	c3, err := b.store.GetByExternalID(b.ctx, "C003")
	require.NoError(t, err)
	m1, m2 := c1.ManagerID, c2.ManagerID
	require.NotZero(t, m1)
	require.NotZero(t, m2)

	search := func(sc contacts.Scope, q contacts.SearchQuery) []int64 {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 10
		}
		ids, _, err := b.store.SearchIDs(b.ctx, sc, q)
		require.NoError(t, err)
		return ids
	}
	all := contacts.Scope{}
	require.Equal(t, []int64{c1.ID}, search(all, contacts.SearchQuery{Q: "C001"}), "a customer number")
	require.Equal(t, []int64{c1.ID}, search(all, contacts.SearchQuery{Q: "812345678"}), "a phone's last digits")
	require.Equal(t, []int64{c2.ID}, search(all, contacts.SearchQuery{Q: "emily"}), "a name prefix")
	require.Equal(t, []int64{c2.ID}, search(all, contacts.SearchQuery{Tier: "B"}))
	require.Empty(t, search(contacts.Scope{Restricted: true, ManagerIDs: []int64{m2}}, contacts.SearchQuery{Q: "C001"}), "out of scope")
	require.Empty(t, search(all, contacts.SearchQuery{Q: "00005678"}), "who sees numbers searches by every digit given")
	require.Equal(t, []int64{c1.ID, c3.ID}, search(all, contacts.SearchQuery{Q: "00005678", TailOnly: true}), "masked: the last four digits only")
	ids, more, err := b.store.SearchIDs(b.ctx, all, contacts.SearchQuery{Limit: 1})
	require.NoError(t, err)
	require.True(t, more)
	require.Len(t, ids, 1)

	solar, err := b.store.SolarBirthdaysOf(b.ctx, []int64{m1, m2}, []int32{3, 2}, []int32{8, 29})
	require.NoError(t, err)
	require.Len(t, solar, 1, "C003 has no manager")
	require.Equal(t, contacts.ManagedDate{ContactID: c1.ID, ExternalID: "C001", Name: "张伟", ManagerCode: "M001", Month: 3, Day: 8}, solar[0])
	lunar, err := b.store.LunarBirthdaysOf(b.ctx, []int64{m2}, []int32{8}, []int32{15}, []bool{false})
	require.NoError(t, err)
	require.Len(t, lunar, 1)
	require.Equal(t, c2.ID, lunar[0].ContactID)
	due, err := b.store.AttrDatesOf(b.ctx, []int64{m1, m2}, "deposit_maturity", "2027-01-01", "2027-01-31")
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, "2027-01-15", due[0].Value)

	counts, err := b.store.CountByStatus(b.ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"active": 3}, counts)
}

// A name is found by any part of it (刚 finds 王刚), its LIKE wildcards taken
// as characters; the count is bounded and numbered pages skip rows.
func TestSearchByAnyPartOfANameCountsAndPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.importManagers(t)
	rep := b.importContacts(t, "external_id,name,manager\nN1,王刚,M001\nN2,刚强,M001\nN3,李小刚,M002\nN4,周_%,M002\nN5,赵敏,M002\n")
	require.Empty(t, rep.Errors)
	all := contacts.Scope{}
	names := func(q contacts.SearchQuery) []string {
		t.Helper()
		ids, _, err := b.store.SearchIDs(b.ctx, all, q)
		require.NoError(t, err)
		got, err := b.store.GetMany(b.ctx, ids)
		require.NoError(t, err)
		var out []string
		for _, id := range ids {
			out = append(out, got[id].ExternalID)
		}
		return out
	}
	require.Equal(t, []string{"N1", "N2", "N3"}, names(contacts.SearchQuery{Q: "刚", Limit: 10}), "a given name")
	require.Equal(t, []string{"N3"}, names(contacts.SearchQuery{Q: "小刚", Limit: 10}))
	require.Equal(t, []string{"N4"}, names(contacts.SearchQuery{Q: "_", Limit: 10}), "_ is a character")
	require.Equal(t, []string{"N4"}, names(contacts.SearchQuery{Q: "%", Limit: 10}), "% is a character")
	require.Equal(t, []string{"N2", "N3"}, names(contacts.SearchQuery{Q: "刚", Offset: 1, Limit: 2}), "page 2 of 1 a page")

	n, capped, err := b.store.CountSearch(b.ctx, all, contacts.SearchQuery{Q: "刚"}, 100)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.False(t, capped)
	n, capped, err = b.store.CountSearch(b.ctx, all, contacts.SearchQuery{Q: "刚"}, 2)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.True(t, capped)
	n, _, err = b.store.CountSearch(b.ctx, all, contacts.SearchQuery{Q: "N5"}, 100)
	require.NoError(t, err)
	require.Equal(t, 1, n, "a customer number")
	m2, err := b.store.GetManager(b.ctx, "M002")
	require.NoError(t, err)
	n, _, err = b.store.CountSearch(b.ctx, contacts.Scope{Restricted: true, ManagerIDs: []int64{m2.ID}}, contacts.SearchQuery{Q: "刚"}, 100)
	require.NoError(t, err)
	require.Equal(t, 1, n, "within the scope")
}
