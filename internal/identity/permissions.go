package identity

import "slices"

// Perm is something a caller may do. The API, the console and the River UI's
// guard name a permission; which roles hold it is written once, in permissions.
type Perm string

// The permissions.
const (
	// PermSignedIn: any signed-in user (their profile, managers, stops, care
	// rules, cadences and alert rules, the calendar).
	PermSignedIn Perm = "signed_in"

	PermContactsRead   Perm = "contacts.read"   // contacts, timelines, consents, messages (scope and masking apart)
	PermContactsWrite  Perm = "contacts.write"  // create, erase, import; consents; any field
	PermContactsTier   Perm = "contacts.tier"   // change a contact's tier
	PermContactsExport Perm = "contacts.export" // a contact's full export (personal data)
	// PermContactsBulkTag: add or remove a tag on many contacts at once, within
	// the holder's scope (a manager's customers; everyone for the others).
	PermContactsBulkTag Perm = "contacts.bulk_tag"
	// PermContactsExportList: a search's contacts as CSV, masked as the list
	// shows them to the holder (a marketer gets phones and emails masked).
	PermContactsExportList Perm = "contacts.export_list"
	PermManagersWrite      Perm = "managers.write" // create, change and import managers
	PermMessagesSend       Perm = "messages.send"  // send a message by hand
	PermStopsWrite         Perm = "stops.write"    // stop and resume sending
	PermSettingsWrite      Perm = "settings.write" // cadences, alert rules, care rules on or off
	PermAuditRead          Perm = "audit.read"     // the audit log

	PermDashboard        Perm = "dashboard"         // the console's dashboard
	PermTemplatesRead    Perm = "templates.read"    // templates and their previews
	PermTemplatesWrite   Perm = "templates.write"   // save and activate templates
	PermCampaignsRead    Perm = "campaigns.read"    // campaigns, segments, history, stats
	PermCampaignsWrite   Perm = "campaigns.write"   // author campaigns and segments: edit, submit, start, cancel
	PermSegmentsPreview  Perm = "segments.preview"  // count a segment's audience
	PermCampaignsOperate Perm = "campaigns.operate" // pause, resume, test-send
	PermCampaignsApprove Perm = "campaigns.approve" // approve or reject (never one's own: maker-checker)
	PermRevisitsRead     Perm = "revisits.read"     // revisits, covers, feedback (free text may name people)
	PermRevisitsWrite    Perm = "revisits.write"    // log revisits and feedback, reassign, cover
	PermCoversCancel     Perm = "covers.cancel"     // cancel a cover
	PermReportsRead      Perm = "reports.read"      // the revisit report
	PermMyCustomers      Perm = "my_customers"      // the console's "my customers" pages of a customer manager
	PermRiverUI          Perm = "riverui"           // the River UI (jobs, queues)
)

// Permission is one row of the table: who holds a permission, and whether it
// only reads.
type Permission struct {
	Perm  Perm
	Roles []Role
	// ReadOnly: the permission changes nothing.
	ReadOnly bool
}

var (
	everyone  = []Role{RoleAdmin, RoleMarketer, RoleApprover, RoleManager, RoleAuditor}
	adminOnly = []Role{RoleAdmin}
	// campaignSide reads the campaign side: templates, segments, campaigns.
	campaignSide = []Role{RoleAdmin, RoleMarketer, RoleApprover, RoleAuditor}
	authors      = []Role{RoleAdmin, RoleMarketer}
	operators    = []Role{RoleAdmin, RoleMarketer, RoleApprover}
	managersSide = []Role{RoleAdmin, RoleManager}
)

// permissions is the table: who may do what.
var permissions = []Permission{
	{PermSignedIn, everyone, true},
	{PermContactsRead, everyone, true},
	{PermContactsWrite, adminOnly, false},
	{PermContactsTier, managersSide, false},
	{PermContactsExport, adminOnly, true},
	{PermContactsBulkTag, []Role{RoleAdmin, RoleMarketer, RoleManager}, false},
	{PermContactsExportList, authors, true},
	{PermManagersWrite, adminOnly, false},
	{PermMessagesSend, adminOnly, false},
	{PermStopsWrite, adminOnly, false},
	{PermSettingsWrite, adminOnly, false},
	{PermAuditRead, []Role{RoleAdmin, RoleAuditor}, true},
	{PermDashboard, campaignSide, true},
	{PermTemplatesRead, campaignSide, true},
	{PermTemplatesWrite, authors, false},
	{PermCampaignsRead, campaignSide, true},
	{PermCampaignsWrite, authors, false},
	{PermSegmentsPreview, operators, true},
	{PermCampaignsOperate, operators, false},
	{PermCampaignsApprove, []Role{RoleApprover}, false},
	{PermRevisitsRead, managersSide, true},
	{PermRevisitsWrite, managersSide, false},
	{PermCoversCancel, adminOnly, false},
	{PermReportsRead, []Role{RoleAdmin, RoleAuditor, RoleManager}, true},
	{PermMyCustomers, []Role{RoleManager}, false},
	{PermRiverUI, adminOnly, false},
}

// Permissions returns the table, in a stable order.
func Permissions() []Permission {
	out := slices.Clone(permissions)
	for i := range out {
		out[i].Roles = slices.Clone(out[i].Roles)
	}
	return out
}

// RolesFor returns the roles that hold perm (none for an unknown permission).
func RolesFor(perm Perm) []Role {
	for _, p := range permissions {
		if p.Perm == perm {
			return slices.Clone(p.Roles)
		}
	}
	return nil
}

// Can reports whether roles grant perm.
func Can(roles []Role, perm Perm) bool {
	for _, p := range permissions {
		if p.Perm == perm {
			return slices.ContainsFunc(p.Roles, func(r Role) bool { return slices.Contains(roles, r) })
		}
	}
	return false
}

// Can reports whether the user's roles grant perm.
func (u User) Can(perm Perm) bool { return Can(u.Roles, perm) }

// Can reports whether the principal's roles grant perm.
func (p Principal) Can(perm Perm) bool { return p.User.Can(perm) }
