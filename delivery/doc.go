// Package delivery is Carillon's outbox and the work that empties it.
//
// Nothing is sent that is not first a row in messages. Enqueue writes the rows and
// their River jobs in the caller's transaction; a message's dedupe_key is unique,
// so planning the same thing twice inserts nothing. The deliver worker claims its
// messages (status sending, committed before any provider is called: the ledger
// that tells "maybe sent" from "never sent" after a crash), applies the send policy
// at send time — contact status, consent and purpose, suppressions, quiet hours,
// the marketing frequency cap, the emergency stop — renders, sends through the
// channel's providers (failing over between providers on temporary errors), and
// records every outcome in one transaction with the job's completion: the status
// updates and timeline events of a whole batch in a few statements. The job
// reads as those steps in worker.go; the policy is policy.go, the send send.go
// (the rendered content is the channels.Message the provider gets), the
// recording record.go.
//
// A message that cannot go on its first channel before sending (no address, no
// consent, no template variant) goes on the next channel of its list, the skipped
// ones named in its event. A template that cannot render within the template
// limits on a channel (docs/templates.md) skips that channel too (render_limit);
// when no channel is left the message ends failed, reason render_limit and the
// limit's error, and nothing is sent. A message that fails permanently once sent (or whose
// receipt says so) is failed, and the next channel is tried as a child message
// linked to it; only parents count in statistics and caps.
//
// Receipts are applied idempotently and monotonically (queued < sending < sent <
// delivered | failed); a receipt that arrives before its send was recorded is kept
// and applied when the send is. Replies that unsubscribe revoke consent at once.
package delivery
