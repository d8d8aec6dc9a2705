package campaigns

import "slices"

// strs are states as the strings SQL compares them with.
func strs[S ~string](ss []S) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// Status is where a campaign is in its lifecycle.
type Status string

// Statuses: draft → submitted → approved | rejected → scheduled → running →
// paused → completed | cancelled. The moves between them are the transitions
// table's; the SQL CHECK on campaigns.status holds the same set
// (TestStatusesAreTheSQLCheck).
const (
	StatusDraft     Status = "draft"
	StatusSubmitted Status = "submitted"
	StatusApproved  Status = "approved"
	StatusRejected  Status = "rejected"
	StatusScheduled Status = "scheduled"
	StatusRunning   Status = "running"
	StatusPaused    Status = "paused"
	StatusCompleted Status = "completed"
	StatusCancelled Status = "cancelled"
)

// Statuses lists every campaign status, in lifecycle order.
var Statuses = []Status{StatusDraft, StatusSubmitted, StatusApproved, StatusRejected, StatusScheduled, StatusRunning,
	StatusPaused, StatusCompleted, StatusCancelled}

// approvedStatuses are those of a campaign approved and not cancelled: its
// estimate counts against the month's budget.
var approvedStatuses = []Status{StatusApproved, StatusScheduled, StatusRunning, StatusPaused, StatusCompleted}

// Action is what is done to a campaign; its name is the action of the event
// recorded (campaign_events.action, the audit's campaign.<action>).
type Action string

// Actions.
const (
	ActionCreate   Action = "create"
	ActionEdit     Action = "edit"
	ActionSubmit   Action = "submit"
	ActionApprove  Action = "approve"
	ActionReject   Action = "reject"
	ActionStart    Action = "start"    // an approved campaign scheduled now: its run starts
	ActionSchedule Action = "schedule" // an approved campaign scheduled at a time or on a cron spec
	ActionRun      Action = "run"      // a scheduled campaign's time (or firing) came: its run starts
	ActionPause    Action = "pause"
	// ActionHold is a run's audience grown past the second-approval limit: the
	// system pauses it until an approver resumes it.
	ActionHold         Action = "second_approval_needed"
	ActionResume       Action = "resume"
	ActionCancel       Action = "cancel"
	ActionRunCompleted Action = "run_completed" // a run's messages are all handed on
	ActionEnded        Action = "ended"         // the campaign's end date passed
	ActionTestSend     Action = "test_send"     // no move: the status stays
)

// move is the statuses an action takes a campaign from, and those it takes it
// to (none: the status stays).
type move struct{ from, to []Status }

// transitions is the one table of a campaign's moves.
var transitions = map[Action]move{
	ActionCreate:       {from: []Status{""}, to: []Status{StatusDraft}},
	ActionEdit:         {from: []Status{StatusDraft, StatusSubmitted, StatusApproved, StatusRejected, StatusScheduled}, to: []Status{StatusDraft}},
	ActionSubmit:       {from: []Status{StatusDraft, StatusRejected}, to: []Status{StatusSubmitted}},
	ActionApprove:      {from: []Status{StatusSubmitted}, to: []Status{StatusApproved}},
	ActionReject:       {from: []Status{StatusSubmitted}, to: []Status{StatusRejected}},
	ActionStart:        {from: []Status{StatusApproved}, to: []Status{StatusRunning}},
	ActionSchedule:     {from: []Status{StatusApproved}, to: []Status{StatusScheduled}},
	ActionRun:          {from: []Status{StatusScheduled}, to: []Status{StatusRunning}},
	ActionPause:        {from: []Status{StatusRunning}, to: []Status{StatusPaused}},
	ActionHold:         {from: []Status{StatusRunning}, to: []Status{StatusPaused}},
	ActionResume:       {from: []Status{StatusPaused}, to: []Status{StatusRunning}},
	ActionCancel:       {from: []Status{StatusDraft, StatusSubmitted, StatusApproved, StatusRejected, StatusScheduled, StatusRunning, StatusPaused}, to: []Status{StatusCancelled}},
	ActionRunCompleted: {from: []Status{StatusRunning}, to: []Status{StatusCompleted, StatusScheduled}},
	ActionEnded:        {from: []Status{StatusScheduled, StatusRunning}, to: []Status{StatusCompleted}},
	ActionTestSend:     {from: []Status{StatusDraft, StatusSubmitted, StatusApproved, StatusRejected, StatusScheduled, StatusRunning, StatusPaused, StatusCompleted}},
}

// Allowed reports whether action a moves a campaign from one status to
// another; an action that moves nothing (a test send) is allowed from a status
// to itself. It is the one rule every change of a campaign's status follows.
func Allowed(a Action, from, to Status) bool {
	m, ok := transitions[a]
	if !ok || !slices.Contains(m.from, from) {
		return false
	}
	if len(m.to) == 0 {
		return to == from
	}
	return slices.Contains(m.to, to)
}

// Can reports whether action a is allowed on a campaign in status s (to any
// status Allowed gives it).
func (s Status) Can(a Action) bool {
	m := transitions[a]
	if len(m.to) == 0 {
		return Allowed(a, s, s)
	}
	for _, to := range m.to {
		if Allowed(a, s, to) {
			return true
		}
	}
	return false
}

// RunStatus is where a campaign run is.
type RunStatus string

// Run statuses. The moves between them are runMoves'; the SQL CHECK on
// campaign_runs.status holds the same set (TestStatusesAreTheSQLCheck).
const (
	RunStarting  RunStatus = "starting"  // created; its audience not yet snapshotted
	RunRunning   RunStatus = "running"   // writing its messages, then waiting for them to be sent
	RunPaused    RunStatus = "paused"    // nothing of it reaches a provider until resumed
	RunCompleted RunStatus = "completed" // every message written and handed on
	RunCancelled RunStatus = "cancelled"
)

// RunStatuses lists every run status.
var RunStatuses = []RunStatus{RunStarting, RunRunning, RunPaused, RunCompleted, RunCancelled}

// openRunStatuses are those of a run not over.
var openRunStatuses = []RunStatus{RunStarting, RunRunning, RunPaused}

// runMoves is the one table of a run's moves: a run starts, is snapshotted
// (running), may be paused (by a pause or a second-approval hold) and resumed
// (starting again when it was paused before its snapshot), and ends completed
// or cancelled.
var runMoves = map[RunStatus][]RunStatus{
	RunStarting: {RunRunning, RunPaused, RunCancelled},
	RunRunning:  {RunPaused, RunCompleted, RunCancelled},
	RunPaused:   {RunRunning, RunStarting, RunCancelled},
}

// CanBecome reports whether a run in status s may move to status to.
func (s RunStatus) CanBecome(to RunStatus) bool { return slices.Contains(runMoves[s], to) }
