package synth_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
	"carillon/contacts"
	"carillon/internal/audit"
	"carillon/internal/pgtest"
	"carillon/internal/synth"
	"carillon/internal/testlog"
)

func TestDemoContactsImportCleanAndCelebrateToday(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	store, err := contacts.NewStore(db.Pool, contacts.Config{Logger: testlog.New(t)})
	require.NoError(t, err)
	var m, c bytes.Buffer
	require.NoError(t, synth.WriteManagers(&m, 20))
	today := calendar.NewDate(2027, time.September, 15) // 中秋, lunar 08-15
	require.NoError(t, synth.WriteDemoContacts(&c, 3000, 20, 7, today))
	var again bytes.Buffer
	require.NoError(t, synth.WriteDemoContacts(&again, 3000, 20, 7, today))
	require.Equal(t, c.String(), again.String(), "the output depends only on the seed and the day")

	opts := contacts.ImportOptions{Actor: audit.Actor{Name: "test"}}
	rep, err := store.ImportManagers(ctx, &m, opts)
	require.NoError(t, err)
	require.Zero(t, rep.Failed)
	rep, err = store.ImportContacts(ctx, &c, opts)
	require.NoError(t, err)
	require.Zero(t, rep.Failed, "%v", rep.Errors)
	require.Equal(t, 3000, rep.Inserted)

	count := func(sql string) int {
		var n int
		require.NoError(t, db.Pool.QueryRow(ctx, sql).Scan(&n))
		return n
	}
	require.Greater(t, count(`SELECT count(*) FROM contacts WHERE birth_calendar = 'solar' AND birth_month = 9 AND birth_day = 15`), 10)
	require.Greater(t, count(`SELECT count(*) FROM contacts WHERE birth_calendar = 'lunar' AND lunar_month = 8 AND lunar_day = 15`), 10)
	require.Greater(t, count(`SELECT count(*) FROM contacts WHERE attrs->>'deposit_maturity' = '2027-09-22'`), 10)
	require.Greater(t, count(`SELECT count(*) FROM contacts WHERE status <> 'active'`), 0)
	require.Greater(t, count(`SELECT count(*) FROM contacts WHERE wechat_openid IS NOT NULL`), 500)
	require.Greater(t, count(`SELECT count(*) FROM contacts WHERE phone IS NULL`), 50)
}
