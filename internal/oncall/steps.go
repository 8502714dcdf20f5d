package oncall

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

// Step kinds.
const (
	stepEscalate = "escalate" // run step `step` of loop `loop` of the incident's policy
	stepAssign   = "assign"   // notify the assignee
	stepUnsnooze = "unsnooze" // a snooze ended: trigger again
)

type dueStep struct {
	ID, Incident int64
	Kind         string
	Loop, Step   int
	User         string
	DueAt        time.Time
}

// claimDue returns up to limit pending steps due at now, oldest first,
// inside tx. Executing a step and marking it done happen in the same
// transaction, so a step is never half-done.
//
// SQLite: BEGIN IMMEDIATE (state.DB.Tx) already holds the database's one
// write lock, so a plain SELECT claims. PostgreSQL, the second
// implementation, would add FOR UPDATE SKIP LOCKED so that several Vigil
// processes claim disjoint rows; nothing else changes.
func claimDue(ctx context.Context, tx *sql.Tx, now time.Time, limit int) ([]dueStep, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, incident_id, kind, loop, step, user, due_at FROM oncall_steps
		WHERE state = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?`, ms(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []dueStep
	for rows.Next() {
		var s dueStep
		var due int64
		if err := rows.Scan(&s.ID, &s.Incident, &s.Kind, &s.Loop, &s.Step, &s.User, &due); err != nil {
			return nil, err
		}
		s.DueAt = fromMS(due)
		out = append(out, s)
	}
	return out, rows.Err()
}

func scheduleStep(ctx context.Context, tx querier, incident int64, kind string, loop, step int, user string, due time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO oncall_steps (incident_id, kind, loop, step, user, due_at, state, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)`,
		incident, kind, loop, step, user, ms(due), ms(due))
	return err
}

func cancelSteps(ctx context.Context, tx querier, incident int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE oncall_steps SET state = 'cancelled', done_at = ? WHERE incident_id = ? AND state = 'pending'`, ms(now), incident)
	return err
}

func finishStep(ctx context.Context, tx querier, id int64, state string, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE oncall_steps SET state = ?, done_at = ? WHERE id = ?`, state, ms(now), id)
	return err
}

// nextDue returns the due time of the earliest pending step.
func (o *OnCall) nextDue(ctx context.Context) (time.Time, bool, error) {
	var v sql.NullInt64
	if err := o.db.QueryRowContext(ctx, `SELECT MIN(due_at) FROM oncall_steps WHERE state = 'pending'`).Scan(&v); err != nil {
		return time.Time{}, false, err
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return fromMS(v.Int64), true, nil
}

func (o *OnCall) runScheduler(ctx context.Context) error {
	for {
		n, err := o.RunDue(ctx)
		if err != nil && ctx.Err() == nil {
			o.logger.Error("execute escalation steps", "err", err)
		}
		if n >= o.opts.BatchSize {
			continue // more are due
		}
		wait := o.opts.PollInterval
		if due, ok, err := o.nextDue(ctx); err == nil && ok {
			if d := due.Sub(o.now()); d < wait {
				wait = max(d, 0)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-o.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// RunDue executes the steps due now, up to BatchSize in one transaction,
// and returns how many it executed. Tests call it with a fake clock.
func (o *OnCall) RunDue(ctx context.Context) (int, error) {
	now := o.now()
	var steps []dueStep
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		steps, err = claimDue(ctx, tx, now, o.opts.BatchSize)
		if err != nil {
			return err
		}
		c := &txc{Tx: tx, stmts: map[string]*sql.Stmt{}}
		defer c.close()
		for _, s := range steps {
			if err := o.execute(ctx, c, s, now); err != nil {
				return fmt.Errorf("step %d of incident %d: %w", s.ID, s.Incident, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, s := range steps {
		o.m.stepLag.Observe(now.Sub(s.DueAt).Seconds())
		o.m.steps.WithLabelValues(s.Kind).Inc()
	}
	return len(steps), nil
}

// txc is a transaction that prepares each statement once: a batch of
// steps runs the same dozen statements hundreds of times, and parsing SQL
// was a fifth of the scheduler's CPU time.
type txc struct {
	*sql.Tx
	stmts map[string]*sql.Stmt
}

func (c *txc) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := c.stmts[q]; ok {
		return st, nil
	}
	st, err := c.Tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.stmts[q] = st
	return st, nil
}

func (c *txc) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (c *txc) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (c *txc) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, q)
	if err != nil {
		return c.Tx.QueryRowContext(ctx, q, args...) // reports err on Scan
	}
	return st.QueryRowContext(ctx, args...)
}

func (c *txc) close() {
	for _, st := range c.stmts {
		st.Close()
	}
}

func (o *OnCall) execute(ctx context.Context, tx *txc, s dueStep, now time.Time) error {
	in, err := getIncident(ctx, tx, s.Incident)
	if err != nil {
		return finishStep(ctx, tx, s.ID, "cancelled", now)
	}
	switch s.Kind {
	case stepUnsnooze:
		if in.State != Acknowledged || in.SnoozedUntil == nil || in.SnoozedUntil.After(now) {
			return finishStep(ctx, tx, s.ID, "cancelled", now)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE oncall_incidents SET state = 'triggered', snoozed_until = 0, acked_at = 0, acked_by = '', esc_loop = 0, esc_step = -1, updated_at = ? WHERE id = ?`, ms(now), in.ID); err != nil {
			return err
		}
		if err := record(ctx, tx, in.ID, now, EvUnsnoozed, "", "", "", "snooze ended; the incident is triggered again"); err != nil {
			return err
		}
		if in.Policy != "" {
			if err := scheduleStep(ctx, tx, in.ID, stepEscalate, 0, 0, "", now); err != nil {
				return err
			}
		}
		return finishStep(ctx, tx, s.ID, "done", now)
	case stepAssign:
		if in.State != Triggered {
			return finishStep(ctx, tx, s.ID, "cancelled", now)
		}
		if err := o.notifyUsers(ctx, tx, tx.Tx, in, []string{s.User}, fmt.Sprintf("a%d", s.ID), now); err != nil {
			return err
		}
		return finishStep(ctx, tx, s.ID, "done", now)
	}
	if in.State != Triggered {
		return finishStep(ctx, tx, s.ID, "cancelled", now)
	}
	cat := o.catalog()
	pol := cat.policies[in.Policy]
	if pol == nil {
		if err := o.unreachable(ctx, tx, in.ID, now, "no_policy", "", fmt.Sprintf("escalation policy %q no longer exists: nobody is paged", in.Policy)); err != nil {
			return err
		}
		return finishStep(ctx, tx, s.ID, "done", now)
	}
	if s.Step >= len(pol.Steps) {
		// The policy lost steps since this one was scheduled.
		return o.exhausted(ctx, tx, in, s, pol.Name, now)
	}
	st := pol.Steps[s.Step]
	var users []string
	for _, t := range st.Targets {
		switch {
		case t.User != "":
			users = append(users, t.User)
		case t.Schedule != "":
			sched := cat.schedules[t.Schedule]
			if sched == nil {
				if err := o.unreachable(ctx, tx, in.ID, now, "nobody_on_call", "", fmt.Sprintf("schedule %q no longer exists", t.Schedule)); err != nil {
					return err
				}
				continue
			}
			sh, ok := sched.At(now)
			if !ok {
				if err := o.unreachable(ctx, tx, in.ID, now, "nobody_on_call", "", fmt.Sprintf("schedule %q has nobody on call at %s", t.Schedule, now.UTC().Format(time.RFC3339))); err != nil {
					return err
				}
				continue
			}
			users = append(users, sh.User)
		case t.Team != "":
			members := cat.teamMembers(t.Team)
			if len(members) == 0 {
				if err := o.unreachable(ctx, tx, in.ID, now, "nobody_on_call", "", fmt.Sprintf("team %q has no members", t.Team)); err != nil {
					return err
				}
			}
			users = append(users, members...)
		}
	}
	users = dedupe(users)
	detail := fmt.Sprintf("escalation policy %s, step %d of %d (pass %d of %d): notifying %v", pol.Name, s.Step+1, len(pol.Steps), s.Loop+1, pol.Repeat+1, users)
	if err := record(ctx, tx, in.ID, now, EvEscalated, "", "", "", detail); err != nil {
		return err
	}
	if err := o.notifyUsers(ctx, tx, tx.Tx, in, users, fmt.Sprintf("e%d.%d", s.Loop, s.Step), now); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE oncall_incidents SET esc_loop = ?, esc_step = ?, updated_at = ? WHERE id = ?`, s.Loop, s.Step, ms(now), in.ID); err != nil {
		return err
	}
	next := now.Add(st.DelayDuration())
	switch {
	case s.Step+1 < len(pol.Steps):
		if err := scheduleStep(ctx, tx, in.ID, stepEscalate, s.Loop, s.Step+1, "", next); err != nil {
			return err
		}
	case s.Loop < pol.Repeat:
		if err := scheduleStep(ctx, tx, in.ID, stepEscalate, s.Loop+1, 0, "", next); err != nil {
			return err
		}
	default:
		// The last step ran; if nobody acknowledges within its delay the
		// policy has run out.
		if err := scheduleStep(ctx, tx, in.ID, stepEscalate, s.Loop, len(pol.Steps), "", next); err != nil {
			return err
		}
	}
	return finishStep(ctx, tx, s.ID, "done", now)
}

func (o *OnCall) exhausted(ctx context.Context, tx querier, in *Incident, s dueStep, policy string, now time.Time) error {
	if err := record(ctx, tx, in.ID, now, EvExhausted, "", "", "", fmt.Sprintf("escalation policy %s reached its end without acknowledgement", policy)); err != nil {
		return err
	}
	o.m.exhausted.WithLabelValues(policy).Inc()
	return finishStep(ctx, tx, s.ID, "done", now)
}

func (o *OnCall) unreachable(ctx context.Context, tx querier, id int64, now time.Time, reason, user, detail string) error {
	o.m.unreachable.WithLabelValues(reason).Inc()
	return record(ctx, tx, id, now, EvUnreachable, "", user, "", detail)
}

func dedupe(s []string) []string {
	var out []string
	for _, v := range s {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
