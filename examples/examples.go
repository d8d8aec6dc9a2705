// Package examples embeds the example data that `carillon demo` loads: a few
// customer managers and about two hundred contacts.
package examples

import _ "embed"

// ManagersCSV is examples/managers.csv.
//
//go:embed managers.csv
var ManagersCSV []byte

// ContactsCSV is examples/contacts.csv.
//
//go:embed contacts.csv
var ContactsCSV []byte
