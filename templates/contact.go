package templates

import "encoding/json"

// Contact is what a template knows of a customer: the fields ContactVars and
// the sample occasions read. Templates sit below contacts, so the caller
// converts its own record (contacts.Contact.ForTemplate).
type Contact struct {
	ExternalID string
	Name       string
	Gender     string
	Locale     string
	Phone      string // only its last four digits reach a template
	Tier       string
	Tags       []string
	Attrs      json.RawMessage
	Birthday   *Birthday
}

// Birthday is a contact's birthday as a template's sample occasion reads it.
type Birthday struct {
	Calendar   string // solar | lunar
	Year       int    // solar birth year, 0 when unknown
	Month, Day int    // solar
	LunarMonth int
	LunarDay   int
	LunarLeap  bool
}

// Manager is what a template knows of a customer's manager.
type Manager struct {
	Name, Code, Team string
}
