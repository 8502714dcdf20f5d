package outbox

import (
	"errors"
	"time"
)

// Status is a message's place in its life.
type Status string

// Statuses.
const (
	Pending    Status = "pending"
	Delivered  Status = "delivered"
	Failed     Status = "failed"
	Superseded Status = "superseded"
)

// Statuses lists every Status.
var Statuses = []Status{Pending, Delivered, Failed, Superseded}

// Message is one message in the outbox.
type Message struct {
	// Set by the caller of Enqueue.

	// Channel names the consumer that delivers the message.
	Channel string
	// Key groups messages that replace one another (a receiver and an alert
	// group, an incident and a user). Required.
	Key string
	// Lane is who the message goes to (a receiver, a user's phone). Each
	// lane's messages are attempted in due order and lanes take turns, so a
	// flood in one lane (an alert storm to one receiver) does not hold up
	// another (a page to a different receiver). Keep lanes few: one per
	// destination, not per message.
	Lane string
	// Payload is what Deliver needs, opaque to the outbox.
	Payload []byte
	// GiveUpAt is when a message still failing is marked failed. Zero: the
	// channel's Policy.GiveUpAfter from now.
	GiveUpAt time.Time
	// Dedup, when not empty, makes Enqueue skip the message when the latest
	// message with the same key (not superseded) has the same Dedup and was
	// enqueued less than DedupFor ago (DedupFor <= 0: at any time).
	Dedup    string
	DedupFor time.Duration
	// NoSend records the message as delivered without sending it: for a
	// consumer that decided nothing needs sending but wants the record (it
	// counts for Dedup and supersedes pending messages).
	NoSend bool

	// Set by the outbox.

	ID            int64
	Status        Status
	Attempts      int // attempts made, the one being made not included
	CreatedAt     time.Time
	UpdatedAt     time.Time
	NextAttemptAt time.Time
	LastError     string
}

// Enqueued is what Enqueue did.
type Enqueued struct {
	// ID of the new message; 0 when Duplicate.
	ID int64
	// Duplicate is the earlier message that made this one a duplicate
	// (its ID, Status and CreatedAt); nil otherwise.
	Duplicate *Message
	// Superseded are the pending messages with the same key that the new
	// one replaced.
	Superseded []int64
}

// EventKind says what happened to a message.
type EventKind string

// Event kinds (the alerting ledger uses the same words).
const (
	EventAttempt   EventKind = "attempt"   // an attempt failed; another follows
	EventDelivered EventKind = "delivered" // an attempt succeeded
	EventFailed    EventKind = "failed"    // Permanent error or give-up age: no more attempts
	EventRetried   EventKind = "retried"   // a failed message was put back by hand
)

// Event is a change of a message's status, handed to Consumer.Record.
type Event struct {
	Kind EventKind
	// Message as it is after the change (Attempts counts the attempt).
	Message Message
	// Detail says what happened in words, for a history: "delivered on
	// attempt 2", "attempt 1 failed: ...; next attempt in 1s".
	Detail string
	// Err is the attempt's error (EventAttempt, EventFailed).
	Err error
	// Next is the wait before the next attempt (EventAttempt).
	Next time.Duration
}

type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks a delivery error that retrying will not fix (a receiver
// that answers 400): the message fails at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanentError{err}
}

type retryAfterError struct {
	err   error
	after time.Duration
}

func (e retryAfterError) Error() string { return e.err.Error() }
func (e retryAfterError) Unwrap() error { return e.err }

// RetryAfter marks a delivery error after which the next attempt waits at
// least d (a receiver's Retry-After).
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return retryAfterError{err, d}
}

func isPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

func retryAfterOf(err error) time.Duration {
	var r retryAfterError
	if errors.As(err, &r) {
		return r.after
	}
	return 0
}
