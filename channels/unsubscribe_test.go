package channels

import "testing"

func TestUnsubscribeReplies(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]bool{
		// Replies that unsubscribe.
		"TD": true, "td": true, "TD。": true, "ＴＤ": true, " Ｔｄ ！": true, "退订": true, "退订，谢谢": true,
		"我要退订": true, "回复TD退订": true, "T": true, "n": true, "STOP": true, "Stop please": true,
		"拒收": true, "拒收短信": true, "取消": true, "退订!!!": true, "请帮我退订": true, "UNSUBSCRIBE": true,
		// Replies that must not.
		"不要退订": false, "别退订": false, "我不退订": false, "退订了吗？": false, "退订了吗": false,
		"怎么退订?": false, "how do I stop?": false, "DON'T STOP": false, "TDX": false, "STOPPED": false,
		"取消预约": false, "谢谢": false, "": false, "I want a T-bond": false, "A N B": false,
		"您好，我想咨询一下理财产品的收益，另外能不能帮我退订短信": false,
	} {
		if got := IsUnsubscribeReply(text); got != want {
			t.Errorf("IsUnsubscribeReply(%q) = %v, want %v", text, got, want)
		}
	}
}
