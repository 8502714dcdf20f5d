package outbox

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/state"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("modernc.org/libc.(*TLS).setErrno"))
}

func newDB(t *testing.T) *state.DB {
	t.Helper()
	db, err := state.Open(t.Context(), filepath.Join(t.TempDir(), "state.db"), state.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newOutbox(t *testing.T, db *state.DB) *Outbox {
	t.Helper()
	o, err := New(Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// run runs o until the returned stop is called (or the test ends).
func run(t *testing.T, o *Outbox) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- o.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func enqueue(t *testing.T, o *Outbox, m Message) Enqueued {
	t.Helper()
	var res Enqueued
	if err := o.db.Tx(t.Context(), func(tx *sql.Tx) (err error) {
		res, err = o.Enqueue(t.Context(), tx, m)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return res
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// recorder keeps the events a consumer is told about.
type recorder struct {
	mu  sync.Mutex
	evs []Event
}

func (r *recorder) record(_ context.Context, _ *sql.Tx, e Event) error {
	r.mu.Lock()
	r.evs = append(r.evs, e)
	r.mu.Unlock()
	return nil
}

func (r *recorder) kinds() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var k []string
	for _, e := range r.evs {
		k = append(k, string(e.Kind))
	}
	return strings.Join(k, ",")
}

func (r *recorder) last() Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.evs[len(r.evs)-1]
}

func status(t *testing.T, o *Outbox, id int64) Message {
	t.Helper()
	ms, err := o.List(t.Context(), Query{})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("message %d not listed", id)
	return Message{}
}

var fast = Policy{MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, GiveUpAfter: time.Hour}

func TestDeliverRetryThenDelivered(t *testing.T) {
	o := newOutbox(t, newDB(t))
	var calls atomic.Int32
	var got []byte
	rec := &recorder{}
	o.Register("c", Consumer{Policy: fast, Record: rec.record, Deliver: func(ctx context.Context, m Message) error {
		if calls.Add(1) < 3 {
			return errors.New("503 from receiver")
		}
		got = m.Payload
		return nil
	}})
	run(t, o)
	res := enqueue(t, o, Message{Channel: "c", Key: "k", Payload: []byte("hello")})
	waitFor(t, "delivered", func() bool { return status(t, o, res.ID).Status == Delivered })
	m := status(t, o, res.ID)
	if string(got) != "hello" || m.Attempts != 3 || m.LastError != "" || calls.Load() != 3 {
		t.Fatalf("message = %+v, payload %q, calls %d", m, got, calls.Load())
	}
	waitFor(t, "events", func() bool { return rec.kinds() == "attempt,attempt,delivered" })
	if e := rec.last(); e.Detail != "delivered on attempt 3" || e.Message.Attempts != 3 || e.Message.Status != Delivered {
		t.Fatalf("last event = %+v", e)
	}
	if e := rec.evs[0]; !strings.HasPrefix(e.Detail, "attempt 1 failed: 503 from receiver; next attempt in ") || e.Next < 5*time.Millisecond || e.Err == nil {
		t.Fatalf("first event = %+v", e)
	}
}

func TestPermanentAndGiveUpAndRetry(t *testing.T) {
	o := newOutbox(t, newDB(t))
	var fail atomic.Pointer[error]
	setFail := func(err error) { fail.Store(&err) }
	setFail(Permanent(errors.New("400 bad request")))
	rec := &recorder{}
	o.Register("c", Consumer{Policy: Policy{MinBackoff: 10 * time.Millisecond, MaxBackoff: 10 * time.Millisecond, GiveUpAfter: 50 * time.Millisecond}, Record: rec.record,
		Deliver: func(context.Context, Message) error {
			return *fail.Load()
		}})
	run(t, o)
	id := enqueue(t, o, Message{Channel: "c", Key: "k"}).ID
	waitFor(t, "failed", func() bool { return status(t, o, id).Status == Failed })
	if m := status(t, o, id); m.LastError != "unrecoverable: 400 bad request" || m.Attempts != 1 {
		t.Fatalf("message = %+v", m)
	}
	// Retry by hand; now the error is transient until the give-up age.
	setFail(errors.New("timeout"))
	if err := o.Retry(t.Context(), "c", id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "gave up", func() bool { return status(t, o, id).Status == Failed && status(t, o, id).Attempts > 1 })
	if m := status(t, o, id); !strings.HasPrefix(m.LastError, "gave up after ") || !strings.HasSuffix(m.LastError, "(give_up_after reached): timeout") {
		t.Fatalf("message = %+v", m)
	}
	if k := rec.kinds(); !strings.HasPrefix(k, "failed,retried,") || !strings.HasSuffix(k, ",failed") {
		t.Fatalf("events = %s", k)
	}
	for _, c := range []struct {
		ch   string
		id   int64
		code apierr.Code
	}{{"c", id + 100, apierr.NotFound}, {"d", id, ""}} {
		err := o.Retry(t.Context(), c.ch, c.id)
		if c.code != "" && apierr.CodeOf(err) != c.code || c.code == "" && !errors.Is(err, ErrUnknownChannel) {
			t.Fatalf("Retry(%s, %d) = %v", c.ch, c.id, err)
		}
	}
}

func TestRetryOfNotFailedIsConflict(t *testing.T) {
	o := newOutbox(t, newDB(t))
	o.Register("c", Consumer{Deliver: func(context.Context, Message) error { return nil }})
	id := enqueue(t, o, Message{Channel: "c", Key: "k"}).ID
	if err := o.Retry(t.Context(), "c", id); apierr.CodeOf(err) != apierr.Conflict {
		t.Fatalf("retry of a pending message: %v", err)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	o := newOutbox(t, newDB(t))
	rec := &recorder{}
	var calls atomic.Int32
	o.Register("c", Consumer{Policy: Policy{GiveUpAfter: 2 * time.Hour}, Record: rec.record, Deliver: func(context.Context, Message) error {
		if calls.Add(1) == 1 {
			return RetryAfter(errors.New("429"), time.Hour)
		}
		return nil
	}})
	run(t, o)
	id := enqueue(t, o, Message{Channel: "c", Key: "k"}).ID
	waitFor(t, "attempt", func() bool { return rec.kinds() == "attempt" })
	if e := rec.last(); e.Next != time.Hour || !status(t, o, id).NextAttemptAt.After(time.Now().Add(59*time.Minute)) {
		t.Fatalf("event = %+v", e)
	}
}

func TestSupersedeDedupNoSend(t *testing.T) {
	o := newOutbox(t, newDB(t))
	o.Register("c", Consumer{Deliver: func(context.Context, Message) error { return nil }})
	// Not running: messages stay pending.
	a := enqueue(t, o, Message{Channel: "c", Key: "k", Dedup: "v1"})
	b := enqueue(t, o, Message{Channel: "c", Key: "k", Dedup: "v2"})
	if len(b.Superseded) != 1 || b.Superseded[0] != a.ID || status(t, o, a.ID).Status != Superseded {
		t.Fatalf("supersede: %+v", b)
	}
	// Same dedup as the latest: a duplicate, nothing written.
	d := enqueue(t, o, Message{Channel: "c", Key: "k", Dedup: "v2"})
	if d.ID != 0 || d.Duplicate == nil || d.Duplicate.ID != b.ID || d.Duplicate.Status != Pending {
		t.Fatalf("dedup: %+v", d)
	}
	// Outside the dedup window it is sent again.
	if d := enqueue(t, o, Message{Channel: "c", Key: "k", Dedup: "v2", DedupFor: time.Nanosecond}); d.ID == 0 || d.Duplicate != nil {
		t.Fatalf("dedup window: %+v", d)
	}
	// Other keys and channels are other streams.
	if d := enqueue(t, o, Message{Channel: "x", Key: "k", Dedup: "v2"}); d.ID == 0 || len(d.Superseded) != 0 {
		t.Fatalf("other channel: %+v", d)
	}
	n := enqueue(t, o, Message{Channel: "c", Key: "k2", NoSend: true, Dedup: "r"})
	if m := status(t, o, n.ID); m.Status != Delivered || m.Attempts != 0 {
		t.Fatalf("no-send: %+v", m)
	}
	if d := enqueue(t, o, Message{Channel: "c", Key: "k2", Dedup: "r"}); d.Duplicate == nil || d.Duplicate.Status != Delivered {
		t.Fatalf("dedup against a no-send message: %+v", d)
	}
	depth, age, err := o.Depth(t.Context(), "c")
	if err != nil || depth != 1 || age < 0 {
		t.Fatalf("depth = %d %s %v", depth, age, err)
	}
	if all, _, _ := o.Depth(t.Context(), ""); all != 2 {
		t.Fatalf("depth of every channel = %d", all)
	}
	if _, err := o.Enqueue(t.Context(), nil, Message{Channel: "c"}); err == nil {
		t.Fatal("enqueue without a key accepted")
	}
}

// A message superseded while its attempt runs stays superseded when the
// attempt fails, and becomes delivered when it succeeds.
func TestSupersededDuringAttempt(t *testing.T) {
	o := newOutbox(t, newDB(t))
	entered, release := make(chan struct{}), make(chan error)
	o.Register("c", Consumer{Policy: fast, Deliver: func(context.Context, Message) error {
		entered <- struct{}{}
		return <-release
	}})
	run(t, o)
	a := enqueue(t, o, Message{Channel: "c", Key: "k"}).ID
	<-entered
	b := enqueue(t, o, Message{Channel: "c", Key: "k"}).ID
	release <- errors.New("boom")
	<-entered // b's attempt
	waitFor(t, "a finished", func() bool { return status(t, o, a).Attempts == 1 })
	if m := status(t, o, a); m.Status != Superseded {
		t.Fatalf("a = %+v", m)
	}
	release <- nil
	waitFor(t, "b delivered", func() bool { return status(t, o, b).Status == Delivered })
}

// The outcome of an attempt that succeeded while the outbox was shutting
// down is recorded. Before the fix, finish ran its statements on the
// cancelled context (and the attempt's result was dropped), so the message
// stayed pending and was delivered again after the restart.
func TestOutcomeRecordedWhenShutdownDuringAttempt(t *testing.T) {
	db := newDB(t)
	o := newOutbox(t, db)
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	o.Register("c", Consumer{Record: rec.record, Deliver: func(context.Context, Message) error {
		cancel() // shutdown begins while the receiver answers
		return nil
	}})
	id := enqueue(t, o, Message{Channel: "c", Key: "k"}).ID
	if err := o.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if m := status(t, o, id); m.Status != Delivered || m.Attempts != 1 {
		t.Fatalf("after shutdown: %+v", m)
	}
	if k := rec.kinds(); k != "delivered" {
		t.Fatalf("events = %q", k)
	}
	// finish itself, called with a context already done.
	id2 := enqueue(t, o, Message{Channel: "c", Key: "k2"}).ID
	m := status(t, o, id2)
	done, c2 := context.WithCancel(context.Background())
	c2()
	o.finish(done, outcome{m: m, c: Consumer{Record: rec.record}})
	if m := status(t, o, id2); m.Status != Delivered {
		t.Fatalf("finish on a done context: %+v", m)
	}
}

// An attempt cut short by shutdown (it failed because its context ended)
// leaves the message pending, due at once after the restart.
func TestRestartRetriesCutAttempt(t *testing.T) {
	db := newDB(t)
	o := newOutbox(t, db)
	entered := make(chan struct{})
	o.Register("c", Consumer{Policy: Policy{MinBackoff: time.Hour, MaxBackoff: time.Hour}, Deliver: func(ctx context.Context, _ Message) error {
		close(entered)
		<-ctx.Done()
		return ctx.Err()
	}})
	stop := run(t, o)
	id := enqueue(t, o, Message{Channel: "c", Key: "k"}).ID
	<-entered
	stop()
	if m := status(t, o, id); m.Status != Pending || m.Attempts != 0 || !m.NextAttemptAt.After(time.Now()) {
		t.Fatalf("after shutdown: %+v (want pending, leased)", m)
	}
	o2 := newOutbox(t, db)
	var delivered atomic.Int32
	o2.Register("c", Consumer{Deliver: func(context.Context, Message) error { delivered.Add(1); return nil }})
	run(t, o2)
	waitFor(t, "delivery after restart", func() bool { return status(t, o2, id).Status == Delivered })
	if delivered.Load() != 1 {
		t.Fatalf("delivered %d times", delivered.Load())
	}
}

func TestConcurrencyBoundAndUnregisteredChannels(t *testing.T) {
	o, err := New(Options{DB: newDB(t), Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	var inflight, peak atomic.Int32
	o.Register("c", Consumer{Deliver: func(context.Context, Message) error {
		n := inflight.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(5 * time.Millisecond)
		inflight.Add(-1)
		return nil
	}})
	run(t, o)
	var ids []int64
	for i := range 20 {
		ids = append(ids, enqueue(t, o, Message{Channel: "c", Key: string(rune('a' + i))}).ID)
	}
	other := enqueue(t, o, Message{Channel: "nobody", Key: "k"}).ID
	waitFor(t, "all delivered", func() bool {
		ms, _ := o.List(t.Context(), Query{Channel: "c", Status: Delivered})
		return len(ms) == len(ids)
	})
	if p := peak.Load(); p > 2 || p < 1 {
		t.Fatalf("peak concurrency %d, want at most 2", p)
	}
	if m := status(t, o, other); m.Status != Pending || m.Attempts != 0 {
		t.Fatalf("message of an unregistered channel: %+v", m)
	}
}

func TestPrune(t *testing.T) {
	o := newOutbox(t, newDB(t))
	o.Register("c", Consumer{Deliver: func(context.Context, Message) error { return nil }})
	d := enqueue(t, o, Message{Channel: "c", Key: "a", NoSend: true}).ID
	p := enqueue(t, o, Message{Channel: "c", Key: "b"}).ID
	x := enqueue(t, o, Message{Channel: "x", Key: "a", NoSend: true}).ID
	if err := o.Prune(t.Context(), nil, "c", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ms, _ := o.List(t.Context(), Query{})
	if len(ms) != 2 || ms[0].ID != x || ms[1].ID != p {
		t.Fatalf("after prune: %+v (want %d deleted)", ms, d)
	}
}

func TestBackoff(t *testing.T) {
	o := newOutbox(t, newDB(t))
	p := Policy{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	f := func(attempt int, lo, hi time.Duration) {
		t.Helper()
		for range 200 {
			if d := o.backoff(attempt, p); d < lo || d > hi {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s]", attempt, d, lo, hi)
			}
		}
	}
	f(1, 50*time.Millisecond, 100*time.Millisecond)
	f(2, 100*time.Millisecond, 200*time.Millisecond)
	f(3, 200*time.Millisecond, 400*time.Millisecond)
	f(10, 500*time.Millisecond, time.Second)
	f(100, 500*time.Millisecond, time.Second)
}

// Lanes take turns: one message in a quiet lane is attempted next, not
// after the flood queued before it in another lane.
func TestLanesTakeTurns(t *testing.T) {
	o, err := New(Options{DB: newDB(t), Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	o.Register("c", Consumer{Deliver: func(_ context.Context, m Message) error {
		mu.Lock()
		order = append(order, m.Lane)
		mu.Unlock()
		return nil
	}})
	for i := range 50 {
		enqueue(t, o, Message{Channel: "c", Lane: "storm", Key: string(rune('a' + i))})
	}
	enqueue(t, o, Message{Channel: "c", Lane: "pager", Key: "page"})
	run(t, o)
	waitFor(t, "all delivered", func() bool { mu.Lock(); defer mu.Unlock(); return len(order) == 51 })
	if i := slices.Index(order, "pager"); i > 1 {
		t.Fatalf("the quiet lane's message was attempted %dth: %v", i+1, order[:i+1])
	}
}
