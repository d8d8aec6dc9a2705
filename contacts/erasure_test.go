package contacts_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/contacts"
)

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	require.NoError(t, json.Unmarshal([]byte(s), &v))
	return v
}

// A digest lists two customers: only the erased one's entries become
// placeholders (dates, numbers and flags kept), the other's stay whole.
func TestRedactEntriesKeepsOthers(t *testing.T) {
	e := contacts.Erasure{ContactID: 7, ExternalID: "E7", Name: "欧阳静怡", Phone: "+8613912345678"}
	v := decode(t, `{"Digest": {"Total": 2, "Items": [
		{"ContactID": 7, "Name": "欧阳静怡", "Tier": "A", "DueDate": "2026-11-09", "Overdue": true, "DaysLate": 5, "LastOutcome": "计划追加存款"},
		{"ContactID": 8, "Name": "司马光明", "Tier": "B", "DueDate": "2026-11-09", "Overdue": false}],
		"Replies": [{"ExternalID": "E7", "Text": "请回电", "At": "2026-11-16T07:00:00+08:00"}],
		"Note": "含 欧阳静怡 的备注"}}`)
	out, changed := e.RedactEntries(v)
	require.True(t, changed)
	d := out.(map[string]any)["Digest"].(map[string]any)
	items := d["Items"].([]any)
	gone, kept := items[0].(map[string]any), items[1].(map[string]any)
	require.Equal(t, contacts.ErasedPlaceholder, gone["Name"])
	require.Equal(t, contacts.ErasedPlaceholder, gone["LastOutcome"])
	require.Equal(t, "2026-11-09", gone["DueDate"], "dates stay: templates format them")
	require.Equal(t, true, gone["Overdue"])
	require.Equal(t, true, gone["Erased"])
	require.Equal(t, map[string]any{"ContactID": float64(8), "Name": "司马光明", "Tier": "B", "DueDate": "2026-11-09", "Overdue": false}, kept)
	reply := d["Replies"].([]any)[0].(map[string]any)
	require.Equal(t, contacts.ErasedPlaceholder, reply["Text"])
	require.Equal(t, contacts.ErasedPlaceholder, reply["ExternalID"])
	require.Equal(t, "含 "+contacts.ErasedPlaceholder+" 的备注", d["Note"], "a copy of the name elsewhere is replaced")
	require.Equal(t, float64(2), d["Total"])

	_, changed = contacts.Erasure{ContactID: 9, ExternalID: "E9", Name: "无关"}.RedactEntries(decode(t, `{"Items": [{"ContactID": 8, "Name": "司马光明"}]}`))
	require.False(t, changed, "a message about others is left alone")
}

func TestScrubTextSkipsOneCharacterNames(t *testing.T) {
	e := contacts.Erasure{Name: "甲", Email: "k1@example.com"}
	out, changed := e.ScrubText("甲方 wrote from k1@example.com")
	require.True(t, changed)
	require.Equal(t, "甲方 wrote from "+contacts.ErasedPlaceholder, out)
}

// CSV cells: formulas neutralised, times in UTC, objects as JSON; the header
// has both languages; quotes and commas survive because encoding/csv writes it.
func TestSectionCSV(t *testing.T) {
	sec := contacts.Section{Name: "replies", Columns: []contacts.Column{{Key: "text", Zh: "文字"}, {Key: "data", Zh: "数据"}},
		Rows: []map[string]any{{"text": `=HYPERLINK("x"), "quoted"`, "data": map[string]any{"a": 1}}, {"text": "普通, 文字"}}}
	var b bytes.Buffer
	require.NoError(t, sec.WriteCSV(&b))
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b.Bytes(), []byte("\ufeff")))).ReadAll()
	require.NoError(t, err)
	require.Equal(t, [][]string{{"文字 / text", "数据 / data"}, {`'=HYPERLINK("x"), "quoted"`, `{"a":1}`}, {"普通, 文字", ""}}, recs)
}
