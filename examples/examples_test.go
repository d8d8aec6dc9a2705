package examples_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/contacts"
	"carillon/examples"
	"carillon/internal/audit"
	"carillon/internal/pgtest"
)

const (
	managersHeader = "code,name,email,wecom_userid,team,lead,timezone"
	contactsHeader = "external_id,name,gender,phone,email,wechat_openid,birthday,lunar_birthday,birthday_calendar,tier,manager,tags," +
		"locale,timezone,status,consent_sms,consent_email,consent_wechat,assets,deposit_maturity,products"
)

// records parses an embedded file as plain RFC 4180 CSV and returns its rows,
// header first.
func records(t *testing.T, data []byte) [][]string {
	t.Helper()
	require.False(t, bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}), "no byte order mark")
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, recs)
	return recs
}

func TestFilesAreWellFormed(t *testing.T) {
	t.Parallel()
	m := records(t, examples.ManagersCSV)
	require.Equal(t, managersHeader, strings.Join(m[0], ","))
	require.Len(t, m, 8, "seven managers")

	c := records(t, examples.ContactsCSV)
	require.Equal(t, contactsHeader, strings.Join(c[0], ","))
	require.GreaterOrEqual(t, len(c)-1, 180)
	seen := map[string]bool{}
	for _, r := range c[1:] {
		require.False(t, seen[r[0]], "duplicate external_id %s", r[0])
		seen[r[0]] = true
	}
}

func TestExamplesImport(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t)
	store, err := contacts.NewStore(db.Pool, contacts.Config{})
	require.NoError(t, err)

	managerRows := len(records(t, examples.ManagersCSV)) - 1
	contactRows := len(records(t, examples.ContactsCSV)) - 1

	rep, err := store.ImportManagers(ctx, bytes.NewReader(examples.ManagersCSV), contacts.ImportOptions{Actor: audit.Actor{Name: "test"}})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	require.Zero(t, rep.Failed)
	require.Equal(t, managerRows, rep.Rows)
	require.Equal(t, managerRows, rep.Inserted)

	rep, err = store.ImportContacts(ctx, bytes.NewReader(examples.ContactsCSV), contacts.ImportOptions{Actor: audit.Actor{Name: "test"}, SourceName: "contacts.csv"})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	require.Empty(t, rep.Warnings)
	require.Zero(t, rep.Failed)
	require.Equal(t, contactRows, rep.Rows)
	require.Equal(t, contactRows, rep.Inserted)

	count := func(sql string, args ...any) int {
		t.Helper()
		var n int
		require.NoError(t, db.Pool.QueryRow(ctx, sql, args...).Scan(&n))
		return n
	}
	require.Equal(t, contactRows, count(`SELECT count(*) FROM contacts`))
	for _, tier := range []string{"A", "B", "C", "D"} {
		require.Positive(t, count(`SELECT count(*) FROM contacts WHERE tier = $1`, tier), "tier %s", tier)
	}
	for _, st := range []contacts.Status{contacts.StatusActive, contacts.StatusDormant, contacts.StatusClosed, contacts.StatusDeceased} {
		require.Positive(t, count(`SELECT count(*) FROM contacts WHERE status = $1`, string(st)), "status %s", st)
	}
	for _, cal := range []string{"solar", "lunar"} {
		require.Positive(t, count(`SELECT count(*) FROM contacts WHERE birth_calendar = $1`, cal), "calendar %s", cal)
	}
	require.Positive(t, count(`SELECT count(*) FROM contacts WHERE lunar_leap`))
	require.Positive(t, count(`SELECT count(*) FROM contacts WHERE birth_month = 2 AND birth_day = 29`))
	require.Positive(t, count(`SELECT count(*) FROM contacts WHERE manager_id IS NULL`))
	require.Positive(t, count(`SELECT count(*) FROM contacts WHERE locale = 'en'`))

	// The edge cases the care engine relies on.
	c, err := store.GetByExternalID(ctx, "C000001")
	require.NoError(t, err)
	require.NotEmpty(t, c.Tier)
	require.Equal(t, contacts.StatusActive, c.Status)
	require.NotNil(t, c.Birthday)
	require.Equal(t, contacts.Birthday{Calendar: "solar", Year: 1964, Month: 2, Day: 29}, contacts.Birthday{
		Calendar: c.Birthday.Calendar, Year: c.Birthday.Year, Month: c.Birthday.Month, Day: c.Birthday.Day})

	for id, want := range map[string][2]int{"C000002": {4, 8}, "C000003": {6, 15}} {
		c, err := store.GetByExternalID(ctx, id)
		require.NoError(t, err)
		require.NotNil(t, c.Birthday, id)
		require.Equal(t, "lunar", c.Birthday.Calendar, id)
		require.True(t, c.Birthday.LunarLeap, id)
		require.Equal(t, want, [2]int{c.Birthday.LunarMonth, c.Birthday.LunarDay}, id)
	}
	for id, want := range map[string][2]int{"C000004": {1, 1}, "C000008": {12, 30}, "C000009": {8, 30}} {
		c, err := store.GetByExternalID(ctx, id)
		require.NoError(t, err)
		require.NotNil(t, c.Birthday, id)
		require.Equal(t, "lunar", c.Birthday.Calendar, id)
		require.False(t, c.Birthday.LunarLeap, id)
		require.Equal(t, want, [2]int{c.Birthday.LunarMonth, c.Birthday.LunarDay}, id)
	}

	// A quoted name with a comma, a foreign number in E.164, extra columns as attrs.
	c, err = store.GetByExternalID(ctx, "C000007")
	require.NoError(t, err)
	require.Equal(t, "Lee, Robert Jr.", c.Name)
	require.Equal(t, "en", c.Locale)
	require.True(t, strings.HasPrefix(c.Phone, "+852"), c.Phone)
	var attrs map[string]any
	require.NoError(t, json.Unmarshal(c.Attrs, &attrs))
	require.Contains(t, attrs, "assets")
	require.Contains(t, attrs, "products")

	c, err = store.GetByExternalID(ctx, "C000006")
	require.NoError(t, err)
	require.Equal(t, "James O'Brien", c.Name)
	require.Equal(t, "Europe/London", c.TimeZone)

	// Importing the same files again changes nothing.
	rep, err = store.ImportManagers(ctx, bytes.NewReader(examples.ManagersCSV), contacts.ImportOptions{Actor: audit.Actor{Name: "test"}})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	require.Zero(t, rep.Inserted)
	require.Zero(t, rep.Updated)
	require.Equal(t, managerRows, rep.Unchanged)

	rep, err = store.ImportContacts(ctx, bytes.NewReader(examples.ContactsCSV), contacts.ImportOptions{Actor: audit.Actor{Name: "test"}, SourceName: "contacts.csv"})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
	require.Zero(t, rep.Failed)
	require.Zero(t, rep.Inserted)
	require.Zero(t, rep.Updated)
	require.Equal(t, contactRows, rep.Unchanged)
	require.Equal(t, contactRows, count(`SELECT count(*) FROM contacts`))
}
