package console

// The campaign list's search and the campaign calendar (campaigns.go,
// campaign_calendar.go).
func init() {
	addMessages(map[string][2]string{
		"camp.search_name":    {"Name contains", "名称包含"},
		"camp.mine":           {"Only mine", "只看我的"},
		"camp.created_from":   {"Created from", "创建日期起"},
		"camp.created_to":     {"Created to", "创建日期止"},
		"camp.scheduled_from": {"Runs from", "发送日期起"},
		"camp.scheduled_to":   {"Runs to", "发送日期止"},
		"camp.found":          {"%s campaigns found", "共找到 %s 个活动"},
		"camp.clear_filter":   {"Clear the search", "清除筛选"},
		"camp.calendar":       {"Campaign calendar", "活动日历"},
		"camp.cal_prev":       {"Previous month", "上个月"},
		"camp.cal_next":       {"Next month", "下个月"},
		"camp.cal_this":       {"This month", "本月"},
		"camp.cal_ran":        {"ran", "已发送"},
		"camp.cal_planned":    {"planned", "计划"},
		"camp.cal_times":      {"%d times", "%d 次"},
		"camp.cal_care":       {"greeting at %s", "%s 发送问候"},
		"camp.cal_firings":    {"%d campaign firings this month.", "本月共 %d 次活动发送。"},
		"camp.cal_today":      {"today", "今天"},
	})
}
