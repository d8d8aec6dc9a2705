package console

func init() {
	addMessages(map[string][2]string{
		"phone.pages":      {"Pages", "分页"},
		"phone.rows_of":    {"%s–%s of %s", "第 %s–%s 条，共 %s 条"},
		"phone.by_manager": {"By manager", "按客户经理"},
		"phone.customers":  {"%s customers", "%s 位客户"},
	})
}
