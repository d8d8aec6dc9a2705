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
	})
}
