// Package oncallbench measures the on-call feature's two performance
// targets (issue 17): 1,000 escalation steps due in the same second among
// 10,000 open incidents reach the outbox within 1 s of their due time
// (p99), and "who is on call now" for 100 schedules with a year of
// overrides takes under 1 ms per schedule. Run with bench/oncall/run.sh
// (under the shared bench lock) or:
//
//	go test -run XXX -bench . -benchtime 1x ./bench/oncall/
package oncallbench

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil/internal/oncall"
	"github.com/vigilhq/vigil/internal/oncall/spec"
	"github.com/vigilhq/vigil/internal/outbox"
	"github.com/vigilhq/vigil/internal/state"
)

type obAdapter struct{ ob *outbox.Outbox }

func (a obAdapter) Enqueue(ctx context.Context, tx *sql.Tx, m oncall.Message) error {
	_, err := a.ob.Enqueue(ctx, tx, outbox.Message{Channel: m.Channel, Key: m.Key, Payload: m.Payload, GiveUpAt: m.GiveUpAt})
	return err
}

// objects: 100 users, 100 schedules (a weekly layer and a restricted
// daily layer) with overridesPerSchedule daily overrides, one policy per
// schedule.
func objects(hook string, overridesPerSchedule int) spec.Objects {
	var o spec.Objects
	for i := 0; i < 100; i++ {
		o.Users = append(o.Users, spec.User{Name: fmt.Sprintf("u%d", i), TimeZone: "Europe/Berlin",
			ContactMethods: []spec.ContactMethod{{Type: spec.Webhook, URL: hook}}})
	}
	zones := []string{"Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC"}
	for i := 0; i < 100; i++ {
		s := spec.Schedule{Name: fmt.Sprintf("s%d", i), TimeZone: zones[i%len(zones)], Layers: []spec.Layer{
			{Start: "2026-01-05T09:00", Shift: "1w", Users: []string{fmt.Sprintf("u%d", i), fmt.Sprintf("u%d", (i+1)%100), fmt.Sprintf("u%d", (i+2)%100)}},
			{Start: "2026-01-05T09:00", Shift: "1d", Users: []string{fmt.Sprintf("u%d", (i+3)%100)},
				Restrictions: []spec.Restriction{{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "09:00", To: "17:00"}}},
		}}
		day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for d := 0; d < overridesPerSchedule; d++ {
			st := day.AddDate(0, 0, d).Add(20 * time.Hour)
			s.Overrides = append(s.Overrides, spec.Override{User: fmt.Sprintf("u%d", (i+4)%100), Start: st.Format(time.RFC3339), End: st.Add(2 * time.Hour).Format(time.RFC3339)})
		}
		o.Schedules = append(o.Schedules, s)
		o.Policies = append(o.Policies, spec.Policy{Name: fmt.Sprintf("p%d", i), Steps: []spec.Step{
			{Targets: []spec.Target{{Schedule: s.Name}}, Delay: "1h"},
			{Targets: []spec.Target{{User: fmt.Sprintf("u%d", (i+5)%100)}}, Delay: "1h"},
		}})
	}
	return o
}

func open(b *testing.B, overrides int, hook string) (*state.DB, *outbox.Outbox, *oncall.OnCall) {
	b.Helper()
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(b.TempDir(), "state.db"), state.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	ob, err := outbox.New(outbox.Options{DB: db})
	if err != nil {
		b.Fatal(err)
	}
	o, err := oncall.New(oncall.Options{DB: db, Outbox: obAdapter{ob}, Config: oncall.Config{Objects: objects(hook, overrides), ExternalURL: "http://vigil.bench"}})
	if err != nil {
		b.Fatal(err)
	}
	for ch, c := range o.Consumers() {
		c := c
		ob.Register(ch, outbox.Consumer{Deliver: func(ctx context.Context, m outbox.Message) error { return c.Deliver(ctx, m.Payload) },
			Record: func(ctx context.Context, tx *sql.Tx, e outbox.Event) error {
				if c.Record == nil {
					return nil
				}
				return c.Record(ctx, tx, oncall.Outcome{Payload: e.Message.Payload, Delivered: e.Kind == outbox.EventDelivered, Final: true, Detail: e.Detail})
			}})
	}
	return db, ob, o
}

func pct(d []time.Duration, p float64) time.Duration {
	slices.Sort(d)
	i := int(float64(len(d))*p+0.999999) - 1
	return d[max(0, min(i, len(d)-1))]
}

// BenchmarkEscalationBurst: 10,000 triggered incidents, of which 1,000
// have their next escalation step due at the same instant T (the other
// 9,000 are due an hour later). The scheduler (OnCall.Run) and the
// outbox's delivery loop (with a local webhook receiver) run as in vigil
// serve; a watcher polls the outbox every 5 ms and notes when each
// notification became visible (committed). Reported: p50, p99 and max of
// visible - T over the 1,000 notifications.
func BenchmarkEscalationBurst(b *testing.B) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer hook.Close()
	for b.Loop() {
		db, ob, o := open(b, 0, hook.URL)
		ctx := context.Background()
		const incidents, due = 10000, 1000
		t0 := time.Now()
		T := time.Now().Add(3 * time.Second).Truncate(time.Second).Add(time.Second)
		// The fixture is written directly: 10,000 incidents in one
		// transaction, as if opened earlier, each with a pending step.
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			for i := 0; i < incidents; i++ {
				res, err := tx.ExecContext(ctx, `INSERT INTO oncall_incidents (key, source, title, severity, team, policy, state, created_at, updated_at, esc_step)
					VALUES (?, 'manual', ?, 'critical', 'bench', ?, 'triggered', ?, ?, 0)`, fmt.Sprintf("bench:%d", i), fmt.Sprintf("bench incident %d", i), fmt.Sprintf("p%d", i%100), t0.UnixMilli(), t0.UnixMilli())
				if err != nil {
					return err
				}
				id, _ := res.LastInsertId()
				at := T
				if i >= due {
					at = T.Add(time.Hour)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO oncall_steps (incident_id, kind, loop, step, due_at, state, created_at) VALUES (?, 'escalate', 0, 1, ?, 'pending', ?)`,
					id, at.UnixMilli(), t0.UnixMilli()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		setup := time.Since(t0)
		rctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { _ = ob.Run(rctx) })
		wg.Go(func() { _ = o.Run(rctx) })
		var lags []time.Duration
		seen := 0
		deadline := T.Add(30 * time.Second)
		for seen < due && time.Now().Before(deadline) {
			// The outbox holds only this run's messages: the newest ID is
			// their count (a rowid lookup, cheap enough to poll).
			var n sql.NullInt64
			if err := db.QueryRowContext(ctx, `SELECT MAX(id) FROM outbox_messages`).Scan(&n); err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			for ; seen < int(n.Int64); seen++ {
				lags = append(lags, now.Sub(T))
			}
			time.Sleep(5 * time.Millisecond)
		}
		// Deliveries go on meanwhile; wait for them so the DB is quiet.
		delivered := 0
		for delivered < due && time.Now().Before(deadline) {
			_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox_messages WHERE channel = 'oncall-webhook' AND status = 'delivered'`).Scan(&delivered)
			time.Sleep(10 * time.Millisecond)
		}
		deliveredAfter := time.Since(T)
		cancel()
		wg.Wait()
		if seen < due {
			b.Fatalf("only %d of %d notifications reached the outbox within 30s of due", seen, due)
		}
		var lateSteps int
		_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM oncall_steps WHERE state = 'pending' AND due_at <= ?`, T.UnixMilli()).Scan(&lateSteps)
		b.ReportMetric(float64(pct(lags, 0.5).Milliseconds()), "p50-ms")
		b.ReportMetric(float64(pct(lags, 0.99).Milliseconds()), "p99-ms")
		b.ReportMetric(float64(pct(lags, 1).Milliseconds()), "max-ms")
		b.ReportMetric(float64(deliveredAfter.Milliseconds()), "all-delivered-ms")
		b.Logf("setup %s; %d notifications in the outbox: p50 %s p99 %s max %s after due; all delivered %s after due; due steps left %d",
			setup.Round(time.Millisecond), seen, pct(lags, 0.5), pct(lags, 0.99), pct(lags, 1), deliveredAfter.Round(time.Millisecond), lateSteps)
	}
}

// BenchmarkWhoIsOnCall: 100 schedules, each with two layers (one
// restricted to business hours) and 365 daily overrides; one op asks every
// schedule once at a random instant of the year. Reported per schedule:
// mean (ns/schedule) and p99 over all calls.
func BenchmarkWhoIsOnCall(b *testing.B) {
	_, _, o := open(b, 365, "http://127.0.0.1:1/")
	rnd := rand.New(rand.NewPCG(1, 2))
	year := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	names := make([]string, 100)
	for i := range names {
		names[i] = fmt.Sprintf("s%d", i)
	}
	var calls []time.Duration
	b.ResetTimer()
	for b.Loop() {
		at := year.Add(time.Duration(rnd.Int64N(int64(365 * 24 * time.Hour))))
		for _, n := range names {
			t := time.Now()
			if _, err := o.OnCallAt(n, at); err != nil {
				b.Fatal(err)
			}
			if len(calls) < 1_000_000 {
				calls = append(calls, time.Since(t))
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(names)), "ns/schedule")
	b.ReportMetric(float64(pct(calls, 0.99).Nanoseconds()), "p99-ns/schedule")
}
