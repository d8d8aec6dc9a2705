package console

import (
	"time"
)

// CSV exports speak the console's language: a Chinese export's header cells
// are "中文 / english" (the English name stays, for whoever maps the file
// into a spreadsheet or a script), an English one's the English names; the
// time columns are in the console's zone, named in their header.

// csvHeader is an export's header row in lang.
func (c *Console) csvHeader(lang string, cols []string) []string {
	out := make([]string, len(cols))
	for i, col := range cols {
		name := col
		if col == "fire_at" {
			name += " (" + c.loc.String() + ")"
		}
		if lang != "en" {
			zh := trOr(lang, "lang.csv."+col, col)
			if col == "fire_at" {
				zh += "（" + c.loc.String() + "）"
			}
			name = zh + " / " + name
		}
		out[i] = name
	}
	return out
}

// csvTime is a time of an export: in the console's zone, with its offset.
func (c *Console) csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(c.loc).Format("2006-01-02 15:04:05 -07:00")
}

// csvRunStatus is a run's state in an export.
func (c *Console) csvRunStatus(lang, s string) string {
	if lang == "en" {
		return s
	}
	return trOr(lang, "lang.run."+s, s)
}

func init() {
	addMessages(map[string][2]string{
		"lang.csv.campaign_id": {"campaign_id", "活动编号"},
		"lang.csv.run_id":      {"run_id", "批次编号"},
		"lang.csv.fire_at":     {"fire_at", "运行时间"},
		"lang.csv.status":      {"status", "状态"},
		"lang.csv.audience":    {"audience", "目标人数"},
		"lang.csv.recipients":  {"recipients", "收件人"},
		"lang.csv.written":     {"written", "已生成"},
		"lang.csv.queued":      {"queued", "排队中"},
		"lang.csv.sent":        {"sent", "已发出"},
		"lang.csv.delivered":   {"delivered", "已送达"},
		"lang.csv.failed":      {"failed", "失败"},
		"lang.csv.suppressed":  {"suppressed", "已拦截"},
		"lang.csv.cancelled":   {"cancelled", "已取消"},
		"lang.csv.opened":      {"opened", "已打开"},
		"lang.csv.clicked":     {"clicked", "已点击"},
	})
}
