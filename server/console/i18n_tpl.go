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
		"tpl.live_preview":        {"Live preview", "实时预览"},
		"tpl.live_hint":           {"The draft is rendered here as you type, exactly as it would be sent.", "输入时在此按实际发送的样子显示草稿。"},
		"tpl.customer_locale":     {"the customer's", "客户的语言"},

		"lang.err.tpl_unclosed":   {"unclosed action", "动作未闭合：这个 {{ 后面缺少 }}"},
		"lang.err.tpl_brace":      {"a single }", "只有一个 }：请用 }} 结束动作"},
		"lang.err.tpl_quote":      {"a quoted text is not closed", "引号里的文字没有结束：请补上右引号"},
		"lang.err.tpl_empty":      {"empty action", "空动作：{{ 和 }} 之间应写变量或函数"},
		"lang.err.tpl_novalue":    {"{{%s}} needs a value", "{{%s}} 缺少要判断的值"},
		"lang.err.tpl_var":        {"variable %s is used before it is set", "变量 %s 在赋值之前就被使用"},
		"lang.err.tpl_char":       {"the character %s cannot be used here", "{{ }} 内不能使用字符“%s”（是否输入了全角字符？）"},
		"lang.err.tpl_number":     {"%s is not a number", "“%s”不是有效的数字"},
		"lang.err.tpl_comment":    {"the comment is not closed", "注释没有结束：请以 */}} 结尾"},
		"lang.err.tpl_else":       {"{{else}} without {{if}}", "{{else}} 前面没有对应的 {{if}}、{{with}} 或 {{range}}"},
		"lang.err.tpl_end":        {"{{end}} without {{if}}", "多余的 {{end}}：前面没有需要结束的 {{if}}、{{with}} 或 {{range}}"},
		"lang.err.tpl_open":       {"{{%s}} is not closed", "{{%s}} 没有结束：请在其内容后加上 {{end}}"},
		"lang.err.tpl_func":       {"unknown function %s", "没有这个函数：%s"},
		"lang.err.tpl_unexpected": {"cannot read %s here", "此处无法识别：%s"},
		"lang.err.tpl_other":      {"cannot read this action", "无法识别这个动作的写法"},
	})
}
