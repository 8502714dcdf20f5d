// Package health runs health checks and serves them at /livez, /readyz and
// /healthz as application/health+json (the IETF "Health Check Response
// Format for HTTP APIs" draft).
//
// Checks are registered with a name, a criticality, a timeout (default 5s),
// an optional cache interval and tags ("live", "ready"). An assessment runs
// the selected checks concurrently, each under its own timeout, so it takes
// as long as the slowest check's timeout, not the sum. The aggregate is Down
// (HTTP 503) if a critical check is Down; Warn (200, status "warn") if a
// non-critical check is Down or any check warns; else Up.
package health

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/vigilhq/vigil/sdk/metric"
)

// Status is a check's or an assessment's state, ordered Up < Warn < Down.
type Status int

// Statuses.
const (
	Up Status = iota
	Warn
	Down
)

// String returns the health+json spelling: pass, warn, fail.
func (s Status) String() string {
	switch s {
	case Up:
		return "pass"
	case Warn:
		return "warn"
	}
	return "fail"
}

// Tags used by the handlers.
const (
	TagLive  = "live"
	TagReady = "ready"
)

// DefaultTimeout bounds a check that sets no timeout.
const DefaultTimeout = 5 * time.Second

// ErrDuplicate is returned when a check name is registered twice.
var ErrDuplicate = errors.New("health check already registered")

// Observation is one measured value of a check, reported under the key
// "name:measure".
type Observation struct {
	Measure string // e.g. "responseTime", "connections"
	Value   any
	Unit    string // e.g. "ms"
}

// Result is what a check returns.
type Result struct {
	Status        Status
	Output        string // why it is not Up, or a note
	ComponentType string // "datastore", "system", "component", ...
	Observations  []Observation
}

// Check tests one dependency. It must return when ctx is done.
type Check func(ctx context.Context) Result

// ErrorCheck adapts a function returning an error: nil is Up, an error is
// Down with the error as output.
func ErrorCheck(f func(ctx context.Context) error) Check {
	return func(ctx context.Context) Result {
		if err := f(ctx); err != nil {
			return Result{Status: Down, Output: err.Error()}
		}
		return Result{Status: Up}
	}
}

// Option configures a registered check.
type Option func(*check)

// NonCritical makes a Down result degrade the aggregate to Warn, not Down.
func NonCritical() Option { return func(c *check) { c.critical = false } }

// Timeout bounds one run of the check (default 5s).
func Timeout(d time.Duration) Option { return func(c *check) { c.timeout = d } }

// CacheFor reuses a result for d instead of running the check again.
func CacheFor(d time.Duration) Option { return func(c *check) { c.cache = d } }

// Tags select the endpoints that run the check: TagLive for /livez,
// TagReady for /readyz. Every check runs for /healthz.
func Tags(tags ...string) Option { return func(c *check) { c.tags = append(c.tags, tags...) } }

// ComponentType sets the check's componentType when the check leaves it empty.
func ComponentType(t string) Option { return func(c *check) { c.componentType = t } }

type check struct {
	name          string
	fn            Check
	critical      bool
	timeout       time.Duration
	cache         time.Duration
	tags          []string
	componentType string

	mu      sync.Mutex
	last    CheckResult
	hasLast bool
}

// CheckResult is a check's result in an assessment.
type CheckResult struct {
	Name     string
	Critical bool
	Result
	Time     time.Time // when it ran
	Duration time.Duration
	Cached   bool
}

// Report is one assessment.
type Report struct {
	Status Status
	Checks []CheckResult // sorted by name
}

// Listener hears about a check whose status changed.
type Listener func(name string, old, new Status)

// Options configure New. The zero value means defaults.
type Options struct {
	// Registry receives health_check_status and health_check_duration_seconds
	// (metric.Default() when nil).
	Registry *metric.Registry
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Optional top-level fields of the health+json response.
	ServiceID, Version, ReleaseID, Description string
}

// Checks holds registered checks. It is safe for concurrent use.
type Checks struct {
	info      Options
	now       func() time.Time
	statusG   *metric.Gauge
	durationH *metric.Histogram

	mu        sync.Mutex
	checks    map[string]*check
	listeners []Listener
}

// Health is the former name of Checks.
//
// Deprecated: use Checks.
type Health = Checks

// New returns an empty set of checks.
func New(o Options) *Checks {
	if o.Registry == nil {
		o.Registry = metric.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Checks{
		info:   o,
		now:    o.Now,
		checks: make(map[string]*check),
		statusG: o.Registry.Gauge("health_check_status",
			"Health check status: 1 pass, 0.5 warn, 0 fail."),
		durationH: o.Registry.Histogram("health_check_duration_seconds",
			"Health check run time.", metric.WithUnit("s"),
			metric.WithBuckets(.001, .005, .01, .05, .1, .5, 1, 5, 10)),
	}
}

// Register adds a check. A check is critical unless NonCritical is given.
func (h *Checks) Register(name string, fn Check, opts ...Option) error {
	if name == "" || fn == nil {
		return errors.New("register health check: name and check are required")
	}
	c := &check{name: name, fn: fn, critical: true, timeout: DefaultTimeout}
	for _, o := range opts {
		o(c)
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.checks[name]; ok {
		return fmt.Errorf("register health check %q: %w", name, ErrDuplicate)
	}
	h.checks[name] = c
	return nil
}

// Unregister removes a check.
func (h *Checks) Unregister(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.checks, name)
}

// OnChange adds a listener called (synchronously, after the check ran)
// whenever a check's status differs from its previous run.
func (h *Checks) OnChange(l Listener) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.listeners = append(h.listeners, l)
}

// Gate registers a critical check tagged ready that is Down ("starting")
// until the returned function is called: a startup gate for migrations,
// cache warm-up and the like.
func (h *Checks) Gate(name string) (open func(), err error) {
	var once sync.Once
	done := make(chan struct{})
	err = h.Register(name, func(context.Context) Result {
		select {
		case <-done:
			return Result{Status: Up, ComponentType: "system"}
		default:
			return Result{Status: Down, Output: "starting", ComponentType: "system"}
		}
	}, Tags(TagReady))
	return func() { once.Do(func() { close(done) }) }, err
}

// Filter selects checks for an assessment.
type Filter struct {
	Tag     string   // only checks with this tag; "" for all
	Exclude []string // names to leave out
}

// Run assesses the selected checks concurrently and aggregates them.
func (h *Checks) Run(ctx context.Context, f Filter) Report {
	h.mu.Lock()
	var sel []*check
	for _, c := range h.checks {
		if f.Tag != "" && !slices.Contains(c.tags, f.Tag) || slices.Contains(f.Exclude, c.name) {
			continue
		}
		sel = append(sel, c)
	}
	listeners := slices.Clone(h.listeners)
	h.mu.Unlock()

	results := make([]CheckResult, len(sel))
	var wg sync.WaitGroup
	for i, c := range sel {
		wg.Go(func() { results[i] = h.runOne(ctx, c, listeners) })
	}
	wg.Wait()
	slices.SortFunc(results, func(a, b CheckResult) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return Report{Status: Aggregate(results), Checks: results}
}

// Aggregate combines results: a critical Down is Down; a non-critical Down
// or any Warn is Warn; otherwise Up.
func Aggregate(results []CheckResult) Status {
	s := Up
	for _, r := range results {
		switch {
		case r.Status == Down && r.Critical:
			return Down
		case r.Status != Up:
			s = Warn
		}
	}
	return s
}

func (h *Checks) runOne(ctx context.Context, c *check, listeners []Listener) CheckResult {
	now := h.now()
	c.mu.Lock()
	if c.hasLast && c.cache > 0 && now.Sub(c.last.Time) < c.cache {
		r := c.last
		c.mu.Unlock()
		r.Cached = true
		return r
	}
	c.mu.Unlock()

	res, took := runWithTimeout(ctx, c.fn, c.timeout)
	if res.ComponentType == "" {
		res.ComponentType = c.componentType
	}
	r := CheckResult{Name: c.name, Critical: c.critical, Result: res, Time: now, Duration: took}

	c.mu.Lock()
	old, had := c.last.Status, c.hasLast
	c.last, c.hasLast = r, true
	c.mu.Unlock()

	h.statusG.With("check", c.name).Set(statusValue(res.Status))
	h.durationH.With("check", c.name).Observe(took.Seconds())
	if had && old != res.Status {
		for _, l := range listeners {
			l(c.name, old, res.Status)
		}
	}
	return r
}

func statusValue(s Status) float64 {
	switch s {
	case Up:
		return 1
	case Warn:
		return 0.5
	}
	return 0
}

// runWithTimeout runs fn in its own goroutine and stops waiting after
// timeout. A check that ignores its context keeps its goroutine until it
// returns; the assessment does not wait for it.
func runWithTimeout(ctx context.Context, fn Check, timeout time.Duration) (Result, time.Duration) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ch := make(chan Result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- Result{Status: Down, Output: fmt.Sprintf("check panicked: %v", p)}
			}
		}()
		ch <- fn(ctx)
	}()
	select {
	case r := <-ch:
		return r, time.Since(start)
	case <-ctx.Done():
		took := time.Since(start)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Result{Status: Down, Output: fmt.Sprintf("timed out after %s", timeout)}, took
		}
		return Result{Status: Down, Output: fmt.Sprintf("canceled: %v", ctx.Err())}, took
	}
}
