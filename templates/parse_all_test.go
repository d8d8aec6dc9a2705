package templates

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseListsEveryError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src string
		want      []Problem
	}{
		{"unclosed and stray end", "尊敬的{{.Contact.Name}，\n您好{{end}}", []Problem{
			{Field: "f", Line: 1, Column: 4, Message: "unclosed action: this {{ has no }} to close it"},
			{Field: "f", Line: 2, Column: 3, Message: "{{end}} without an {{if}}, {{with}} or {{range}} to close"}}},
		{"if not closed and empty action", "{{if .A}}x\n{{}}y {{\"abc}}", []Problem{
			{Field: "f", Line: 1, Column: 1, Message: "{{if}} is not closed: add {{end}} after its text"},
			{Field: "f", Line: 2, Column: 1, Message: "empty action: write a variable or a function between {{ and }}"},
			{Field: "f", Line: 2, Column: 7, Message: "a quoted text is not closed: add the closing quote"}}},
		{"variables and else", "{{$n := .A}}{{if $n}}{{$n}}{{else}}{{$m}}{{end}}", []Problem{
			{Field: "f", Line: 1, Column: 36, Message: "variable $m is used before it is set"}}},
		{"full-width brace", "{{.A｝}}", []Problem{
			{Field: "f", Line: 1, Column: 1, Message: `the character "｝" cannot be used inside {{ }} (a full-width character?)`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, parseText("f", tc.src))
		})
	}
	require.Nil(t, parseText("f", "{{if .A}}{{.B}}{{else if .C}}c{{end}}"))
}
