package edge

import (
	"time"

	"carillon/internal/audit"
)

// Anonymous is the audit actor of a sign-in that failed: nobody proved who
// they were; the address is where the attempts came from.
func Anonymous(addr string) audit.Actor { return audit.Actor{Name: "anonymous", Addr: addr} }

// LockoutEntry is the audit row of a failure that locked a (login, address)
// pair out or started delaying a login. action is e.g. "console.sign_in_locked";
// a login that names no user is not recorded (people type passwords into the
// login field), only that it was unknown.
func LockoutEntry(action, login string, known bool, ev Event) audit.Entry {
	e := audit.Entry{Action: action, ObjectType: "user", Changes: map[string]any{
		"failures": ev.Failures, "login_failures": ev.LoginFailures}}
	if known {
		e.ObjectID = Normalize(login)
	} else {
		e.Changes["unknown_login"] = true
	}
	if ev.LockedFor > 0 {
		e.Changes["locked_seconds"] = int(ev.LockedFor / time.Second)
		e.Changes["locked_until"] = ev.LockedUntil.UTC().Format(time.RFC3339)
	}
	if ev.LoginDelayed {
		e.Changes["login_delayed"] = true
	}
	return e
}

// Locked reports whether a failure needs an audit row.
func (ev Event) Locked() bool { return ev.LockedFor > 0 || ev.LoginDelayed }
