package fielderr_test

import (
	"errors"
	"fmt"
	"testing"

	"carillon/internal/fielderr"
)

func TestValidationErrorListsEveryField(t *testing.T) {
	err := fmt.Errorf("save: %w", &fielderr.ValidationError{Fields: []fielderr.FieldError{
		{Field: "name", Message: "is required"}, {Field: "tier", Message: "unknown"}}})
	var ve *fielderr.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 2 {
		t.Fatalf("errors.As: %v", err)
	}
	if got, want := ve.Error(), "invalid input: name: is required; tier: unknown"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := fielderr.New("x", "bad").Fields; len(got) != 1 || got[0].Field != "x" {
		t.Fatalf("New: %+v", got)
	}
}
