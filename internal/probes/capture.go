package probes

import (
	"bytes"
	"context"
	"log/slog"
	"sync"

	"github.com/prometheus/common/promslog"
)

// capture is the slog.Handler a run's prober logs to. It keeps the records
// (cheap: nothing is formatted) so that a failing run's log can be
// rendered as the blackbox exporter's debug output, and so that the values
// conditions need ([DNS_RCODE], [IP], [CONNECTED]) can be read from the
// prober's own structured fields.
type capture struct {
	log   *captureLog // shared with the handlers WithAttrs derives
	attrs []slog.Attr
	// prefix is added to every line when rendered (module, target), as
	// the exporter's logger.With does, without a copy of each record.
	prefix []slog.Attr
}

// captureLog is a run's records. Their slice comes from recordPool and
// goes back to it when the run is over (release): an HTTP run logs ~8
// records of ~250 bytes, and a fresh slice per run was ~8% of the bytes a
// run allocated. A record logged after release (a prober goroutine that
// outlives its run) is dropped rather than written into a slice another
// run now uses.
type captureLog struct {
	mu       sync.Mutex
	records  []slog.Record
	buf      *[]slog.Record // records' pool entry
	released bool
}

var recordPool = sync.Pool{New: func() any {
	rs := make([]slog.Record, 0, 12)
	return &rs
}}

func newCapture(prefix ...slog.Attr) *capture {
	rs := recordPool.Get().(*[]slog.Record)
	return &capture{log: &captureLog{records: (*rs)[:0], buf: rs}, prefix: prefix}
}

// release ends the capture: its records go back to the pool, and later
// records are dropped. Records that all, find and firstError returned
// stay valid (they are copies).
func (c *capture) release() {
	l := c.log
	l.mu.Lock()
	rs, buf := l.records, l.buf
	l.records, l.buf, l.released = nil, nil, true
	l.mu.Unlock()
	if buf == nil || cap(rs) > 64 {
		return // released already, or an unusually chatty run: let the collector have it
	}
	clear(rs) // no references kept from the pool
	*buf = rs[:0]
	recordPool.Put(buf)
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }

func (c *capture) Handle(_ context.Context, r slog.Record) error {
	if len(c.attrs) > 0 {
		// Logger.With attributes first, as slog's own handlers print them.
		n := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		n.AddAttrs(c.attrs...)
		r.Attrs(func(a slog.Attr) bool { n.AddAttrs(a); return true })
		r = n
	}
	c.log.mu.Lock()
	if !c.log.released {
		c.log.records = append(c.log.records, r)
	}
	c.log.mu.Unlock()
	return nil
}

func (c *capture) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := *c
	n.attrs = append(append([]slog.Attr(nil), c.attrs...), attrs...)
	return &n
}

func (c *capture) WithGroup(string) slog.Handler { return c }

// all returns the records so far.
func (c *capture) all() []slog.Record {
	c.log.mu.Lock()
	defer c.log.mu.Unlock()
	return append([]slog.Record(nil), c.log.records...)
}

// find returns the value of attr key in the last record with message msg.
func (c *capture) find(key string, msgs ...string) (slog.Value, bool) {
	rs := c.all()
	for i := len(rs) - 1; i >= 0; i-- {
		for _, m := range msgs {
			if rs[i].Message != m {
				continue
			}
			var v slog.Value
			found := false
			rs[i].Attrs(func(a slog.Attr) bool {
				if a.Key == key {
					v, found = a.Value, true
					return false
				}
				return true
			})
			if found || key == "" {
				return v, true
			}
		}
	}
	return slog.Value{}, false
}

// firstError is the first record at error level: what made the run fail.
func (c *capture) firstError() (slog.Record, bool) {
	for _, r := range c.all() {
		if r.Level >= slog.LevelError {
			return r, true
		}
	}
	return slog.Record{}, false
}

// text renders the records as logfmt, as the blackbox exporter's debug
// output shows them.
func (c *capture) text() *bytes.Buffer {
	var buf bytes.Buffer
	lvl := promslog.NewLevel()
	_ = lvl.Set("debug")
	h := promslog.New(&promslog.Config{Writer: &buf, Level: lvl}).Handler().WithAttrs(c.prefix)
	for _, r := range c.all() {
		_ = h.Handle(context.Background(), r)
	}
	return &buf
}
