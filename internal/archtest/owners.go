// Package archtest holds Carillon's architecture to what docs/architecture.md
// says: the layer order of its packages, and one owning package per table.
// Its test fails when a package imports against the order, or when Go code
// outside a table's owner names that table in SQL.
package archtest

// Owners maps each table to the package that owns it: the only one whose Go code
// may name it in SQL. Others call the owner's API.
var Owners = map[string]string{
	// contacts: the customer, their managers, consents, suppressions, the timeline.
	"contacts": "contacts", "managers": "contacts", "consents": "contacts", "suppressions": "contacts",
	"contact_events": "contacts", "contact_event_summaries": "contacts", "imports": "contacts",
	// identity and audit
	"users": "internal/identity", "api_tokens": "internal/identity",
	"audit_log":        "internal/audit",
	"console_sessions": "server/console", "console_oidc_logins": "server/console",
	// templates
	"templates": "templates", "template_versions": "templates",
	// delivery: the outbox and what comes back
	"messages": "delivery", "receipts": "delivery", "inbound_messages": "delivery", "message_links": "delivery",
	"link_keys": "delivery", "send_stops": "delivery",
	// care
	"care_rules": "care",
	// campaigns
	"campaigns": "campaigns", "campaign_runs": "campaigns", "campaign_recipients": "campaigns",
	"campaign_events": "campaigns", "segments": "campaigns/segment",
	// managers' work
	"revisits": "revisits", "revisit_state": "revisits", "revisit_cadences": "revisits", "revisit_alert_rules": "revisits",
	"revisit_alerts": "revisits", "feedback": "revisits", "manager_covers": "revisits",
	// channels
	"channel_access_tokens": "channels/wechat", "wechat_push_nonces": "channels/wechat",
	// the schema itself
	"carillon_migrations": "migrations",
	// River's own tables: only River's driver touches them.
	"river_job": "river", "river_leader": "river", "river_queue": "river", "river_client": "river",
	"river_client_queue": "river", "river_migration": "river",
}

// Layers orders Carillon's packages from the bottom. A package may import
// packages of lower layers, and its own parent or sub-packages; never one of its
// layer or above.
var Layers = [][]string{
	{"calendar", "internal/audit", "internal/apperr", "internal/fielderr", "internal/locale", "internal/clock", "internal/pii", "internal/textdist", "internal/testclock",
		"internal/testlog", "internal/pgdev", "migrations", "examples", "channels/internal/sign"},
	{"channels", "internal/synth"},
	{"channels/email", "channels/sms", "channels/wechat", "channels/sandbox"},
	{"channels/registry", "channels/channelstest"},
	{"internal/identity", "templates"},
	{"contacts"},
	{"delivery"},
	{"campaigns/segment"},
	{"care", "revisits", "campaigns"},
	{"server/edge"},
	{"server/console", "server"},
	{"internal/app"},
	{"internal/drill", "internal/bench"},
	{"internal/pgtest", "internal/archtest", "internal/identity/identitytest", "cmd/carillon"},
	{"internal/apptest"}, // the tests' world: imported by _test.go files only
}
