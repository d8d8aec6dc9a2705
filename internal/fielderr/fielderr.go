// Package fielderr is the one error type for an input refused field by field:
// contacts, identity and the packages above them return it, and the server maps
// it to 400 with the fields listed.
package fielderr

import "strings"

// FieldError is one bad value.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists every bad value of one input.
type ValidationError struct{ Fields []FieldError }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// New is a ValidationError of one field.
func New(field, msg string) *ValidationError {
	return &ValidationError{Fields: []FieldError{{Field: field, Message: msg}}}
}
