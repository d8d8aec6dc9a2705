package console

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/contacts"
)

func TestEventSentencesInChinese(t *testing.T) {
	c := &Console{loc: time.FixedZone("CST", 8*3600)}
	for _, tc := range []struct {
		e    contacts.Event
		want string
	}{
		{contacts.Event{Kind: "message.failed", Actor: "provider:ali",
			Data: []byte(`{"template":"birthday","channel":"sms","provider":"ali","code":"MN:0001"}`)},
			"「birthday」发送失败（短信）（ali 回执代码 MN:0001）"},
		{contacts.Event{Kind: "message.failed", Actor: "delivery", Data: []byte(`{"template":"birthday","reason":"permanent: isv.BLACK"}`)},
			"「birthday」发送失败：服务商拒绝（永久错误）（isv.BLACK）"},
		{contacts.Event{Kind: "revisit.logged", Data: []byte(`{"method":"phone","on_time":true,"due_on":"2026-01-05"}`)},
			"通过电话回访，按时完成"},
		{contacts.Event{Kind: "consent.changed", Data: []byte(`{"channel":"email","purpose":"marketing","granted":false,"source":"console"}`)},
			"邮件营销授权已撤回（来源：控制台）"},
		{contacts.Event{Kind: "something.new"}, "（其他动态）"},
	} {
		require.Equal(t, tc.want, c.eventText("zh", tc.e), tc.e.Kind)
	}
	require.Equal(t, "stored", (&view{Lang: "en", c: c}).EventText(contacts.Event{Summary: "stored"}), "English keeps the summary")
}

func TestSegmentErrorsInChinese(t *testing.T) {
	for in, want := range map[string]string{
		"1:6: Syntax error: token recognition error at: '= '": "第 1 行第 6 列：请用 == 比较（单个 = 不是比较）",
		`2:3: unknown field "tiers" (did you mean "tier"?)`:   "第 2 行第 3 列：没有这个字段：tiers（是否想写 tier？）",
		"1:13: Syntax error: missing ')' at '<EOF>'":          "第 1 行第 13 列：括号不成对",
		"is required":              "必填",
		`"9-5" is not HH:MM-HH:MM`: "“9-5”格式不对，时间格式应为 HH:MM-HH:MM",
		"the filter is empty":      "筛选条件为空",
	} {
		require.Equal(t, want, trMessage("zh", in), in)
		require.Equal(t, in, trMessage("en", in))
	}
	require.Equal(t, "输入有误：原因：必填；等级：“E”不是有效的等级（A、B、C、D）",
		trDetail("zh", `revisits: log: invalid input: reason: is required; tier: "E" is not a tier (A, B, C, D)`))
	require.Equal(t, "未知的动态筛选", trDetail("zh", "unknown timeline filter"))
}
