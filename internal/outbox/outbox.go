package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vigilhq/vigil/internal/state"
)

// DeliverFunc sends one message (see the package doc for the contract).
type DeliverFunc func(ctx context.Context, m Message) error

// RecordFunc records an Event inside the transaction that makes it so.
type RecordFunc func(ctx context.Context, tx *sql.Tx, e Event) error

// Policy is how a channel's messages are retried. Zero fields take defaults.
type Policy struct {
	GiveUpAfter    time.Duration // default 24h
	MinBackoff     time.Duration // default 1s
	MaxBackoff     time.Duration // default 5m
	AttemptTimeout time.Duration // default 30s
}

func (p Policy) withDefaults() Policy {
	if p.GiveUpAfter <= 0 {
		p.GiveUpAfter = 24 * time.Hour
	}
	if p.MinBackoff <= 0 {
		p.MinBackoff = time.Second
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 5 * time.Minute
	}
	if p.MaxBackoff < p.MinBackoff {
		p.MaxBackoff = p.MinBackoff
	}
	if p.AttemptTimeout <= 0 {
		p.AttemptTimeout = 30 * time.Second
	}
	return p
}

// Consumer is what a channel's owner registers.
type Consumer struct {
	Deliver DeliverFunc // required
	Record  RecordFunc  // optional
	Policy  Policy
}

// Options configure New.
type Options struct {
	// DB is the state database. Required.
	DB     *state.DB
	Logger *slog.Logger
	// Concurrency bounds attempts in flight over all channels. Default 8.
	Concurrency int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Outbox is the shared delivery outbox. Safe for concurrent use.
type Outbox struct {
	db     *state.DB
	logger *slog.Logger
	now    func() time.Time
	conc   int

	mu        sync.Mutex
	consumers map[string]Consumer
	inflight  int
	// lanes with pending messages (perhaps some without: they are dropped
	// when a claim finds them empty); rr rotates which lane goes first.
	lanes map[lane]bool
	rr    int
	wake  chan struct{}
	rndMu sync.Mutex
	rnd   *rand.Rand
}

// ErrUnknownChannel is returned by SetPolicy for a channel nobody registered.
var ErrUnknownChannel = errors.New("outbox: unknown channel")

// New creates the outbox's tables if needed. Nothing is delivered until Run.
func New(opts Options) (*Outbox, error) {
	if opts.DB == nil {
		return nil, errors.New("outbox: Options.DB is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := opts.DB.Migrate(context.Background(), "outbox", migrations); err != nil {
		return nil, err
	}
	return &Outbox{
		db: opts.DB, logger: opts.Logger.With("component", "outbox"), now: opts.Now, conc: opts.Concurrency,
		consumers: map[string]Consumer{}, lanes: map[lane]bool{}, wake: make(chan struct{}, 1),
		rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)),
	}, nil
}

// Register makes c the consumer of channel. Registering a channel again
// replaces its consumer (for messages not yet being attempted).
func (o *Outbox) Register(channel string, c Consumer) {
	if c.Deliver == nil {
		panic("outbox: Register " + channel + " without Deliver")
	}
	c.Policy = c.Policy.withDefaults()
	o.mu.Lock()
	o.consumers[channel] = c
	o.mu.Unlock()
	o.signal()
}

// SetPolicy changes a registered channel's policy (on reload). Messages
// already enqueued keep their give-up time.
func (o *Outbox) SetPolicy(channel string, p Policy) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	c, ok := o.consumers[channel]
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownChannel, channel)
	}
	c.Policy = p.withDefaults()
	o.consumers[channel] = c
	return nil
}

func (o *Outbox) consumer(channel string) (Consumer, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c, ok := o.consumers[channel]
	return c, ok
}

func (o *Outbox) policy(channel string) Policy {
	c, _ := o.consumer(channel)
	return c.Policy.withDefaults()
}

func (o *Outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run delivers due messages until ctx is done, then waits for the attempts
// in flight.
func (o *Outbox) Run(ctx context.Context) error {
	// One process owns the outbox: leases left by a previous process (which
	// died during an attempt) and backoffs are void after a restart, so
	// every pending message is due now.
	now := o.now().UnixMilli()
	if err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE outbox_messages SET next_attempt_at = ? WHERE status = ? AND next_attempt_at > ?`, now, Pending, now)
		return err
	}); err != nil && ctx.Err() == nil {
		o.logger.Error("reset message leases", "err", err)
	}
	if err := o.loadLanes(ctx); err != nil && ctx.Err() == nil {
		o.logger.Error("read message lanes", "err", err)
	}
	out := make(chan outcome, 4*o.conc)
	var fin sync.WaitGroup
	fin.Go(func() { o.finisher(out) })
	var wg sync.WaitGroup
	defer func() {
		wg.Wait() // attempts in flight hand over their outcomes
		close(out)
		fin.Wait() // and every outcome is recorded
	}()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		for _, m := range o.claim(ctx) {
			c, _ := o.consumer(m.Channel)
			wg.Go(func() {
				defer func() {
					o.mu.Lock()
					o.inflight--
					o.mu.Unlock()
					o.signal()
				}()
				o.attempt(ctx, m, c, out)
			})
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-o.wake:
		}
	}
}

const messageColumns = `id, channel, lane, key, dedup, payload, status, attempts, created_at, updated_at, next_attempt_at, give_up_at, last_error`

func scanMessage(sc interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var c, u, n, g int64
	var st string
	err := sc.Scan(&m.ID, &m.Channel, &m.Lane, &m.Key, &m.Dedup, &m.Payload, &st, &m.Attempts, &c, &u, &n, &g, &m.LastError)
	m.Status = Status(st)
	m.CreatedAt, m.UpdatedAt = time.UnixMilli(c), time.UnixMilli(u)
	m.NextAttemptAt, m.GiveUpAt = time.UnixMilli(n), time.UnixMilli(g)
	return m, err
}

type lane struct{ channel, name string }

func (o *Outbox) addLane(channel, name string) {
	o.mu.Lock()
	o.lanes[lane{channel, name}] = true
	o.mu.Unlock()
}

func (o *Outbox) loadLanes(ctx context.Context) error {
	rows, err := o.db.QueryContext(ctx, `SELECT DISTINCT channel, lane FROM outbox_messages WHERE status = ?`, Pending)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var l lane
		if err := rows.Scan(&l.channel, &l.name); err != nil {
			return err
		}
		o.addLane(l.channel, l.name)
	}
	return rows.Err()
}

// claim leases due messages of registered channels, as many as there are
// free attempt slots, taking them from the lanes in turn, by moving their
// next attempt past the longest attempt timeout. It runs as a write
// transaction, so it sees every Enqueue that committed before it (an
// Enqueue wakes the loop before its transaction commits; this transaction
// waits for that commit), and no Enqueue runs during it. If the process
// dies during an attempt, the lease runs out and the message is tried
// again: at least once.
func (o *Outbox) claim(ctx context.Context) []Message {
	if ctx.Err() != nil {
		return nil
	}
	o.mu.Lock()
	free := o.conc - o.inflight
	var lease time.Duration
	for _, c := range o.consumers {
		lease = max(lease, c.Policy.AttemptTimeout)
	}
	o.mu.Unlock()
	if free <= 0 || lease == 0 {
		return nil
	}
	now := o.now()
	var out []Message
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		o.mu.Lock()
		var lanes []lane
		for l := range o.lanes {
			if _, ok := o.consumers[l.channel]; ok {
				lanes = append(lanes, l)
			}
		}
		o.rr++
		rr := o.rr
		o.mu.Unlock()
		slices.SortFunc(lanes, func(a, b lane) int { return strings.Compare(a.channel+"\x00"+a.name, b.channel+"\x00"+b.name) })
		// The due messages of each lane, oldest due first.
		due := make([][]any, len(lanes))
		for i, l := range lanes {
			rows, err := tx.QueryContext(ctx, `SELECT id FROM outbox_messages WHERE status = ? AND channel = ? AND lane = ? AND next_attempt_at <= ?
				ORDER BY next_attempt_at LIMIT ?`, Pending, l.channel, l.name, now.UnixMilli(), free)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				due[i] = append(due[i], id)
			}
			rows.Close()
			if len(due[i]) > 0 {
				continue
			}
			var pending bool
			if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM outbox_messages WHERE status = ? AND channel = ? AND lane = ?)`,
				Pending, l.channel, l.name).Scan(&pending); err != nil {
				return err
			}
			if !pending {
				o.mu.Lock()
				delete(o.lanes, l)
				o.mu.Unlock()
			}
		}
		// Lanes take turns, starting with a different one each claim.
		var ids []any
		for round := 0; len(ids) < free; round++ {
			took := false
			for j := range lanes {
				i := (j + rr) % len(lanes)
				if round < len(due[i]) && len(ids) < free {
					ids = append(ids, due[i][round])
					took = true
				}
			}
			if !took {
				break
			}
		}
		if len(ids) == 0 {
			return nil
		}
		args := append([]any{now.Add(lease + 10*time.Second).UnixMilli()}, ids...)
		rows, err := tx.QueryContext(ctx, `UPDATE outbox_messages SET next_attempt_at = ? WHERE id IN (?`+strings.Repeat(", ?", len(ids)-1)+`)
			RETURNING `+messageColumns, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMessage(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		if ctx.Err() == nil {
			o.logger.Error("claim due messages", "err", err)
		}
		return nil
	}
	slices.SortFunc(out, func(a, b Message) int { return int(a.ID - b.ID) })
	o.mu.Lock()
	o.inflight += len(out)
	o.mu.Unlock()
	return out
}

func (o *Outbox) backoff(attempts int, p Policy) time.Duration {
	d := p.MinBackoff
	for i := 1; i < attempts && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	// Equal jitter: half fixed, half random, so retries of many messages
	// spread out without ever waiting less than half.
	o.rndMu.Lock()
	j := time.Duration(o.rnd.Int64N(int64(d/2) + 1))
	o.rndMu.Unlock()
	return d/2 + j
}

func (o *Outbox) attempt(ctx context.Context, m Message, c Consumer, out chan<- outcome) {
	actx, cancel := context.WithTimeout(ctx, c.Policy.AttemptTimeout)
	err := c.Deliver(actx, m)
	cancel()
	if err != nil && ctx.Err() != nil {
		// Shutting down cut the attempt short: the message stays pending
		// and is tried again after the restart.
		return
	}
	// Recorded by the finisher, also after shutdown began; the message
	// stays leased until then.
	out <- outcome{m: m, c: c, err: err}
}

// outcome is an attempt's result, waiting to be recorded.
type outcome struct {
	m   Message
	c   Consumer
	err error
}

// maxOutcomes is how many outcomes one transaction records.
const maxOutcomes = 256

// finisher records outcomes in batches, one transaction each, so that the
// attempt slots free as soon as the receiver answered and a busy state
// database (an alert storm being written) costs one wait per batch, not one
// per message. Returns when out is closed and drained.
func (o *Outbox) finisher(out <-chan outcome) {
	batch := make([]outcome, 0, maxOutcomes)
	for first := range out {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxOutcomes {
			select {
			case oc, ok := <-out:
				if !ok {
					break fill
				}
				batch = append(batch, oc)
			default:
				break fill
			}
		}
		o.finish(context.Background(), batch...)
	}
}

// verdict is what an outcome does to its message.
type verdict struct {
	status  Status
	next    time.Duration
	lastErr string
	ev      Event
}

func (o *Outbox) verdict(oc outcome) verdict {
	m, err := oc.m, oc.err
	attempt := m.Attempts + 1
	v := verdict{status: Delivered, ev: Event{Kind: EventDelivered, Detail: fmt.Sprintf("delivered on attempt %d", attempt), Err: err}}
	if err == nil {
		return v
	}
	v.lastErr = err.Error()
	switch {
	case isPermanent(err):
		v.status, v.lastErr = Failed, "unrecoverable: "+v.lastErr
	default:
		v.next = max(o.backoff(attempt, oc.c.Policy), retryAfterOf(err))
		if o.now().Add(v.next).After(m.GiveUpAt) {
			v.status, v.lastErr = Failed, fmt.Sprintf("gave up after %d attempts (give_up_after reached): %s", attempt, v.lastErr)
		} else {
			v.status = Pending
		}
	}
	v.ev.Kind, v.ev.Detail = EventFailed, v.lastErr
	if v.status == Pending {
		v.ev.Kind, v.ev.Next = EventAttempt, v.next
		v.ev.Detail = fmt.Sprintf("attempt %d failed: %s; next attempt in %s", attempt, v.lastErr, v.next.Round(time.Millisecond))
	}
	return v
}

// finish records the outcomes of attempts in one transaction, each under
// its own savepoint (one whose Record fails is rolled back alone and
// logged). It writes even when ctx has ended (shutdown): an attempt that
// delivered must not be delivered again after the restart.
func (o *Outbox) finish(ctx context.Context, ocs ...outcome) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	now := o.now()
	vs := make([]verdict, len(ocs))
	for i, oc := range ocs {
		vs[i] = o.verdict(oc)
	}
	werr := o.db.Tx(ctx, func(tx *sql.Tx) error {
		for i, oc := range ocs {
			v := &vs[i]
			if _, err := tx.ExecContext(ctx, `SAVEPOINT finish`); err != nil {
				return err
			}
			err := o.recordOutcome(ctx, tx, oc, v, now)
			if err != nil {
				o.logger.Error("record delivery outcome", "id", oc.m.ID, "channel", oc.m.Channel, "err", err)
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO finish`); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE finish`); err != nil {
				return err
			}
		}
		return nil
	})
	if werr != nil {
		o.logger.Error("record delivery outcomes", "messages", len(ocs), "err", werr)
	}
	for i, oc := range ocs {
		switch v := vs[i]; v.status {
		case Failed:
			o.logger.Error("message failed", "id", oc.m.ID, "channel", oc.m.Channel, "key", oc.m.Key, "err", v.lastErr)
		case Pending:
			o.logger.Warn("delivery attempt failed; will retry", "id", oc.m.ID, "channel", oc.m.Channel, "key", oc.m.Key, "next", v.next, "err", v.lastErr)
		}
	}
}

func (o *Outbox) recordOutcome(ctx context.Context, tx *sql.Tx, oc outcome, v *verdict, now time.Time) error {
	// A message superseded during its attempt stays superseded unless the
	// attempt delivered it.
	row := tx.QueryRowContext(ctx, `UPDATE outbox_messages SET status = CASE WHEN status = ? AND ? != ? THEN status ELSE ? END,
		attempts = attempts + 1, updated_at = ?, next_attempt_at = ?, last_error = ? WHERE id = ? RETURNING `+messageColumns,
		Superseded, v.status, Delivered, v.status, now.UnixMilli(), now.Add(v.next).UnixMilli(), v.lastErr, oc.m.ID)
	var err error
	if v.ev.Message, err = scanMessage(row); err != nil {
		return err
	}
	if oc.c.Record == nil {
		return nil
	}
	return oc.c.Record(ctx, tx, v.ev)
}
