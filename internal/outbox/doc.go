// Package outbox delivers messages that must not be lost: a notification is
// written to the state database in the same transaction as the change that
// caused it, and a delivery loop sends it until it is delivered or reaches
// its give-up age, across restarts. Alertmanager's own retry stops at the end
// of group_interval and forgets on restart; the outbox does neither.
//
// # Contract
//
// A consumer (alerting's Alertmanager integrations, on-call's email, Slack
// and webhook pages, ...) owns one or more channels, named by the consumer
// ("alertmanager", "oncall-email", ...). It registers each channel once, with
// Register, before or after Run starts:
//
//   - Deliver sends one message. It returns nil when the message was
//     delivered; an error when it was not, which is retried with
//     exponential backoff (Policy.MinBackoff doubling up to MaxBackoff, half
//     of each wait random) unless it is wrapped with Permanent (the message
//     fails at once) or RetryAfter (the next attempt waits at least that
//     long, as a receiver's Retry-After asks). Deliver gets a context that
//     ends after Policy.AttemptTimeout or when the outbox shuts down; it is
//     called from up to Options.Concurrency goroutines at once, never twice
//     at once for one message.
//   - Record, when set, is called inside the transaction that changes a
//     message's status after an attempt or a retry by hand (Event), so a
//     consumer's own history (alerting's ledger) never disagrees with the
//     outbox. An error from Record rolls the change back and is logged.
//
// Enqueue writes a message inside the caller's transaction, which must come
// from the same state.DB's Tx: the message exists exactly when the caller's
// change commits. Messages with the same Channel and Key are one stream: a
// new one supersedes the pending ones (a receiver gets the latest state once,
// not a stale page and then its update), and when Dedup is set, a message
// whose Dedup equals that of the latest one enqueued less than DedupFor ago
// is not enqueued again (Enqueued.Duplicate says so). Payload is opaque to
// the outbox; Deliver gets it back as written.
//
// Lanes: a message's Lane names its destination. Each lane's messages are
// attempted in due order, and lanes take turns for the attempt slots, so a
// storm queued for one receiver does not delay a page to another.
//
// Delivery is at least once: the loop leases a message for one attempt, and
// a process that dies during the attempt leaves it to be tried again after
// the restart (every pending message is due at start). An attempt that
// succeeded is recorded even when shutdown began during it. Messages of a
// channel nobody registered stay pending until a consumer registers it.
//
// Statuses: Pending (waiting or being attempted), Delivered, Failed
// (Permanent error or give-up age reached; Retry puts it back with a fresh
// give-up age), Superseded (replaced by a newer message with the same key).
// Finished messages are kept until Prune removes them.
package outbox
