package care

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strconv"

	"carillon/calendar"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/templates"
)

// Source is messages.source of every message the planner enqueues; the
// message's source id is its rule.
const Source = "care_rule"

// RuleBirthday is the birthday rule.
const RuleBirthday = "birthday"

// FestivalRule names the rule of a festival: festival.mid_autumn.
func FestivalRule(key string) string { return "festival." + key }

// CombinedRule names a birthday greeted in a festival's message:
// birthday+festival.mid_autumn.
func CombinedRule(festivalKey string) string { return RuleBirthday + "+" + FestivalRule(festivalKey) }

// FestivalDedupeKey is festival:<key>:<contact>:<year>, one greeting per
// contact and festival a year. The year is the festival's own: the solar year
// for a solar festival (元旦, 国庆, 清明), the lunar year for a lunar one (除夕
// of lunar year 2026 falls on 2027-02-05 and is festival:new_years_eve:C1:2026),
// so a lunar festival falling twice in a solar year (腊八 2022-01-10 and
// 2022-12-30) is greeted twice, as a lunar birthday is.
func FestivalDedupeKey(key, contact string, year int) string {
	return "festival:" + key + ":" + contact + ":" + strconv.Itoa(year)
}

// birthdayHit is a contact greeted on its birthday that day.
type birthdayHit struct {
	contact  contacts.Recipient
	greeting calendar.Greeting
}

// birthdays returns the contacts greeted on the keys' day, by contact id: one probe
// of the contacts package's birthday indexes per key of calendar.BirthdayKeys.
func (p *Planner) birthdays(ctx context.Context, keys calendar.DayKeys) ([]*birthdayHit, error) {
	var found []contacts.BirthdayRecipient
	for _, k := range keys.Solar {
		rs, err := p.contacts.SolarBirthdays(ctx, k.Month, k.Day)
		if err != nil {
			return nil, err
		}
		found = append(found, rs...)
	}
	for _, k := range keys.LunarKeys {
		rs, err := p.contacts.LunarBirthdays(ctx, k.Month, k.Day, k.Leap)
		if err != nil {
			return nil, err
		}
		found = append(found, rs...)
	}
	var out []*birthdayHit
	for _, r := range found {
		g, ok, err := keys.Greeting(calendar.Birthday(r.Birthday))
		if err != nil {
			// A stored birthday the calendar refuses (a lunar date with an
			// impossible solar birth date) greets nobody; say so and go on.
			p.cfg.Logger.WarnContext(ctx, "care plan: birthday not greeted", "contact_id", r.ID, slog.String("err", err.Error()))
			continue
		}
		if ok {
			out = append(out, &birthdayHit{contact: r.Recipient, greeting: g})
		}
	}
	slices.SortFunc(out, func(a, b *birthdayHit) int { return cmp.Compare(a.contact.ID, b.contact.ID) })
	return slices.CompactFunc(out, func(a, b *birthdayHit) bool { return a.contact.ID == b.contact.ID }), nil
}

// activeContacts returns up to limit active, unerased contacts with ids after after.
func (p *Planner) activeContacts(ctx context.Context, after int64, limit int) ([]contacts.Recipient, error) {
	return p.contacts.ActiveRecipients(ctx, after, limit)
}

// birthdayVars is the birthday as recorded in a message's vars (key
// "Birthday"), for a combined message's reader and the managers' digest
// (Milestone).
func birthdayVars(g calendar.Greeting) map[string]any {
	return map[string]any{
		"Calendar":  g.Calendar,
		"Year":      g.Year,
		"Lunar":     g.Lunar,
		"Age":       g.Age,
		"Milestone": g.Milestone,
		"Note":      g.Note(),
	}
}

// vars returns a message's variables: the occasion in the contact's locale,
// the bank, and the rule (key "Care"). Contact and Manager are added by
// delivery at send time, from the rows as they are then.
func (r *run) vars(c contacts.Recipient, rule string, occ templates.Occasion) map[string]any {
	v := map[string]any{
		"Occasion": occ.Vars(c.Locale),
		"Care":     map[string]any{"Rule": rule, "Date": r.day},
	}
	if r.p.cfg.Bank != (templates.Bank{}) {
		v["Bank"] = r.p.cfg.Bank.Vars()
	}
	return v
}

func (r *run) item(c contacts.Recipient, rule, key string, rc ruleCfg, vars map[string]any) Item {
	at := r.sendAt(c.TimeZone, rc)
	// Care is for its day: a greeting (or a notice, whose text counts the days
	// left) not sent by the end of the day in the contact's zone is cancelled.
	deadline := r.dayEnd(c.TimeZone)
	chans, tmpl := slices.Clone(rc.channels), rc.template
	return Item{
		Rule: rule, Contact: c.ExternalID, ContactID: c.ID, Date: r.day, Channels: chans, Template: tmpl,
		SendAt: at, Deadline: deadline, TimeZone: at.Location().String(), DedupeKey: key,
		planned: delivery.Planned{
			DedupeKey: key, ContactID: c.ID, Source: Source, SourceID: rule, Purpose: rc.purpose,
			TemplateKey: tmpl, Vars: vars, Channels: chans, SendAt: at, Deadline: deadline,
		},
	}
}

// birthdayOccasion is the birthday as the templates' .Occasion.
func (r *run) birthdayOccasion(g calendar.Greeting) templates.Occasion {
	occ := templates.Occasion{Key: RuleBirthday, Date: r.day, Age: g.Age}
	if g.Calendar == calendar.CalendarLunar {
		if l, err := calendar.ToLunar(r.day); err == nil {
			occ.Lunar = &l
		}
	}
	return occ
}

// birthdayItem is a birthday greeting on its own.
func (r *run) birthdayItem(b *birthdayHit, rc ruleCfg) Item {
	g := b.greeting
	vars := r.vars(b.contact, RuleBirthday, r.birthdayOccasion(g))
	vars["Birthday"] = birthdayVars(g)
	it := r.item(b.contact, RuleBirthday, g.DedupeKey(b.contact.ExternalID), rc, vars)
	it.Note, it.Calendar, it.Age, it.Milestone = g.Note(), g.Calendar, g.Age, g.Milestone
	it.BirthdayKey = it.DedupeKey
	return it
}

// festivalOccasion is a festival as the templates' .Occasion.
func festivalOccasion(f calendar.Festival) (templates.Occasion, int) {
	if !f.LunarBased {
		return templates.FestivalOccasion(f, nil), f.Date.Year
	}
	l, err := calendar.ToLunar(f.Date)
	if err != nil { // FestivalsOn has converted this date already
		return templates.FestivalOccasion(f, nil), f.Date.Year
	}
	return templates.FestivalOccasion(f, &l), l.Year
}

// festivalItem is a contact's festival greeting.
func (r *run) festivalItem(f calendar.Festival, c contacts.Recipient, rc ruleCfg) Item {
	occ, year := festivalOccasion(f)
	rule := FestivalRule(f.Key)
	it := r.item(c, rule, FestivalDedupeKey(f.Key, c.ExternalID, year), rc, r.vars(c, rule, occ))
	it.Note = f.Note
	return it
}

// combinedItem is one message for a birthday on a festival: the festival's
// template, channels and dedupe key (it is the contact's festival greeting),
// with the birthday recorded under "Birthday" in its vars and in the item.
func (r *run) combinedItem(f calendar.Festival, b *birthdayHit, rc ruleCfg) Item {
	occ, year := festivalOccasion(f)
	g := b.greeting
	rule := CombinedRule(f.Key)
	vars := r.vars(b.contact, rule, occ)
	bv := birthdayVars(g)
	bv["DedupeKey"] = g.DedupeKey(b.contact.ExternalID)
	vars["Birthday"] = bv
	it := r.item(b.contact, rule, FestivalDedupeKey(f.Key, b.contact.ExternalID, year), rc, vars)
	it.Note, it.Calendar, it.Age, it.Milestone = g.Note(), g.Calendar, g.Age, g.Milestone
	it.BirthdayKey = bv["DedupeKey"].(string)
	return it
}
