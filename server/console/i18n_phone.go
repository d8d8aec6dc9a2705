package console

func init() {
	addMessages(map[string][2]string{
		"phone.pages":                 {"Pages", "分页"},
		"phone.rows_of":               {"%s–%s of %s", "第 %s–%s 条，共 %s 条"},
		"phone.customers":             {"%s customers", "%s 位客户"},
		"phone.found":                 {"%s customers found", "共找到 %s 位客户"},
		"phone.found_more":            {"More than %s customers found", "找到超过 %s 位客户"},
		"phone.call":                  {"Call %s", "拨打 %s"},
		"phone.attr.assets":           {"Assets", "资产"},
		"phone.attr.balance":          {"Balance", "余额"},
		"phone.attr.deposit_amount":   {"Deposit", "存款金额"},
		"phone.attr.deposit_maturity": {"Deposit matures", "存款到期日"},
		"phone.attr.city":             {"City", "城市"},
		"phone.attr.vip":              {"VIP", "贵宾客户"},
		"phone.attr.products":         {"Products", "持有产品"},
		"phone.attr.risk":             {"Risk profile", "风险等级"},
		"phone.search_live":           {"Results update as you type.", "输入时自动更新结果。"},
	})
}
