package locale_test

import (
	"testing"

	"carillon/internal/locale"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]string{"": "", " zh_cn ": "zh-CN", "ＥＮ": "en", "zh-Hans-CN": "zh-Hans-CN", "en": "en"} {
		got, err := locale.Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"z", "zh--CN", "中文", "toolongtag-x"} {
		if _, err := locale.Parse(in); err == nil {
			t.Errorf("Parse(%q): no error", in)
		}
	}
}
