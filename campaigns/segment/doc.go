// Package segment is the filter language of campaigns: a small, typed expression
// over a contact that marketing can read,
//
//	tier in ["A", "B"] && "wealth" in tags && attrs.assets >= 500000 && age >= 55 && manager.team == "east"
//
// parsed and type-checked by CEL (github.com/google/cel-go) against a declared
// environment of the contact's fields, then compiled to a parameterised SQL
// predicate over the contacts table. The user's text never becomes SQL: every
// literal is a bind argument, and every column or function name comes from this
// package's own table of fields.
//
// # Fields
//
// Fields lists them: tier, gender, locale, timezone, external_id (strings; an
// unset tier or gender is ""), tags (a list of strings), attrs (the imported
// extra columns: attrs.assets, attrs["branch code"]; a value's type is that of
// its JSON value), age (whole years from the solar birth date; unknown when the
// birth year is), manager.code and manager.team, has_phone, has_email, has_wechat,
// and consent.sms, consent.email, consent.wechat (marketing consent granted).
//
// # Semantics
//
// Filters are two-valued: a comparison with a value a contact does not have (no
// such attrs key, an attrs value of another JSON type, an unknown age) is false,
// and ! and != are exact complements of what they negate. A born-on-29-February
// contact comes of age on 1 March in common years.
//
// # Errors
//
// A filter that does not parse, names an unknown field (teir) or compares values
// of different types is refused with an *Error whose problems carry the line and
// column, and whose message lists the known fields. A valid CEL expression
// outside the supported subset (arithmetic, macros, ternaries) is refused the
// same way, naming what is not supported.
package segment
