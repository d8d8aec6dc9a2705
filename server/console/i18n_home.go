package console

// Texts of the marketer's home (home.go).
func init() {
	addMessages(map[string][2]string{
		"home.title":           {"My campaigns", "我的活动"},
		"home.drafts":          {"My drafts", "我的草稿"},
		"home.awaiting":        {"Awaiting approval", "待审批"},
		"home.scheduled":       {"Scheduled", "已排期"},
		"home.running":         {"Running", "进行中"},
		"home.empty.drafts":    {"No draft: start a new campaign when you are ready.", "没有草稿。准备好后可以新建活动。"},
		"home.empty.awaiting":  {"Nothing of yours is waiting for an approver.", "您没有等待审批的活动。"},
		"home.empty.scheduled": {"Nothing of yours is scheduled yet.", "您还没有已排期的活动。"},
		"home.empty.running":   {"None of your campaigns is sending now.", "您目前没有正在发送的活动。"},
		"home.audience":        {"Audience", "受众"},
		"home.when":            {"Next / start", "下次 / 开始"},
		"home.copy":            {"Copy", "复制"},
		"home.copy_suffix":     {" (copy)", "（副本）"},
		"notice.copied":        {"Copied: this is the new draft.", "已复制，这是新的草稿。"},
		"home.all":             {"All %s", "全部 %s 个"},
	})
}
