package outbox_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vigilhq/vigil/internal/outbox"
	"github.com/vigilhq/vigil/internal/state"
)

// A consumer registers its channel once, then enqueues messages inside the
// transactions that make them necessary; Run delivers them.
func Example() {
	dir, _ := os.MkdirTemp("", "outbox-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, _ := state.Open(ctx, filepath.Join(dir, "state.db"), state.Options{})
	defer db.Close()
	ob, _ := outbox.New(outbox.Options{DB: db})

	type page struct{ User, Text string }
	delivered := make(chan string, 1)
	ob.Register("oncall-email", outbox.Consumer{
		Deliver: func(ctx context.Context, m outbox.Message) error {
			var p page
			if err := json.Unmarshal(m.Payload, &p); err != nil {
				return outbox.Permanent(err) // retrying will not fix it
			}
			// Send it; a transient error is retried with backoff:
			// return err, or outbox.RetryAfter(err, d) to wait at least d.
			delivered <- p.User + ": " + p.Text
			return nil
		},
		// Record writes the outcome to the consumer's own history inside the
		// outbox's transaction (optional).
		Record: func(ctx context.Context, tx *sql.Tx, e outbox.Event) error { return nil },
		Policy: outbox.Policy{GiveUpAfter: 0}, // zero fields: defaults (24h, 1s..5m, 30s)
	})

	payload, _ := json.Marshal(page{User: "alice", Text: "incident 7 needs you"})
	err := db.Tx(ctx, func(tx *sql.Tx) error {
		// ... the consumer's own writes (the incident's escalation step) ...
		_, err := ob.Enqueue(ctx, tx, outbox.Message{
			Channel: "oncall-email",
			Lane:    "alice@example.com", // a destination: lanes take turns
			Key:     "incident-7/alice",  // a newer message with this key supersedes a pending one
			Payload: payload,
		})
		return err
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- ob.Run(runCtx) }()
	fmt.Println(<-delivered)
	stop()
	fmt.Println(errors.Is(<-done, nil))
	// Output:
	// alice: incident 7 needs you
	// true
}
