package contacts_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/contacts"
	"carillon/internal/audit"
	"carillon/internal/pgtest"
	"carillon/internal/testlog"
)

type bundle struct {
	ctx   context.Context
	db    *pgtest.DB
	store *contacts.Store
}

func setup(t *testing.T) *bundle {
	t.Helper()
	db := pgtest.New(t)
	store, err := contacts.NewStore(db.Pool, contacts.Config{Logger: testlog.New(t)})
	require.NoError(t, err)
	return &bundle{ctx: context.Background(), db: db, store: store}
}

const managersCSV = "code,name,email,wecom_userid,team,lead,timezone\n" +
	"M001,王芳,wang.fang@bank.example,wangfang,east,M001,Asia/Shanghai\n" +
	"M002,李强,li.qiang@bank.example,liqiang,east,M001,\n"

func (b *bundle) importManagers(t *testing.T) {
	t.Helper()
	rep, err := b.store.ImportManagers(b.ctx, strings.NewReader(managersCSV), contacts.ImportOptions{Actor: audit.Actor{Name: "test"}})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
}

func (b *bundle) importContacts(t *testing.T, csv string) *contacts.ImportReport {
	t.Helper()
	rep, err := b.store.ImportContacts(b.ctx, strings.NewReader(csv), contacts.ImportOptions{Actor: audit.Actor{Name: "test"}, SourceName: "test.csv"})
	require.NoError(t, err)
	return rep
}

func mustField(t *testing.T, data []byte, key string) json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(data, &m))
	v, ok := m[key]
	require.True(t, ok, "no %q in %s", key, data)
	return v
}
