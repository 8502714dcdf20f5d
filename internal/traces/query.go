package traces

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/vigilhq/vigil/internal/telemetrydb"
)

// catalog keeps the services and operations seen, so the Jaeger
// services/operations endpoints do not scan the store. It is kept as spans
// are committed (a new service is listed as soon as its spans are stored)
// and loaded once when the store opens. Each operation remembers the
// newest partition that holds it; partitions are dropped oldest first, so
// once the oldest partition left is past that one, no span of the
// operation is left and it leaves the catalog (prune), without scanning.
type catalog struct {
	mu  sync.RWMutex
	ops map[string]map[Operation]int64 // service → operation → newest partition
	n   int
	// oldest is the oldest partition when the catalog was last pruned.
	oldest int64
}

// maxCatalog bounds the catalog; beyond it new names are not listed.
const maxCatalog = 200_000

// Operation is a span name with its kind, as Jaeger lists them.
type Operation struct {
	Name     string
	SpanKind string // "", server, client, producer, consumer, internal
}

func newCatalog() *catalog { return &catalog{ops: map[string]map[Operation]int64{}} }

// add records an operation stored in partition seq (or an older one).
func (c *catalog) add(service, name string, kind ptrace.SpanKind, seq int64) {
	op := Operation{Name: name, SpanKind: jaegerSpanKind(kind)}
	c.mu.RLock()
	have, ok := c.ops[service][op]
	c.mu.RUnlock()
	if ok && have >= seq {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.ops[service]
	have, ok = m[op]
	switch {
	case ok:
		m[op] = max(have, seq)
	case c.n < maxCatalog:
		if m == nil {
			m = map[Operation]int64{}
			c.ops[service] = m
		}
		m[op] = seq
		c.n++
	}
}

// prune drops the operations whose newest partition is older than oldest,
// the oldest partition left, and services left with none.
func (c *catalog) prune(oldest int64) {
	c.mu.RLock()
	done := oldest <= c.oldest
	c.mu.RUnlock()
	if done {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if oldest <= c.oldest {
		return
	}
	for svc, m := range c.ops {
		for op, seq := range m {
			if seq < oldest {
				delete(m, op)
				c.n--
			}
		}
		if len(m) == 0 {
			delete(c.ops, svc)
		}
	}
	c.oldest = oldest
}

// load fills the catalog from the store: the distinct operations of each
// partition, once, when the store opens.
func (c *catalog) load(ctx context.Context, db *telemetrydb.DB) error {
	fresh := map[string]map[Operation]int64{}
	n := 0
	err := db.QueryEach(ctx, "SELECT DISTINCT service, name, kind FROM {{spans}} LIMIT "+strconv.Itoa(maxCatalog), nil, func(seq int64, rows *sql.Rows) error {
		for rows.Next() {
			var service, name string
			var kind uint8
			if err := rows.Scan(&service, &name, &kind); err != nil {
				return err
			}
			m := fresh[service]
			if m == nil {
				m = map[Operation]int64{}
				fresh[service] = m
			}
			op := Operation{Name: name, SpanKind: jaegerSpanKind(ptrace.SpanKind(kind))}
			if _, ok := m[op]; !ok {
				if n >= maxCatalog {
					continue
				}
				n++
			}
			m[op] = seq // partitions come oldest first
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("load service catalog: %w", err)
	}
	c.mu.Lock()
	c.ops, c.n, c.oldest = fresh, n, db.OldestPartition()
	c.mu.Unlock()
	return nil
}

// Services returns the service names, sorted.
func (s *Store) Services() []string {
	c := s.catalog
	c.prune(s.db.OldestPartition())
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]string, 0, len(c.ops))
	for svc := range c.ops {
		out = append(out, svc)
	}
	sort.Strings(out)
	return out
}

// Operations returns the operations of service, sorted, optionally only
// those of one span kind.
func (s *Store) Operations(service, spanKind string) []Operation {
	c := s.catalog
	c.prune(s.db.OldestPartition())
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := []Operation{}
	for op := range c.ops[service] {
		if spanKind == "" || op.SpanKind == spanKind {
			out = append(out, op)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].SpanKind < out[j].SpanKind
	})
	return out
}

// TraceQuery selects traces having at least one span matching every
// condition. Times are Unix ns; zero durations mean no bound.
type TraceQuery struct {
	Service     string
	Operation   string
	Tags        map[string]string
	StartMin    int64
	StartMax    int64
	DurationMin int64
	DurationMax int64
	Limit       int
}

// GetTrace returns the trace with the given ID, or found=false.
func (s *Store) GetTrace(ctx context.Context, id pcommon.TraceID) (ptrace.Traces, bool, error) {
	hi, lo := traceIDParts(id)
	tk := traceKey{hi, lo}
	traces, err := s.fetch(ctx, []traceKey{tk})
	if err != nil {
		return ptrace.Traces{}, false, err
	}
	td, ok := traces[tk]
	return td, ok, nil
}

// fetch loads whole traces: from the blocks whose trace-ID filter may hold
// them (see idindex.go), or, when some block has no such filter, first
// their time bounds from trace_index, then their spans from the
// partitions and row groups in those bounds.
func (s *Store) fetch(ctx context.Context, keys []traceKey) (map[traceKey]ptrace.Traces, error) {
	if len(keys) == 0 {
		return map[traceKey]ptrace.Traces{}, nil
	}
	if !s.noIndex {
		if bs, ok := s.blocks.idBlocks(keys); ok {
			if rs := idRanges(bs); len(rs) <= maxBlockRanges {
				return s.fetchBlocks(ctx, keys, rs)
			}
		}
	}
	// filter: only the partitions whose trace ID filter may hold one of the IDs.
	want, idFilter, filter := idTerms(keys)
	var lo, hi int64
	found := false
	err := s.db.Query(ctx, telemetrydb.TimeRange{Keys: filter}, "SELECT trace_hi, trace_lo, min(min_start_ns), max(max_start_ns) FROM {{trace_index}} WHERE "+idFilter+" GROUP BY 1, 2", nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var th, tl uint64
			var a, b int64
			if err := rows.Scan(&th, &tl, &a, &b); err != nil {
				return err
			}
			if !want[traceKey{th, tl}] {
				continue
			}
			if !found {
				lo, hi, found = a, b, true
			} else {
				lo, hi = min(lo, a), max(hi, b)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up trace index: %w", err)
	}
	if !found {
		return map[traceKey]ptrace.Traces{}, nil
	}
	var spans []storedSpan
	err = s.db.Query(ctx, telemetrydb.TimeRange{From: lo, To: hi, Keys: filter},
		"SELECT "+spanColumns+" FROM {{spans}} WHERE start_ns BETWEEN ? AND ? AND "+idFilter, []any{lo, hi},
		func(rows *sql.Rows) error {
			var err error
			spans, err = scanSpans(rows, spans)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("read spans: %w", err)
	}
	return s.assemble(ctx, spans, want, telemetrydb.TimeRange{Keys: filter})
}

// idTerms are what a fetch of keys asks with: the set of them, the SQL
// condition on trace_hi and trace_lo (a superset: each ID's halves are
// matched apart, so rows are checked against want), and the keys of the
// partitions' trace ID filters.
func idTerms(keys []traceKey) (want map[traceKey]bool, idFilter string, filter [][]byte) {
	want = make(map[traceKey]bool, len(keys))
	his, los := make([]string, 0, len(keys)), make([]string, 0, len(keys))
	filter = make([][]byte, 0, len(keys))
	for _, k := range keys {
		want[k] = true
		his = append(his, strconv.FormatUint(k.hi, 10))
		los = append(los, strconv.FormatUint(k.lo, 10))
		filter = append(filter, telemetrydb.Key(k.hi, k.lo))
	}
	idFilter = fmt.Sprintf("trace_hi IN (%s) AND trace_lo IN (%s)", strings.Join(his, ","), strings.Join(los, ","))
	return want, idFilter, filter
}

// idRangesPerQuery caps the block runs one query of fetchBlocks reads.
const idRangesPerQuery = 16

// fetchBlocks loads whole traces from the block runs rs, which hold every
// span of them: only those blocks' rows of spans, and their resources'
// rows, which are written in the same request and so start in the same
// time bounds. trace_index is not read.
func (s *Store) fetchBlocks(ctx context.Context, keys []traceKey, rs []blockRange) (map[traceKey]ptrace.Traces, error) {
	if len(rs) == 0 {
		return map[traceKey]ptrace.Traces{}, nil
	}
	lo, hi := timeSpan(rs)
	want, idFilter, filter := idTerms(keys)
	var spans []storedSpan
	// One UNION ALL branch per run of blocks; DuckDB's memory grows with
	// the branches of one query (a search's 60 IDs in 180 runs ran out of
	// 256 MiB), so at most idRangesPerQuery per query.
	for len(rs) > 0 {
		n := min(len(rs), idRangesPerQuery)
		var q strings.Builder
		for i, r := range rs[:n] {
			if i > 0 {
				q.WriteString(" UNION ALL ")
			}
			fmt.Fprintf(&q, "SELECT %s FROM {{spans:%d:%d}} WHERE start_ns BETWEEN %d AND %d AND ", spanColumns, r.minTs, r.maxTs, r.minTs, r.maxTs)
			if r.lo == r.hi {
				fmt.Fprintf(&q, "blk = %d", r.lo)
			} else {
				fmt.Fprintf(&q, "blk BETWEEN %d AND %d", r.lo, r.hi)
			}
			q.WriteString(" AND " + idFilter)
		}
		err := s.db.Query(ctx, telemetrydb.TimeRange{Keys: filter}, q.String(), nil, func(rows *sql.Rows) error {
			var err error
			spans, err = scanSpans(rows, spans)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("read spans: %w", err)
		}
		rs = rs[n:]
	}
	return s.assemble(ctx, spans, want, telemetrydb.TimeRange{From: lo, To: hi, Keys: filter})
}

// assemble builds the traces in want from the spans read for them (which
// may hold others: the ID condition is a superset), with their resources
// read from res.
func (s *Store) assemble(ctx context.Context, spans []storedSpan, want map[traceKey]bool, res telemetrydb.TimeRange) (map[traceKey]ptrace.Traces, error) {
	kept := spans[:0]
	resIDs := map[uint64]bool{}
	for _, sp := range spans {
		if want[traceKey{sp.traceHi, sp.traceLo}] {
			kept = append(kept, sp)
			resIDs[sp.resourceID] = true
		}
	}
	if err := s.loadResources(ctx, kept, resIDs, res); err != nil {
		return nil, err
	}
	_, traces, err := toTraces(kept)
	return traces, err
}

// loadResources fills the spans' resource fields from the resources table,
// read in the partitions that may hold the traces' keys (a request writes
// its spans' resources beside them), and, when tr has times, only its rows
// whose first_ns is in them.
func (s *Store) loadResources(ctx context.Context, spans []storedSpan, ids map[uint64]bool, tr telemetrydb.TimeRange) error {
	if len(ids) == 0 {
		return nil
	}
	// Every row of one id holds the same resource (the id is its hash),
	// and one request's resource row sits beside every span of it: one
	// row per id is enough, and LIMIT 1 stops the scan at the first, so
	// the lookup does not grow with the number of requests stored.
	times := ""
	if tr.From != 0 || tr.To != 0 {
		times = fmt.Sprintf(" AND first_ns BETWEEN %d AND %d", tr.From, tr.To)
	}
	list := make([]string, 0, len(ids))
	for id := range ids {
		list = append(list, "(SELECT id, attrs, dropped, schema_url FROM {{resources}} WHERE id = "+strconv.FormatUint(id, 10)+times+" LIMIT 1)")
	}
	type res struct {
		attrs, schema string
		dropped       uint32
	}
	found := map[uint64]res{}
	err := s.db.Query(ctx, tr, strings.Join(list, " UNION ALL "), nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var id uint64
			var r res
			if err := rows.Scan(&id, &r.attrs, &r.dropped, &r.schema); err != nil {
				return err
			}
			found[id] = r
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read resources: %w", err)
	}
	for i := range spans {
		r, ok := found[spans[i].resourceID]
		if !ok {
			return fmt.Errorf("resource %d of span %016x not found", spans[i].resourceID, spans[i].spanID)
		}
		spans[i].resourceAttrs, spans[i].resourceSchemaURL, spans[i].resourceDropped = r.attrs, r.schema, r.dropped
	}
	return nil
}

// FindTraces returns up to q.Limit traces, newest first, each whole.
func (s *Store) FindTraces(ctx context.Context, q TraceQuery) ([]ptrace.Traces, error) {
	keys, err := s.FindTraceIDs(ctx, q)
	if err != nil {
		return nil, err
	}
	traces, err := s.fetch(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]ptrace.Traces, 0, len(keys))
	for _, k := range keys {
		if td, ok := traces[k]; ok {
			out = append(out, td)
		}
	}
	return out, nil
}

// FindTraceIDs returns the IDs of up to q.Limit matching traces, newest
// first. It searches backwards from StartMax in growing windows and stops
// as soon as it has enough, so a common match costs little however much
// is stored.
func (s *Store) FindTraceIDs(ctx context.Context, q TraceQuery) ([]traceKey, error) {
	if q.Limit <= 0 {
		q.Limit = 20
	}
	var where []string
	var args []any
	if q.Service != "" {
		where = append(where, "service = ?")
		args = append(args, q.Service)
	}
	if q.Operation != "" {
		where = append(where, "name = ?")
		args = append(args, q.Operation)
	}
	if q.DurationMin > 0 {
		where = append(where, "duration_ns >= ?")
		args = append(args, q.DurationMin)
	}
	if q.DurationMax > 0 {
		where = append(where, "duration_ns <= ?")
		args = append(args, q.DurationMax)
	}
	tags := make([]string, 0, len(q.Tags))
	for k := range q.Tags {
		tags = append(tags, k)
	}
	sort.Strings(tags)
	for _, k := range tags {
		w, a := tagCondition(k, q.Tags[k])
		where = append(where, w)
		args = append(args, a...)
	}
	cond := ""
	for _, w := range where {
		cond += " AND " + w
	}
	end := q.StartMax
	if end == 0 {
		end = s.opts.Now().UnixNano()
	}
	start := q.StartMin
	// Nothing is newer than the newest span stored: begin the windows there.
	if lo, hi, ok := s.db.TimeBounds(); !ok {
		return nil, nil
	} else {
		end = min(end, hi)
		start = max(start, lo)
	}
	var keys []traceKey
	seen := map[traceKey]bool{}
	var needs []tagNeed
	if !s.noIndex {
		needs = queryNeeds(q)
	}
	// The blocks the tag index cannot rule out, checked once for the
	// whole range when few may match (else for each window).
	all, allOK := s.blocks.ranges(start, end, needs)
	// Start small: with a common match the newest seconds hold enough traces.
	window := int64(time.Second)
	for hi := end; hi >= start && len(keys) < q.Limit; {
		lo := max(start, hi-window)
		// Only the blocks the tag index cannot rule out, unless most may
		// match.
		src := "{{spans}}"
		rs, ok := overlapping(all, lo, hi), allOK
		if !allOK {
			rs, ok = s.blocks.ranges(lo, hi, needs)
		}
		if ok {
			if len(rs) == 0 {
				if lo == start || lo <= 0 {
					break
				}
				hi = lo - 1
				window = nextWindow(window)
				continue
			}
			src = blockSource(rs)
		}
		qargs := append([]any{lo, hi}, args...)
		sqlText := "SELECT trace_hi, trace_lo, max(start_ns) AS m FROM " + src + " WHERE start_ns BETWEEN ? AND ?" + cond +
			" GROUP BY 1, 2 ORDER BY m DESC LIMIT " + strconv.Itoa(q.Limit-len(keys))
		err := s.db.Query(ctx, telemetrydb.TimeRange{From: lo, To: hi}, sqlText, qargs, func(rows *sql.Rows) error {
			for rows.Next() {
				var k traceKey
				var m int64
				if err := rows.Scan(&k.hi, &k.lo, &m); err != nil {
					return err
				}
				if !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("search traces: %w", err)
		}
		if lo == start || lo <= 0 {
			break
		}
		hi = lo - 1
		window = nextWindow(window)
	}
	return keys, nil
}

// overlapping returns the ranges of rs with spans starting in [lo, hi].
func overlapping(rs []blockRange, lo, hi int64) []blockRange {
	var out []blockRange
	for _, r := range rs {
		if r.maxTs >= lo && r.minTs <= hi {
			out = append(out, r)
		}
	}
	return out
}

// nextWindow is the search window after one of w: four times as long, up
// to a day.
func nextWindow(w int64) int64 {
	if w < int64(24*time.Hour) {
		return w * 4
	}
	return w
}

// Dependency is a count of calls from spans of Parent to child spans of
// Child.
type Dependency struct {
	Parent, Child string
	CallCount     uint64
}

// Dependencies counts parent→child calls between services, a service
// calling itself included (as Jaeger counts them), among
// spans that started in [end-lookback, end].
func (s *Store) Dependencies(ctx context.Context, end time.Time, lookback time.Duration) ([]Dependency, error) {
	hi := end.UnixNano()
	lo := end.Add(-lookback).UnixNano()
	var out []Dependency
	err := s.db.Query(ctx, telemetrydb.TimeRange{From: lo, To: hi}, `
		SELECT p.service, c.service, count(*)
		FROM (SELECT trace_hi, trace_lo, parent_span_id, service FROM {{spans}} WHERE start_ns BETWEEN ? AND ? AND parent_span_id <> 0) c
		JOIN (SELECT trace_hi, trace_lo, span_id, service FROM {{spans}} WHERE start_ns BETWEEN ? AND ?) p
		  ON c.trace_hi = p.trace_hi AND c.trace_lo = p.trace_lo AND c.parent_span_id = p.span_id
		GROUP BY 1, 2 ORDER BY 1, 2`, []any{lo, hi, lo, hi}, func(rows *sql.Rows) error {
		for rows.Next() {
			var d Dependency
			if err := rows.Scan(&d.Parent, &d.Child, &d.CallCount); err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("compute dependencies: %w", err)
	}
	return out, nil
}

// flatTagCondition matches k=v against map attributes by flattened name:
// tl.map.k1=v1 finds a span whose attribute tl.map is a map holding k1=v1
// (one level of nesting: for each dot of k, the part before it naming a
// top-level map attribute and the part after it a key of that map). The
// plain search cannot see the nesting, so this one parses the attribute
// list as JSON, but only for spans that have such a map (the contains()
// before it).
func flatTagCondition(k, v string) ([]string, []any) {
	var ors []string
	var args []any
	vals := tagValues(v)
	in := strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")
	for i := 0; i < len(k); i++ {
		if k[i] != '.' || i == 0 || i == len(k)-1 {
			continue
		}
		outer, inner := k[:i], k[i+1:]
		ors = append(ors, `(contains(attrs, ?) AND EXISTS (
			SELECT 1 FROM (SELECT unnest(from_json(attrs, '["JSON"]')) AS e) a
			WHERE e->>0 = ? AND EXISTS (
				SELECT 1 FROM (SELECT unnest(from_json(e->'$[1].m', '["JSON"]')) AS f) b
				WHERE f->>0 = ? AND (f->>1 = ? AND json_type(f->1) = 'VARCHAR' OR CAST(f->1 AS VARCHAR) IN (`+in+`)))))`)
		args = append(args, mapNeedle(outer), outer, inner, v)
		for _, val := range vals {
			args = append(args, val)
		}
	}
	return ors, args
}

// tagCondition is the SQL condition for a Jaeger tag filter k=v: the span's
// attributes, its events' fields, the tags Jaeger derives from span fields,
// or its resource's attributes.
func tagCondition(k, v string) (string, []any) {
	var ors []string
	var args []any
	needles := tagNeedles(k, v)
	for _, n := range needles {
		ors = append(ors, "contains(attrs, ?)", "contains(events, ?)")
		args = append(args, n, n)
	}
	w, a := flatTagCondition(k, v)
	ors = append(ors, w...)
	args = append(args, a...)
	switch k {
	case "event":
		ors = append(ors, "contains(events, ?)")
		args = append(args, eventNameNeedle(v))
	case "span.kind":
		for kind := ptrace.SpanKindUnspecified; kind <= ptrace.SpanKindConsumer; kind++ {
			if jaegerSpanKind(kind) == v && v != "" {
				ors = append(ors, "kind = ?")
				args = append(args, uint8(kind))
			}
		}
	case "error":
		switch v {
		case "true":
			ors = append(ors, "status_code = ?")
			args = append(args, uint8(ptrace.StatusCodeError))
		}
	case "otel.status_code":
		switch v {
		case "OK":
			ors = append(ors, "status_code = ?")
			args = append(args, uint8(ptrace.StatusCodeOk))
		case "ERROR":
			ors = append(ors, "status_code = ?")
			args = append(args, uint8(ptrace.StatusCodeError))
		}
	case "otel.status_description":
		ors = append(ors, "status_message = ?")
		args = append(args, v)
	case "otel.scope.name":
		ors = append(ors, "scope_name = ?")
		args = append(args, v)
	case "otel.scope.version":
		ors = append(ors, "scope_version = ?")
		args = append(args, v)
	case "w3c.tracestate":
		ors = append(ors, "trace_state = ?")
		args = append(args, v)
	}
	var res []string
	for _, n := range needles {
		res = append(res, "contains(attrs, ?)")
		args = append(args, n)
	}
	ors = append(ors, "resource_id IN (SELECT id FROM {{resources}} WHERE "+strings.Join(res, " OR ")+")")
	return "(" + strings.Join(ors, " OR ") + ")", args
}
