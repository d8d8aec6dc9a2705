package templates_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/templates"
)

func TestDisplayNameFallsBack(t *testing.T) {
	t.Parallel()
	both := templates.Template{Key: "birthday", Names: map[string]string{"zh-CN": "生日祝福", "en": "Birthday greeting"}}
	require.Equal(t, "生日祝福", both.DisplayName("zh-CN"))
	require.Equal(t, "生日祝福", both.DisplayName("zh-TW"), "same language")
	require.Equal(t, "Birthday greeting", both.DisplayName("en-GB"))
	require.Equal(t, "生日祝福", both.DisplayName("fr"), "another language: Chinese first")
	enOnly := templates.Template{Key: "birthday", Names: map[string]string{"en": "Birthday greeting", "zh-CN": "  "}}
	require.Equal(t, "Birthday greeting", enOnly.DisplayName("zh-CN"), "a blank name is none")
	require.Equal(t, "birthday", templates.Template{Key: "birthday"}.DisplayName("zh-CN"), "no names: the key")
}
