package contacts

import "carillon/templates"

// ForTemplate is what a template may know of the contact (templates sit below
// contacts and declare their own input).
func (c Contact) ForTemplate() templates.Contact {
	t := templates.Contact{ExternalID: c.ExternalID, Name: c.Name, Gender: c.Gender, Locale: c.Locale,
		Phone: c.Phone, Tier: c.Tier, Tags: c.Tags, Attrs: c.Attrs}
	if b := c.Birthday; b != nil {
		t.Birthday = &templates.Birthday{Calendar: b.Calendar, Year: b.Year, Month: b.Month, Day: b.Day,
			LunarMonth: b.LunarMonth, LunarDay: b.LunarDay, LunarLeap: b.LunarLeap}
	}
	return t
}

// ForTemplate is what a template may know of the manager.
func (m Manager) ForTemplate() templates.Manager {
	return templates.Manager{Name: m.Name, Code: m.Code, Team: m.Team}
}

// SampleContact is templates.SampleContact as a contact (active, in the
// default time zone, id 0): what a preview or a campaign review renders for
// when it has no real customer.
func SampleContact(locale string) Contact {
	t := templates.SampleContact(locale)
	c := Contact{ExternalID: t.ExternalID, Status: StatusActive, Name: t.Name, Gender: t.Gender,
		Locale: t.Locale, TimeZone: DefaultTimeZone, Phone: t.Phone, Tier: t.Tier, Tags: t.Tags, Attrs: t.Attrs}
	if b := t.Birthday; b != nil {
		c.Birthday = &Birthday{Calendar: b.Calendar, Year: b.Year, Month: b.Month, Day: b.Day,
			LunarMonth: b.LunarMonth, LunarDay: b.LunarDay, LunarLeap: b.LunarLeap}
	}
	return c
}
