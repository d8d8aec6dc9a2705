package care

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"carillon/calendar"
	"carillon/contacts"
	"carillon/templates"
)

// NoticeDedupeKey is notice:<rule>:<contact>:<field value>:<offset>, one notice
// per contact, stored date and offset; a yearly rule adds the year greeted.
func NoticeDedupeKey(rule, contact, value string, offset int, year int) string {
	k := "notice:" + rule + ":" + contact + ":" + value + ":" + strconv.Itoa(offset)
	if year != 0 {
		k += ":" + strconv.Itoa(year)
	}
	return k
}

// fieldLiteral quotes a date-field rule's attrs key as a SQL string literal.
// The key is checked against ^[a-z][a-z0-9_]*$ (here and by the care_rules
// table's constraint), so it can hold no quote; it is written into the query
// rather than passed as a parameter so that the planner can use an expression
// index on (attrs ->> 'field') such as contacts_attr_deposit_maturity_idx.
func fieldLiteral(field string) (string, error) {
	if !ruleKeyRE.MatchString(field) {
		return "", fmt.Errorf("%w: field %q", ErrBadRule, field)
	}
	return "'" + field + "'", nil
}

type noticeRow struct {
	contacts.Recipient
	value string
	attrs map[string]any
}

// decodeAttrs reads attrs keeping numbers exact (json.Number: an amount of
// 1000000 stays "1000000", never 1e+06).
func decodeAttrs(raw []byte) map[string]any {
	m := map[string]any{}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	_ = d.Decode(&m)
	return m
}

// dateField plans a date-field rule's notices for the run's day: the contacts
// whose attrs date is the day minus the rule's offset (offset -7: the date is
// a week ahead), or for a yearly rule whose date's month-day is that day's
// (29 February greeted on 28 February in a common year). Only active,
// unerased contacts; dates must be stored as YYYY-MM-DD.
func (r *run) dateField(ctx context.Context, rule Rule) error {
	lit, err := fieldLiteral(rule.Field)
	if err != nil {
		return err
	}
	target := r.day.AddDays(-rule.OffsetDays)
	expr := "(attrs ->> " + lit + ")"
	where := "status = 'active' AND erased_at IS NULL AND attrs ? " + lit + " AND "
	var args []any
	if rule.Yearly {
		mds := []string{fmt.Sprintf("-%02d-%02d", int(target.Month), target.Day)}
		if target.Month == time.February && target.Day == 28 && !isLeap(target.Year) {
			mds = append(mds, "-02-29")
		}
		where += "substr(" + expr + ", 5) = ANY($3) AND left(" + expr + ", 4) < $4"
		args = []any{mds, fmt.Sprintf("%04d", target.Year)}
	} else {
		where += expr + " = $3"
		args = []any{target.String()}
	}
	q := `SELECT id, external_id, time_zone, locale, ` + expr + `, attrs FROM contacts WHERE ` + where + ` AND id > $1 ORDER BY id LIMIT $2`
	rc := r.ruleCfg(rule, DefaultNoticeChannels(), rule.Template)
	var after int64
	for {
		rows, err := r.p.pool.Query(ctx, q, append([]any{after, r.p.cfg.BatchSize}, args...)...)
		if err != nil {
			return fmt.Errorf("read contacts by %s: %w", rule.Field, err)
		}
		page, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (noticeRow, error) {
			var n noticeRow
			var raw []byte
			err := row.Scan(&n.ID, &n.ExternalID, &n.TimeZone, &n.Locale, &n.value, &raw)
			n.attrs = decodeAttrs(raw)
			return n, err
		})
		if err != nil {
			return fmt.Errorf("read contacts by %s: %w", rule.Field, err)
		}
		if len(page) == 0 {
			return nil
		}
		batch := make([]Item, 0, len(page))
		for _, n := range page {
			it, err := r.noticeItem(rule, rc, n, target)
			if err != nil {
				r.p.cfg.Logger.WarnContext(ctx, "care plan: notice not planned", "rule", rule.Key, "contact_id", n.ID, slog.String("err", err.Error()))
				continue
			}
			batch = append(batch, it)
		}
		if err := r.flush(ctx, batch); err != nil {
			return err
		}
		after = page[len(page)-1].ID
	}
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// noticeItem is one contact's notice. Its vars carry "Notice" {Rule, Field,
// Date, OffsetDays, DaysLeft, Years} and, for the deposit template,
// "Deposit" {MaturityDate, DaysLeft, Product, Amount, AccountTail} read from
// attrs (deposit_product, deposit_amount, deposit_account_tail) when present.
func (r *run) noticeItem(rule Rule, rc ruleCfg, n noticeRow, target calendar.Date) (Item, error) {
	stored, err := calendar.ParseDate(n.value)
	if err != nil {
		return Item{}, fmt.Errorf("attrs.%s is not a date: %w", rule.Field, err)
	}
	year := 0
	when := stored
	if rule.Yearly {
		year, when = target.Year, target
	}
	daysLeft := -rule.OffsetDays
	notice := map[string]any{"Rule": rule.Key, "Field": rule.Field, "Date": when, "Stored": stored,
		"OffsetDays": rule.OffsetDays, "DaysLeft": daysLeft}
	if rule.Yearly {
		notice["Years"] = target.Year - stored.Year
	}
	vars := r.vars(n.Recipient, rule.Key, noticeOccasion(rule, when))
	vars["Notice"] = notice
	dep := map[string]any{"MaturityDate": when, "DaysLeft": daysLeft}
	zh := strings.HasPrefix(n.Locale, "zh")
	dep["Product"] = map[bool]string{true: "定期存款", false: "term deposit"}[zh]
	for attr, name := range map[string]string{"deposit_product": "Product", "deposit_amount": "Amount", "deposit_account_tail": "AccountTail"} {
		if v, ok := n.attrs[attr]; ok && v != nil && fmt.Sprint(v) != "" {
			dep[name] = fmt.Sprint(v)
		}
	}
	vars["Deposit"] = dep
	it := r.item(n.Recipient, rule.Key, NoticeDedupeKey(rule.Key, n.ExternalID, n.value, rule.OffsetDays, year), rc, vars)
	it.FieldDate = &when
	switch {
	case rule.OffsetDays < 0:
		it.Note = fmt.Sprintf("%s %s, %d days before", rule.Field, when, -rule.OffsetDays)
	case rule.OffsetDays > 0:
		it.Note = fmt.Sprintf("%s %s, %d days after", rule.Field, when, rule.OffsetDays)
	default:
		it.Note = fmt.Sprintf("%s %s, on the day", rule.Field, when)
	}
	if rule.Yearly && stored.Month == time.February && stored.Day == 29 && when.Day == 28 {
		it.Note += " (29 February greeted on the 28th)"
	}
	return it, nil
}

// noticeOccasion is a notice's .Occasion: the rule and the stored date.
func noticeOccasion(rule Rule, when calendar.Date) templates.Occasion {
	return templates.Occasion{Key: rule.Key, Name: rule.Description, NameEN: rule.Description, Date: when}
}
