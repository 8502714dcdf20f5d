package logs

import (
	"context"
	"database/sql/driver"
	"fmt"
	"sync"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/logs/logql"
	"github.com/vigilhq/vigil/internal/telemetrydb"
)

// pending is one request on its way to the store.
type pending struct {
	rows    [][]driver.Value
	streams map[int64]*streamInfo // the request's streams
	records []tailRecord          // for tail subscribers
	bytes   int64
	derived map[derivedKey]derivedVal
	tail    bool // collect records for live tail
	// terms are the request's blocks in the term index, of perBlock
	// records each (the last may hold fewer): rows[i] is in terms[i/perBlock].
	terms    []*blockBuilder
	perBlock int
	extras   bool // a record has a value in extraColumns
}

var builders = sync.Pool{New: func() any { return new(blockBuilder) }}

// maxBlockLines caps the records of one block: a request of more is cut
// into blocks of equal size. DuckDB decompresses the lines of a 2048-row
// vector to read any of them, and a block of 2000 records nearly always
// straddles two vectors: a rare word in half-size blocks reads a quarter
// fewer vectors (DuckDB alone, 100 blocks of 10M lines: 50 -> 40.5 ms;
// the whole query 53 -> 43.5 ms). With one bit a trigram that took twice
// the bitsets' memory; the word-pair layout's 4.5 bits a trigram (see
// terms.go) keep it where it was (docs/perf/logs.md).
const maxBlockLines = 1024

func (s *Store) newPending(n int) *pending {
	k := max(1, (n+maxBlockLines-1)/maxBlockLines)
	return &pending{
		rows: make([][]driver.Value, 0, n), streams: map[int64]*streamInfo{}, derived: map[derivedKey]derivedVal{},
		tail: s.tail.count() > 0, terms: make([]*blockBuilder, 0, k), perBlock: max(1, (n+k-1)/k),
	}
}

func (p *pending) add(st *streamInfo, r *Record, serviceName string) {
	p.streams[st.id] = st
	var traceID, spanID, sevText, observed, sevNum any
	if r.TraceID != "" {
		traceID = r.TraceID
	}
	if r.SpanID != "" {
		spanID = r.SpanID
	}
	if r.SeverityText != "" {
		sevText = r.SeverityText
	}
	if r.ObservedTime != 0 {
		observed = r.ObservedTime
	}
	if r.SeverityNumber != 0 {
		sevNum = r.SeverityNumber
	}
	md := encodeMetadata(r.Metadata)
	if !p.extras && hasExtras(r, md) {
		p.extras = true
	}
	p.rows = append(p.rows, []driver.Value{
		r.Timestamp, st.id, levelCode(r.Level), r.Line, md,
		traceID, spanID, observed, sevText, sevNum, r.Flags, nil, // blk, set by commit
	})
	i := (len(p.rows) - 1) / p.perBlock
	if i == len(p.terms) {
		p.terms = append(p.terms, builders.Get().(*blockBuilder))
	}
	p.terms[i].add(r.Timestamp, r.Line)
	p.bytes += int64(len(r.Line))
	k := derivedKey{service: serviceName, level: r.Level}
	v := p.derived[k]
	v.records++
	v.bytes += int64(len(r.Line))
	p.derived[k] = v
	if p.tail {
		p.records = append(p.records, tailRecord{stream: st, rec: *r})
	}
}

// commit stores a request atomically and returns after it is durable.
func (s *Store) commit(ctx context.Context, p *pending) error {
	if len(p.rows) == 0 {
		for _, t := range p.terms {
			builders.Put(t)
		}
		return nil
	}
	start := time.Now()
	bs := make([]*block, len(p.terms))
	blockRows := make([][]driver.Value, len(p.terms))
	for i, t := range p.terms {
		bs[i] = &block{minTs: t.minTs, maxTs: t.maxTs, bits: t.finish(), layout: layoutWordPair}
		builders.Put(t)
	}
	s.blocks.register(bs...) // before the records can be seen
	for i, b := range bs {
		id := driver.Value(b.id) // boxed once, not once per row
		for _, r := range p.rows[i*p.perBlock : min(len(p.rows), (i+1)*p.perBlock)] {
			r[len(r)-1] = id
		}
		blockRows[i] = []driver.Value{b.id, encodeBits(b.bits, b.layout)}
	}
	part := s.db.CurrentPartition()
	if p.extras {
		s.markExtras(part) // before the records can be seen
	}
	streamRows := s.streamRows(p, part, false)
	err := s.db.Append(ctx,
		telemetrydb.Rows{Table: "logs", Values: p.rows},
		telemetrydb.Rows{Table: "log_streams", Values: streamRows},
		telemetrydb.Rows{Table: "log_blocks", Values: blockRows})
	s.m.commitSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		if apierr.CodeOf(err) != apierr.Canceled {
			s.blocks.forget(bs...) // nothing was stored
		}
		s.m.rejected.WithLabelValues(rejectReason(err)).Add(float64(len(p.rows)))
		return err
	}
	s.blocks.committed(s.db.CurrentPartition(), bs...)
	s.markPersisted(p, part)
	if now := s.db.CurrentPartition(); now != part {
		// The commit may have landed in a partition that started meanwhile:
		// make sure that partition knows these streams too.
		rows := s.streamRows(p, now, true)
		if err := s.db.Append(context.WithoutCancel(ctx), telemetrydb.Rows{Table: "log_streams", Values: rows}); err != nil {
			s.log.Warn("write stream labels to new partition", "err", err)
		} else {
			s.markPersisted(p, now)
		}
	}
	s.m.accepted.Add(float64(len(p.rows)))
	s.m.acceptedBytes.Add(float64(p.bytes))
	s.counts.add(p.derived)
	if len(p.records) > 0 {
		s.tail.publish(p.records)
	}
	return nil
}

func rejectReason(err error) string {
	switch apierr.CodeOf(err) {
	case apierr.Overloaded:
		return "overloaded"
	case apierr.Unavailable:
		return "unavailable"
	case apierr.Canceled:
		return "canceled"
	}
	return "error"
}

func (s *Store) streamRows(p *pending, part int64, force bool) [][]driver.Value {
	var out [][]driver.Value
	s.mu.RLock()
	defer s.mu.RUnlock()
	for id, st := range p.streams {
		if seq, ok := s.persisted[id]; ok && seq == part && !force {
			continue
		}
		out = append(out, []driver.Value{id, st.key})
	}
	return out
}

func (s *Store) markPersisted(p *pending, part int64) {
	s.mu.Lock()
	for id := range p.streams {
		if s.persisted[id] < part || s.persisted[id] == 0 {
			s.persisted[id] = part
		}
	}
	s.mu.Unlock()
}

// AppendStreams stores pushed streams (the Loki push API). Entries that
// cannot be stored are counted in rejected and described in message; the
// rest are stored atomically.
func (s *Store) AppendStreams(ctx context.Context, streams []Stream) (rejected int64, message string, err error) {
	n := 0
	for i := range streams {
		n += len(streams[i].Entries)
	}
	s.m.received.Add(float64(n))
	p := s.newPending(n)
	rej := rejections{s: s}
	win := s.acceptedWindow()
	// Loki's limits first, so that a stream none of whose entries is
	// accepted takes no active-stream slot.
	type accepted struct {
		stream  int
		entries []int
	}
	var lss [][]Label
	var acc []accepted
	for i := range streams {
		in := &streams[i]
		if reason, msg := s.checkLabels(in.Labels); reason != "" {
			rej.add(int64(len(in.Entries)), reason, msg)
			continue
		}
		key := streamKey(in.Labels)
		var ok []int
		for j := range in.Entries {
			e := &in.Entries[j]
			if len(e.Line) > s.opts.MaxLineBytes {
				rej.add(1, "line_too_long", fmt.Sprintf("line of %d bytes in stream %s is over the limit of %d bytes", len(e.Line), key, s.opts.MaxLineBytes))
				continue
			}
			if reason, msg := s.checkTime(win, e.Timestamp, key); reason != "" {
				rej.add(1, reason, msg)
				continue
			}
			ok = append(ok, j)
		}
		if len(ok) > 0 {
			lss = append(lss, in.Labels)
			acc = append(acc, accepted{stream: i, entries: ok})
		}
	}
	sts, err := s.resolve(lss)
	if err != nil {
		return 0, "", err
	}
	for k, a := range acc {
		st := sts[k]
		svc := st.lmap["service_name"]
		if svc == "" {
			svc = st.lmap["service"]
		}
		if svc == "" {
			svc = st.lmap["app"]
		}
		if svc == "" {
			svc = st.lmap["job"]
		}
		for _, j := range a.entries {
			e := &streams[a.stream].Entries[j]
			md, traceID, spanID := splitMetadata(e.Metadata)
			r := Record{
				Timestamp: e.Timestamp,
				StreamID:  st.id,
				Line:      e.Line,
				Metadata:  md,
				TraceID:   traceID,
				SpanID:    spanID,
				Level:     detectLevel(st.labels, e.Metadata, e.Line),
			}
			p.add(st, &r, svc)
		}
	}
	if err := s.commit(ctx, p); err != nil {
		return 0, "", err
	}
	return rej.n, rej.first, nil
}

// splitMetadata takes trace_id and span_id out of structured metadata into
// their own columns.
func splitMetadata(md []Label) (rest []Label, traceID, spanID string) {
	for _, l := range md {
		switch l.Name {
		case "trace_id", "traceID", "traceid":
			traceID = logql.NormalizeTraceID(l.Value)
			continue
		case "span_id", "spanID", "spanid":
			spanID = l.Value
			continue
		}
		rest = append(rest, l)
	}
	if rest != nil {
		sortLabels(rest)
	}
	return rest, traceID, spanID
}
