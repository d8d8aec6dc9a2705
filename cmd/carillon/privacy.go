package main

import (
	"carillon/campaigns"
	"carillon/contacts"
	"carillon/delivery"
	"carillon/revisits"
)

// wirePrivacy registers every package that holds personal data with the
// contacts store: its eraser (run by every erasure, in its transaction) and
// its exporter (read by every access request). A test checks that the
// erasers cover every personal column of the schema.
func wirePrivacy(store *contacts.Store, dlv *delivery.Service, rv *revisits.Service, camp *campaigns.Service) {
	d := dlv.Eraser(store)
	store.RegisterEraser(d)
	store.RegisterExporter(d)
	store.RegisterEraser(rv)
	store.RegisterExporter(rv)
	store.RegisterEraser(camp)
	store.RegisterExporter(camp)
}
