package oncall

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/oncall/schedule"
	"github.com/vigilhq/vigil/internal/oncall/spec"
)

// Object kinds as stored.
const (
	KindUser     = "user"
	KindTeam     = "team"
	KindSchedule = "schedule"
	KindPolicy   = "policy"
)

// Sources of objects.
const (
	SourceConfig = "config"
	SourceAPI    = "api"
)

// catalog is a validated snapshot of every object, read by lookups
// without locks; a change builds a new one.
type catalog struct {
	objs      spec.Objects
	source    map[string]string // kind/name -> source
	users     map[string]*spec.User
	teams     map[string]*spec.Team
	schedules map[string]*schedule.Schedule
	specs     map[string]*spec.Schedule
	policies  map[string]*spec.Policy
}

func objKey(kind, name string) string { return kind + "/" + name }

// writeConfigObjects replaces the config's objects in the database.
func writeConfigObjects(ctx context.Context, tx *sql.Tx, objs spec.Objects, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT kind, name, source FROM oncall_objects`)
	if err != nil {
		return err
	}
	existing := map[string]string{}
	for rows.Next() {
		var k, n, s string
		if err := rows.Scan(&k, &n, &s); err != nil {
			rows.Close()
			return err
		}
		existing[objKey(k, n)] = s
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM oncall_objects WHERE source = 'config'`); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM oncall_overrides WHERE source = 'config'`); err != nil {
		return err
	}
	put := func(kind, name string, v any) error {
		if existing[objKey(kind, name)] == SourceAPI {
			return apierr.New(apierr.Conflict, "%s %q is defined in the config file and was also created through the API; delete one", kind, name)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO oncall_objects (kind, name, source, spec, updated_at) VALUES (?, ?, 'config', ?, ?)`, kind, name, string(b), ms(now))
		return err
	}
	for _, u := range objs.Users {
		if err := put(KindUser, u.Name, u); err != nil {
			return err
		}
	}
	for _, t := range objs.Teams {
		if err := put(KindTeam, t.Name, t); err != nil {
			return err
		}
	}
	for _, s := range objs.Schedules {
		ovs := s.Overrides
		s.Overrides = nil
		if err := put(KindSchedule, s.Name, s); err != nil {
			return err
		}
		loc, err := time.LoadLocation(s.TimeZone)
		if err != nil {
			return err
		}
		for _, ov := range ovs {
			st, err1 := spec.ParseTime(ov.Start, loc)
			en, err2 := spec.ParseTime(ov.End, loc)
			if err := errors.Join(err1, err2); err != nil {
				return fmt.Errorf("schedule %q override: %w", s.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO oncall_overrides (schedule, user, start_at, end_at, source, created_at) VALUES (?, ?, ?, ?, 'config', ?)`,
				s.Name, ov.User, ms(st), ms(en), ms(now)); err != nil {
				return err
			}
		}
	}
	for _, p := range objs.Policies {
		if err := put(KindPolicy, p.Name, p); err != nil {
			return err
		}
	}
	return nil
}

// loadCatalog reads and validates every object; an invalid set is an
// apierr.Invalid error listing the problems.
func loadCatalog(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) (*catalog, error) {
	rows, err := q.QueryContext(ctx, `SELECT kind, name, source, spec FROM oncall_objects ORDER BY kind, source DESC, name`)
	if err != nil {
		return nil, err
	}
	c := &catalog{source: map[string]string{}}
	for rows.Next() {
		var kind, name, source, js string
		if err := rows.Scan(&kind, &name, &source, &js); err != nil {
			rows.Close()
			return nil, err
		}
		c.source[objKey(kind, name)] = source
		var derr error
		switch kind {
		case KindUser:
			var u spec.User
			derr = json.Unmarshal([]byte(js), &u)
			c.objs.Users = append(c.objs.Users, u)
		case KindTeam:
			var t spec.Team
			derr = json.Unmarshal([]byte(js), &t)
			c.objs.Teams = append(c.objs.Teams, t)
		case KindSchedule:
			var s spec.Schedule
			derr = json.Unmarshal([]byte(js), &s)
			c.objs.Schedules = append(c.objs.Schedules, s)
		case KindPolicy:
			var p spec.Policy
			derr = json.Unmarshal([]byte(js), &p)
			c.objs.Policies = append(c.objs.Policies, p)
		}
		if derr != nil {
			rows.Close()
			return nil, fmt.Errorf("decode %s %q: %w", kind, name, derr)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	idx := map[string]int{}
	for i, s := range c.objs.Schedules {
		idx[s.Name] = i
	}
	orows, err := q.QueryContext(ctx, `SELECT id, schedule, user, start_at, end_at FROM oncall_overrides ORDER BY schedule, start_at`)
	if err != nil {
		return nil, err
	}
	for orows.Next() {
		var id, st, en int64
		var sched, user string
		if err := orows.Scan(&id, &sched, &user, &st, &en); err != nil {
			orows.Close()
			return nil, err
		}
		i, ok := idx[sched]
		if !ok {
			continue // schedule deleted; its overrides go with it at the next write
		}
		c.objs.Schedules[i].Overrides = append(c.objs.Schedules[i].Overrides, spec.Override{
			ID: id, User: user, Start: fromMS(st).Format(time.RFC3339), End: fromMS(en).Format(time.RFC3339),
		})
	}
	orows.Close()
	if err := orows.Err(); err != nil {
		return nil, err
	}
	if errs := c.objs.Validate(); len(errs) > 0 {
		return nil, apierr.Wrap(apierr.Invalid, errs, "invalid on-call objects")
	}
	c.index()
	return c, nil
}

func (c *catalog) index() {
	c.users = map[string]*spec.User{}
	c.teams = map[string]*spec.Team{}
	c.schedules = map[string]*schedule.Schedule{}
	c.specs = map[string]*spec.Schedule{}
	c.policies = map[string]*spec.Policy{}
	for i := range c.objs.Users {
		c.users[c.objs.Users[i].Name] = &c.objs.Users[i]
	}
	for i := range c.objs.Teams {
		c.teams[c.objs.Teams[i].Name] = &c.objs.Teams[i]
	}
	for i := range c.objs.Schedules {
		s := &c.objs.Schedules[i]
		cs, err := s.Compile()
		if err != nil {
			continue // Validate compiled it already
		}
		c.schedules[s.Name] = cs
		c.specs[s.Name] = s
	}
	for i := range c.objs.Policies {
		c.policies[c.objs.Policies[i].Name] = &c.objs.Policies[i]
	}
}

// teamMembers returns a team's users, included teams' too, in order and
// without duplicates.
func (c *catalog) teamMembers(name string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(string, int)
	walk = func(n string, depth int) {
		t := c.teams[n]
		if t == nil || depth > 32 {
			return
		}
		for _, m := range t.Members {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
		for _, sub := range t.Teams {
			walk(sub, depth+1)
		}
	}
	walk(name, 0)
	return out
}

// putObject creates or replaces an API object (create: it must not
// exist) after validating the whole set with it.
func (o *OnCall) putObject(ctx context.Context, kind, name string, v any, create bool) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := o.checkObject(kind, v); err != nil {
		return err
	}
	return o.changeObjects(ctx, func(tx *sql.Tx) error {
		var source string
		err := tx.QueryRowContext(ctx, `SELECT source FROM oncall_objects WHERE kind = ? AND name = ?`, kind, name).Scan(&source)
		switch {
		case err == nil && source == SourceConfig:
			return apierr.New(apierr.Conflict, "%s %q is defined in the config file; change it there", kind, name)
		case err == nil && create:
			return apierr.New(apierr.Conflict, "%s %q already exists", kind, name)
		case errors.Is(err, sql.ErrNoRows) && !create:
			return apierr.New(apierr.NotFound, "%s %q not found", kind, name)
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO oncall_objects (kind, name, source, spec, updated_at) VALUES (?, ?, 'api', ?, ?)
			ON CONFLICT (kind, name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at`, kind, name, string(b), ms(o.now()))
		return err
	})
}

// checkObject validates v with the other objects and reports its own
// problems with paths relative to it ("layers.0.shift").
func (o *OnCall) checkObject(kind string, v any) error {
	objs := o.catalog().objs
	var section string
	idx := -1
	switch x := v.(type) {
	case *spec.User:
		section, objs.Users = "users", replaceOrAppend(objs.Users, *x, func(u spec.User) string { return u.Name }, &idx)
	case *spec.Team:
		section, objs.Teams = "teams", replaceOrAppend(objs.Teams, *x, func(t spec.Team) string { return t.Name }, &idx)
	case *spec.Schedule:
		section, objs.Schedules = "schedules", replaceOrAppend(objs.Schedules, *x, func(s spec.Schedule) string { return s.Name }, &idx)
	case *spec.Policy:
		section, objs.Policies = "escalation_policies", replaceOrAppend(objs.Policies, *x, func(p spec.Policy) string { return p.Name }, &idx)
	default:
		return nil
	}
	prefix := fmt.Sprintf("%s.%d", section, idx)
	var mine spec.Errors
	for _, e := range objs.Validate() {
		if e.Field == prefix || strings.HasPrefix(e.Field, prefix+".") {
			e.Field = strings.TrimPrefix(strings.TrimPrefix(e.Field, prefix), ".")
			if e.Field == "" {
				e.Field = kind
			}
			mine = append(mine, e)
		}
	}
	if len(mine) > 0 {
		return apierr.Wrap(apierr.Invalid, mine, "invalid %s", kind)
	}
	return nil
}

func replaceOrAppend[T any](s []T, v T, name func(T) string, idx *int) []T {
	out := slices.Clone(s)
	for i := range out {
		if name(out[i]) == name(v) {
			if ov, ok := any(&out[i]).(*spec.Schedule); ok {
				// Overrides live in their own table; keep them.
				vs := any(v).(spec.Schedule)
				vs.Overrides = ov.Overrides
				v = any(vs).(T)
			}
			out[i], *idx = v, i
			return out
		}
	}
	*idx = len(out)
	return append(out, v)
}

// deleteObject deletes an API object, refused when others refer to it.
func (o *OnCall) deleteObject(ctx context.Context, kind, name string) error {
	return o.changeObjects(ctx, func(tx *sql.Tx) error {
		var source string
		err := tx.QueryRowContext(ctx, `SELECT source FROM oncall_objects WHERE kind = ? AND name = ?`, kind, name).Scan(&source)
		if errors.Is(err, sql.ErrNoRows) {
			return apierr.New(apierr.NotFound, "%s %q not found", kind, name)
		} else if err != nil {
			return err
		}
		if source == SourceConfig {
			return apierr.New(apierr.Conflict, "%s %q is defined in the config file; remove it there", kind, name)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM oncall_objects WHERE kind = ? AND name = ?`, kind, name); err != nil {
			return err
		}
		if kind == KindSchedule {
			_, err = tx.ExecContext(ctx, `DELETE FROM oncall_overrides WHERE schedule = ?`, name)
		}
		return err
	})
}

// changeObjects runs fn and swaps in the new catalog when the result is
// valid; otherwise the transaction rolls back.
func (o *OnCall) changeObjects(ctx context.Context, fn func(tx *sql.Tx) error) error {
	o.cfgMu.Lock()
	defer o.cfgMu.Unlock()
	var cat *catalog
	err := o.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		var err error
		cat, err = loadCatalog(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	o.cat.Store(cat)
	return nil
}

// addOverride adds an override to a schedule; overlapping an existing
// one is an error.
func (o *OnCall) addOverride(ctx context.Context, sched, user string, start, end time.Time) (int64, error) {
	var id int64
	err := o.changeObjects(ctx, func(tx *sql.Tx) error {
		c := o.catalog()
		s := c.schedules[sched]
		if s == nil {
			return apierr.New(apierr.NotFound, "schedule %q not found", sched)
		}
		if c.users[user] == nil {
			return apierr.New(apierr.Invalid, "unknown user %q", user)
		}
		if !end.After(start) {
			return apierr.New(apierr.Invalid, "override end %s is not after start %s", end.Format(time.RFC3339), start.Format(time.RFC3339))
		}
		if i := schedule.OverlappingOverride(s.Overrides, start, end); i >= 0 {
			ov := s.Overrides[i]
			return apierr.New(apierr.Invalid, "override overlaps override %d (%s from %s to %s); delete that one first", ov.ID, ov.User, ov.Start.Format(time.RFC3339), ov.End.Format(time.RFC3339))
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO oncall_overrides (schedule, user, start_at, end_at, source, created_at) VALUES (?, ?, ?, ?, 'api', ?)`,
			sched, user, ms(start), ms(end), ms(o.now()))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

func (o *OnCall) deleteOverride(ctx context.Context, sched string, id int64) error {
	return o.changeObjects(ctx, func(tx *sql.Tx) error {
		var source string
		err := tx.QueryRowContext(ctx, `SELECT source FROM oncall_overrides WHERE schedule = ? AND id = ?`, sched, id).Scan(&source)
		if errors.Is(err, sql.ErrNoRows) {
			return apierr.New(apierr.NotFound, "override %d of schedule %q not found", id, sched)
		} else if err != nil {
			return err
		}
		if source == SourceConfig {
			return apierr.New(apierr.Conflict, "override %d is defined in the config file; remove it there", id)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM oncall_overrides WHERE id = ?`, id)
		return err
	})
}

// OnCallNow is one schedule's current on-call person.
type OnCallNow struct {
	Schedule string    `json:"schedule"`
	User     string    `json:"user,omitempty"`
	Layer    int       `json:"layer"`
	At       time.Time `json:"at"`
}

// WhoIsOnCall returns every schedule's on-call person at t, by schedule name.
func (o *OnCall) WhoIsOnCall(t time.Time) []OnCallNow {
	c := o.catalog()
	names := make([]string, 0, len(c.schedules))
	for n := range c.schedules {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]OnCallNow, 0, len(names))
	for _, n := range names {
		sh, ok := c.schedules[n].At(t)
		e := OnCallNow{Schedule: n, At: t.UTC(), Layer: sh.Layer}
		if ok {
			e.User = sh.User
		}
		out = append(out, e)
	}
	return out
}

// OnCallAt returns who is on call on schedule name at t ("" for nobody).
func (o *OnCall) OnCallAt(name string, t time.Time) (string, error) {
	s := o.catalog().schedules[name]
	if s == nil {
		return "", apierr.New(apierr.NotFound, "schedule %q not found", name)
	}
	sh, ok := s.At(t)
	if !ok {
		return "", nil
	}
	return sh.User, nil
}

func cloneStrings(s []string) []string { return slices.Clone(s) }
