package memlimit

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigilhq/vigil/internal/apierr"
)

// The governor's watermarks, as fractions of the limit.
const (
	DefaultHigh = 0.9
	DefaultLow  = 0.85
)

// Options configure a Governor. The zero value of a field is its default.
type Options struct {
	Limit int64 // required
	// High and Low are the watermarks (default DefaultHigh, DefaultLow):
	// ingestion is refused from High until the resident size is below Low.
	High, Low float64
	// Interval is how often the resident size is read (default 100ms).
	Interval time.Duration
	// RetryAfter is suggested to refused clients (default 1s).
	RetryAfter time.Duration
	// Resident reads the resident set size (default /proc/self/statm).
	Resident   func() (int64, error)
	Logger     *slog.Logger
	Registerer prometheus.Registerer
}

// Governor refuses ingestion while the process's resident memory is over
// its high watermark. Its methods are safe for concurrent use.
type Governor struct {
	opts      Options
	high, low int64
	rss       atomic.Int64
	over      atomic.Bool
	refused   prometheus.Counter
	freed     time.Time // the last FreeOSMemory (Run's goroutine only)
	log       *slog.Logger
}

// New returns a governor; Run starts its sampling.
func New(o Options) (*Governor, error) {
	if o.Limit <= 0 {
		return nil, fmt.Errorf("memlimit: a positive limit is required")
	}
	if o.High == 0 {
		o.High = DefaultHigh
	}
	if o.Low == 0 {
		o.Low = DefaultLow
	}
	if !(0 < o.Low && o.Low < o.High && o.High <= 1) {
		return nil, fmt.Errorf("memlimit: watermarks low %v and high %v must satisfy 0 < low < high <= 1", o.Low, o.High)
	}
	if o.Interval <= 0 {
		o.Interval = 100 * time.Millisecond
	}
	if o.RetryAfter <= 0 {
		o.RetryAfter = time.Second
	}
	if o.Resident == nil {
		o.Resident = resident
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Governor{
		opts: o,
		high: int64(float64(o.Limit) * o.High),
		low:  int64(float64(o.Limit) * o.Low),
		log:  o.Logger.With("component", "memlimit"),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vigil_memory_refused_requests_total",
			Help: "Ingest requests refused (503 / UNAVAILABLE, retryable) because resident memory was over memory_limit's high watermark.",
		}),
	}
	if o.Registerer != nil {
		cs := []prometheus.Collector{
			g.refused,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_memory_limit_bytes", Help: "memory_limit: the whole process's memory limit."},
				func() float64 { return float64(o.Limit) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_memory_resident_bytes", Help: "The process's resident set size at the governor's last sample."},
				func() float64 { return float64(g.rss.Load()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "vigil_memory_refusing", Help: "1 while ingestion is refused for memory (resident size over the high watermark, until under the low one)."},
				func() float64 {
					if g.over.Load() {
						return 1
					}
					return 0
				}),
		}
		for _, c := range cs {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("register memory metrics: %w", err)
			}
		}
	}
	g.sample()
	return g, nil
}

// Run samples the resident size every Interval until ctx is done.
func (g *Governor) Run(ctx context.Context) error {
	t := time.NewTicker(g.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			g.sample()
		}
	}
}

func (g *Governor) sample() {
	rss, err := g.opts.Resident()
	if err != nil {
		return // not Linux: the stores' own limits still hold
	}
	g.rss.Store(rss)
	switch {
	case !g.over.Load() && rss >= g.high:
		g.over.Store(true)
		g.log.Warn("resident memory over the limit's high watermark: refusing ingestion (retryable) until it is back under the low one",
			"resident", Size(rss), "memory_limit", Size(g.opts.Limit), "high", Size(g.high), "low", Size(g.low))
		g.free()
	case g.over.Load() && rss >= g.low:
		g.free()
	case g.over.Load() && rss < g.low:
		g.over.Store(false)
		g.log.Info("resident memory under the low watermark: taking ingestion again", "resident", Size(rss), "memory_limit", Size(g.opts.Limit))
	}
}

// free hands the heap the collector has freed back to the kernel now
// rather than over the next minutes, so that the resident size can fall
// under the low watermark while ingestion is refused: at most every 2s
// (it runs a full collection).
func (g *Governor) free() {
	if time.Since(g.freed) < 2*time.Second {
		return
	}
	debug.FreeOSMemory()
	g.freed = time.Now()
}

// Admit answers nil when an ingest request may proceed, else a retryable
// Unavailable error that says why (and counts the refusal).
func (g *Governor) Admit() error {
	if g == nil || !g.over.Load() {
		return nil
	}
	g.refused.Inc()
	return &apierr.Error{
		Code: apierr.Unavailable,
		Message: fmt.Sprintf("memory limit: Vigil's resident memory (%s) is over %d%% of memory_limit %s; ingestion resumes under %d%%; retry later",
			Size(g.rss.Load()), int(g.opts.High*100), Size(g.opts.Limit), int(g.opts.Low*100)),
		RetryAfter: g.opts.RetryAfter,
	}
}

// Refusing reports whether ingestion is being refused.
func (g *Governor) Refusing() bool { return g != nil && g.over.Load() }
