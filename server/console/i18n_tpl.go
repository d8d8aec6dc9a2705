package console

// Texts of template authoring (templates_author.go): the new-template form,
// copies, locale variants, the live preview, and the template parse errors
// rewritten for people.
func init() {
	addMessages(map[string][2]string{
		"tpl.new":                 {"New template", "新建模板"},
		"tpl.new_title":           {"New template", "新建模板"},
		"tpl.key_hint":            {"Lower-case words joined by . and _; it cannot be changed later.", "由小写字母、数字、点和下划线组成，保存后不能修改。"},
		"tpl.key_taken":           {"Not saved: a template with that key exists. Choose another key.", "未保存：该标识的模板已存在，请换一个标识。"},
		"tpl.locale_zh-CN":        {"Chinese", "中文"},
		"tpl.locale_en":           {"English", "英文"},
		"tpl.default_locale_hint": {"The first language chosen is the default: customers in other languages fall back to it.", "所选的第一种语言为默认语言，其他语言的客户将使用默认语言的内容。"},
		"tpl.wechat_fields":       {"WeChat template fields (space-separated)", "公众号模板字段（以空格分隔）"},
		"tpl.wecom_format":        {"Format", "格式"},
		"tpl.show_fields":         {"Show the fields of this channel and these languages", "显示该渠道和语言的字段"},
		"tpl.create":              {"Create the template", "创建模板"},
		"tpl.variants":            {"Languages and channels", "语言与渠道"},
		"tpl.remove_variant":      {"Remove", "删除"},
		"tpl.add_variant":         {"Add a language", "添加语言"},
		"tpl.add_variant_hint":    {"A new language starts as a copy of the default language's texts, saved as a version that is not active: translate it, then save it as the active version.", "新语言先复制默认语言的内容，另存为未启用的版本：翻译后再保存为当前版本。"},
		"tpl.copy":                {"Copy as a new template", "复制为新模板"},
		"tpl.new_key":             {"New key", "新标识"},
	})
}
