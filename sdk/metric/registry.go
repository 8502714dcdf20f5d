package metric

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Kind is the type of an instrument.
type Kind int

// Instrument kinds.
const (
	KindCounter Kind = iota + 1
	KindUpDownCounter
	KindGauge
	KindHistogram
	KindExpHistogram
)

func (k Kind) String() string {
	switch k {
	case KindCounter:
		return "counter"
	case KindUpDownCounter:
		return "updowncounter"
	case KindGauge:
		return "gauge"
	case KindHistogram:
		return "histogram"
	case KindExpHistogram:
		return "exponential histogram"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// DefaultCardinalityLimit is the number of series an instrument may have
// unless WithLimit says otherwise. It matches OpenTelemetry's default.
const DefaultCardinalityLimit = 2000

// Options configure a Registry. The zero value means defaults.
type Options struct {
	// CardinalityLimit is the default per-instrument series limit
	// (DefaultCardinalityLimit when zero).
	CardinalityLimit int
}

// Registry holds instruments. It is safe for concurrent use.
type Registry struct {
	limit int
	start time.Time

	mu     sync.Mutex
	insts  []instrument
	byName map[string]instrument

	overflowOnce sync.Once
	overflow     *Counter
}

type instrument interface {
	meta() *desc
	collect() []point
}

// desc is what every instrument knows about itself.
type desc struct {
	name, help, unit string
	kind             Kind
	intLabels        []string // labels exported to OpenTelemetry as integers
}

func (d *desc) meta() *desc { return d }

// New returns an empty registry.
func New(opts Options) *Registry {
	if opts.CardinalityLimit <= 0 {
		opts.CardinalityLimit = DefaultCardinalityLimit
	}
	return &Registry{limit: opts.CardinalityLimit, start: time.Now(), byName: make(map[string]instrument)}
}

var defaultRegistry = New(Options{})

// Default returns the process-wide registry that vigil.Start exports and
// that the SDK's own packages record their drop counters in.
func Default() *Registry { return defaultRegistry }

// Option configures one instrument.
type Option func(*instOpts)

type instOpts struct {
	unit      string
	intLabels []string
	limit     int
	strict    bool
	buckets   []float64
	maxSize   int
}

// WithIntLabels names labels whose values are integers (a port, a status
// code): Producer exports them as integer attributes, as the
// OpenTelemetry semantic conventions type them, rather than strings. A
// value that does not parse as an integer stays a string.
func WithIntLabels(names ...string) Option {
	return func(o *instOpts) { o.intLabels = slices.Clone(names) }
}

// WithUnit sets the instrument's unit (UCUM, e.g. "s", "By").
func WithUnit(unit string) Option { return func(o *instOpts) { o.unit = unit } }

// WithLimit sets the instrument's cardinality limit.
func WithLimit(n int) Option { return func(o *instOpts) { o.limit = n } }

// WithLimitError makes TryWith return an error past the cardinality limit,
// instead of returning the overflow series. With still never fails: past the
// limit it returns a series whose records are discarded (and counted).
func WithLimitError() Option { return func(o *instOpts) { o.strict = true } }

// WithBuckets sets a histogram's upper bounds (sorted, increasing).
func WithBuckets(bounds ...float64) Option {
	return func(o *instOpts) { o.buckets = slices.Clone(bounds) }
}

// WithMaxBuckets sets an exponential histogram's maximum number of buckets
// per sign (default 160).
func WithMaxBuckets(n int) Option { return func(o *instOpts) { o.maxSize = n } }

func (r *Registry) opts(opts []Option) instOpts {
	o := instOpts{limit: r.limit}
	for _, f := range opts {
		f(&o)
	}
	if o.limit <= 0 {
		o.limit = r.limit
	}
	return o
}

// register adds inst, or returns the instrument already registered under the
// same name and kind. It panics on an invalid name or a clash of kinds: both
// are programming errors found on first run.
func (r *Registry) register(d desc, mk func() instrument) instrument {
	if !validMetricName(d.name) {
		panic(fmt.Sprintf("metric: invalid metric name %q: want [a-zA-Z_:][a-zA-Z0-9_:.]*", d.name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.byName[d.name]; ok {
		if old.meta().kind != d.kind {
			panic(fmt.Sprintf("metric: %q registered as %s, requested as %s", d.name, old.meta().kind, d.kind))
		}
		return old
	}
	inst := mk()
	r.byName[d.name] = inst
	r.insts = append(r.insts, inst)
	return inst
}

func (r *Registry) instruments() []instrument {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.insts)
}

func (r *Registry) countOverflow(name string) {
	r.overflowOnce.Do(func() {
		r.overflow = r.Counter("vigil_sdk_metric_overflow_total",
			"Records that hit an instrument's cardinality limit (sent to the overflow series or rejected).")
	})
	if name == "vigil_sdk_metric_overflow_total" {
		return
	}
	r.overflow.With("metric", name).Inc()
}
