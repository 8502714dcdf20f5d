package logs

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/vigilhq/vigil/internal/logs/logql"
)

// tailRecord is a committed record on its way to live-tail subscribers.
type tailRecord struct {
	stream *streamInfo
	rec    Record
}

// tailHub fans committed records out to live-tail subscribers. A slow
// subscriber loses batches (counted and reported to it) rather than
// slowing ingestion or growing memory.
type tailHub struct {
	mu     sync.Mutex
	subs   map[*tailSub]struct{}
	closed bool
}

type tailSub struct {
	ch      chan []tailRecord
	dropped atomic.Int64
	done    chan struct{}
}

func newTailHub() *tailHub { return &tailHub{subs: map[*tailSub]struct{}{}} }

func (h *tailHub) subscribe() *tailSub {
	s := &tailSub{ch: make(chan []tailRecord, 256), done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(s.done)
		return s
	}
	h.subs[s] = struct{}{}
	return s
}

func (h *tailHub) unsubscribe(s *tailSub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.done)
	}
}

func (h *tailHub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (h *tailHub) publish(recs []tailRecord) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- recs:
		default:
			s.dropped.Add(int64(len(recs)))
		}
	}
}

func (h *tailHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		delete(h.subs, s)
		close(s.done)
	}
}

// serveTail is /loki/api/v1/tail: a websocket that first sends up to limit
// recent lines since start, then every new matching line as it is
// committed, in Loki's frame format.
func (s *Store) serveTail(w http.ResponseWriter, r *http.Request) {
	f, err := form(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	now := s.nowNS()
	q, err := parseTailQuery(f, now)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	le, limit, start := q.log, min(q.limit, s.opts.MaxQueryLines), q.start
	sub := s.tail.subscribe()
	defer s.tail.unsubscribe(sub)
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered the client
	}
	defer c.CloseNow()
	ctx := c.CloseRead(r.Context())

	send := func(frame []byte) error {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return c.Write(wctx, websocket.MessageText, frame)
	}
	if limit > 0 {
		res, err := s.Query(ctx, Query{Expr: le.String(), Start: start, End: now + 1, Step: time.Second, Limit: limit, Direction: Forward})
		if err != nil {
			c.Close(websocket.StatusInternalError, truncateReason(s.errw.Reply(r, err).Message))
			return
		}
		if len(res.Streams) > 0 {
			if err := send(tailFrame(res.Streams, 0)); err != nil {
				return
			}
		}
	}
	pipe := logql.NewPipeline(le.Stages)
	lbs := logql.NewLabels()
	md := map[string]string{}
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			c.Close(websocket.StatusNormalClosure, "")
			return
		case <-sub.done:
			c.Close(websocket.StatusGoingAway, "server shutting down")
			return
		case <-ping.C:
			if err := c.Ping(ctx); err != nil {
				return
			}
		case recs := <-sub.ch:
			var found streamSet
			for i := range recs {
				tr := &recs[i]
				if !matchesAll(le.Matchers, tr.stream.lmap) {
					continue
				}
				clear(md)
				for _, l := range tr.rec.Metadata {
					md[l.Name] = l.Value
				}
				if tr.rec.TraceID != "" {
					md["trace_id"] = tr.rec.TraceID
				}
				if tr.rec.SpanID != "" {
					md["span_id"] = tr.rec.SpanID
				}
				if tr.rec.ObservedTime != 0 {
					md["observed_timestamp"] = strconv.FormatInt(tr.rec.ObservedTime, 10)
				}
				if tr.rec.SeverityText != "" {
					md["severity_text"] = tr.rec.SeverityText
				}
				if tr.rec.SeverityNumber != 0 {
					md["severity_number"] = strconv.FormatInt(int64(tr.rec.SeverityNumber), 10)
				}
				if tr.rec.Flags != 0 {
					md["flags"] = strconv.FormatInt(int64(tr.rec.Flags), 10)
				}
				md["detected_level"] = tr.rec.Level
				lbs.Reset(tr.stream.lmap, md)
				line, ok := pipe.Process(tr.rec.Timestamp, tr.rec.Line, lbs)
				if !ok {
					continue
				}
				found.add(lbs, tr.rec.Timestamp, line)
			}
			dropped := sub.dropped.Swap(0)
			if found.len() == 0 && dropped == 0 {
				continue
			}
			if err := send(tailFrame(found.list(), dropped)); err != nil {
				return
			}
		}
	}
}

// tailFrame renders {"streams":[...],"dropped_entries":[...]}.
func tailFrame(streams []Stream, dropped int64) []byte {
	var b strings.Builder
	b.WriteString(`{"streams":`)
	writeStreams(&b, streams)
	b.WriteString(`,"dropped_entries":`)
	if dropped > 0 {
		// Loki lists dropped entries by labels and time; Vigil only knows how
		// many it dropped for this client.
		fmt.Fprintf(&b, `[{"labels":"{}","timestamp":"0","count":%d}]`, dropped)
	} else {
		b.WriteString("null")
	}
	b.WriteByte('}')
	return []byte(b.String())
}

func truncateReason(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}
