// Package campaigns is marketing's tool: saved segments (package segment, a
// filter language compiled to parameterised SQL), campaigns with maker-checker
// approval, their schedules, the throttled fan-out of a run into the outbox,
// and statistics per campaign and run.
package campaigns
