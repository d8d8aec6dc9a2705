package revisits

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"carillon/contacts"
)

// ErasedColumns implements contacts.Eraser: the free text the package holds
// about a contact (revisit outcomes, needs, notes and reasons; feedback
// summaries and solutions) and the figures of their change alerts. The
// managers' digests that list the contact are messages: delivery's eraser
// rewrites them.
func (s *Service) ErasedColumns() []string {
	return []string{"revisits.outcome", "revisits.needs", "revisits.notes", "revisits.tier_reason",
		"feedback.summary", "feedback.solution", "revisit_alerts.data"}
}

// EraseContact implements contacts.Eraser, in the erasure's transaction.
// Register the service with contacts.Store.RegisterEraser.
func (s *Service) EraseContact(ctx context.Context, tx pgx.Tx, e contacts.Erasure) error {
	if _, err := tx.Exec(ctx, `UPDATE revisits SET outcome = '', needs = '', notes = '', tier_reason = CASE WHEN tier_reason IS NULL THEN NULL ELSE '' END
		WHERE contact_id = $1`, e.ContactID); err != nil {
		return fmt.Errorf("scrub revisits: %w", err)
	}
	if _, err := tx.Exec(ctx, `UPDATE feedback SET summary = '', solution = '', updated_at = $2 WHERE contact_id = $1`, e.ContactID, e.At); err != nil {
		return fmt.Errorf("scrub feedback: %w", err)
	}
	// The alert keeps its rule (counted in reports) but not the customer's figures.
	if _, err := tx.Exec(ctx, `UPDATE revisit_alerts SET data = CASE WHEN data ? 'feedback_id' THEN jsonb_build_object('feedback_id', data -> 'feedback_id') ELSE '{}' END
		WHERE contact_id = $1`, e.ContactID); err != nil {
		return fmt.Errorf("scrub alerts: %w", err)
	}
	return nil
}

// Export sections of revisits.
const (
	SectionRevisits = "revisits"
	SectionFeedback = "feedback"
	SectionAlerts   = "alerts"
)

var exportLabels = map[string]string{
	"id": "编号", "manager": "客户经理", "visited_on": "回访日期", "method": "方式", "outcome": "结果", "needs": "需求", "notes": "备注",
	"next_date": "下次回访", "due_on": "应访日期", "on_time": "按时", "covered": "代班", "tier_from": "原等级", "tier_to": "新等级",
	"tier_change": "等级变化", "tier_reason": "等级变化原因", "actor": "操作者", "created_at": "创建时间", "revisit_id": "回访编号",
	"category": "类别", "summary": "摘要", "solution": "解决方案", "owner": "负责人", "state": "状态", "opened_on": "提出日期",
	"sla_due": "时限", "resolved_on": "解决日期", "updated_at": "更新时间", "rule": "规则", "data": "数据", "at": "时间",
	"closed_on": "关闭日期", "closed": "关闭方式",
}

// ExportContact implements contacts.Exporter: the contact's revisits,
// feedback and change alerts.
func (s *Service) ExportContact(ctx context.Context, q contacts.Querier, c contacts.Contact) ([]contacts.Section, error) {
	contactID := c.ID
	queries := []struct{ name, sql string }{
		{SectionRevisits, `SELECT r.id, m.code AS manager, r.visited_on, r.method, r.outcome, r.needs, r.notes, r.next_date, r.due_on, r.on_time,
			r.covered, r.tier_from, r.tier_to, r.tier_change, r.tier_reason, r.actor, r.created_at
			FROM revisits r LEFT JOIN manager_refs m ON m.id = r.manager_id WHERE r.contact_id = $1 ORDER BY r.visited_on, r.id`},
		{SectionFeedback, `SELECT f.id, f.revisit_id, f.category, f.summary, f.solution, m.code AS owner, f.state, f.opened_on, f.sla_due,
			f.resolved_on, f.actor, f.created_at, f.updated_at
			FROM feedback f LEFT JOIN manager_refs m ON m.id = f.owner_id WHERE f.contact_id = $1 ORDER BY f.id`},
		{SectionAlerts, `SELECT a.id, m.code AS manager, a.rule, a.data, a.at, a.closed_on, a.closed
			FROM revisit_alerts a LEFT JOIN manager_refs m ON m.id = a.manager_id WHERE a.contact_id = $1 ORDER BY a.id`},
	}
	var out []contacts.Section
	for _, qq := range queries {
		sec, err := contacts.QuerySection(ctx, q, qq.name, exportLabels, qq.sql, contactID)
		if err != nil {
			return nil, err
		}
		out = append(out, sec)
	}
	return out, nil
}
