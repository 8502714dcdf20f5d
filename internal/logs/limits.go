package logs

import (
	"fmt"
	"time"

	"github.com/vigilhq/vigil/internal/apierr"
	"github.com/vigilhq/vigil/internal/logs/logql"
)

// Active streams, as Loki's ingester keeps them: a stream is active from
// its first push until StreamIdlePeriod passes without one. MaxStreams
// bounds the active streams, so a burst of unique label sets locks no one
// out for longer than the idle period, and the answer to it (429 with
// Retry-After) is one that clients retry.
//
// Invariant (under mu): s.active is the number of streams whose lastSeen
// is not 0. A push refreshes lastSeen of an active stream under the read
// lock; activating a stream and sweeping idle ones take the write lock.

// sweepEvery bounds how often a push refused at the limit looks for idle
// streams (a sweep reads every stream).
const sweepEvery = time.Second

// resolve returns the stream of each label set of lss (sorted labels),
// creating or re-activating streams as needed. The streams it has to
// activate are admitted all together or not at all: past MaxStreams it
// returns an Overloaded error that names the limit, its value and the
// current count, and changes nothing.
func (s *Store) resolve(lss [][]Label) ([]*streamInfo, error) {
	now := s.now().UnixNano()
	out := make([]*streamInfo, len(lss))
	keys := make([]string, len(lss))
	ids := make([]int64, len(lss))
	var need []int
	s.mu.RLock()
	for i, ls := range lss {
		keys[i] = streamKey(ls)
		ids[i] = streamID(keys[i])
		if st := s.streams[ids[i]]; st != nil && st.lastSeen.Load() != 0 {
			st.lastSeen.Store(now)
			out[i] = st
			continue
		}
		need = append(need, i)
	}
	s.mu.RUnlock()
	if len(need) == 0 {
		return out, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fresh := map[int64]bool{} // streams this request activates
	for _, i := range need {
		if st := s.streams[ids[i]]; st != nil && st.lastSeen.Load() != 0 {
			continue // activated meanwhile
		}
		fresh[ids[i]] = true
	}
	if s.active+len(fresh) > s.opts.MaxStreams && now-s.lastSweep >= int64(sweepEvery) {
		s.sweepLocked(now)
	}
	if s.active+len(fresh) > s.opts.MaxStreams {
		s.m.rejected.WithLabelValues("stream_limit").Inc()
		example := keys[need[0]]
		return nil, &apierr.Error{
			Code: apierr.Overloaded,
			Message: fmt.Sprintf("%d new streams refused (such as %s): the active stream limit (logs.limits.max_streams) is %d and %d streams are active; "+
				"a stream stops counting %s after its last push (logs.limits.stream_idle_period): retry later, or drop high-cardinality labels",
				len(fresh), truncate(example, 200), s.opts.MaxStreams, s.active, logql.FormatDuration(s.opts.StreamIdlePeriod)),
			RetryAfter: s.retryAfterLocked(now),
		}
	}
	for _, i := range need {
		st := s.streams[ids[i]]
		if st == nil {
			cp := make([]Label, len(lss[i]))
			copy(cp, lss[i])
			st = newStreamInfo(ids[i], keys[i], cp)
			s.streams[ids[i]] = st
		}
		if st.lastSeen.Swap(now) == 0 {
			s.active++
		}
		out[i] = st
	}
	return out, nil
}

// sweepLocked deactivates the streams idle for StreamIdlePeriod and
// records the oldest push among those left active. s.mu must be held for
// writing.
func (s *Store) sweepLocked(now int64) {
	idle := int64(s.opts.StreamIdlePeriod)
	oldest := now
	for _, st := range s.streams {
		seen := st.lastSeen.Load()
		switch {
		case seen == 0:
		case now-seen >= idle:
			st.lastSeen.Store(0)
			s.active--
		case seen < oldest:
			oldest = seen
		}
	}
	s.lastSweep, s.oldestActive = now, oldest
}

// retryAfterLocked is when the oldest active stream goes idle (as of the
// last sweep), at least a second.
func (s *Store) retryAfterLocked(now int64) time.Duration {
	return max(time.Duration(s.oldestActive+int64(s.opts.StreamIdlePeriod)-now), time.Second)
}

// sweep deactivates idle streams (run periodically, so the active-stream
// gauge falls without pushes).
func (s *Store) sweep() {
	s.mu.Lock()
	s.sweepLocked(s.now().UnixNano())
	s.mu.Unlock()
}

// activeCount is the number of active streams.
func (s *Store) activeCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.active
}

// checkLabels applies Loki's label limits to a stream's labels: it returns
// the reason (for vigil_logs_records_rejected_total) and a message naming
// the stream and the limit, or "" when the labels are within them.
func (s *Store) checkLabels(ls []Label) (reason, msg string) {
	if len(ls) > s.opts.MaxLabelNamesPerSeries {
		return "too_many_labels", fmt.Sprintf("stream %s has %d labels, over the limit of %d (logs.limits.max_label_names_per_series)",
			truncate(streamKey(ls), 200), len(ls), s.opts.MaxLabelNamesPerSeries)
	}
	for _, l := range ls {
		if len(l.Name) > s.opts.MaxLabelNameLength {
			return "label_name_too_long", fmt.Sprintf("stream %s has a label name of %d bytes (%s), over the limit of %d (logs.limits.max_label_name_length)",
				truncate(streamKey(ls), 200), len(l.Name), truncate(l.Name, 40), s.opts.MaxLabelNameLength)
		}
		if len(l.Value) > s.opts.MaxLabelValueLength {
			return "label_value_too_long", fmt.Sprintf("stream %s has a value of %d bytes for label %q, over the limit of %d (logs.limits.max_label_value_length)",
				truncate(streamKey(ls), 200), len(l.Value), truncate(l.Name, 40), s.opts.MaxLabelValueLength)
		}
	}
	return "", ""
}

// timeWindow is the range of record timestamps the store accepts now.
type timeWindow struct{ oldest, newest int64 }

func (s *Store) acceptedWindow() timeWindow {
	now := s.now().UnixNano()
	w := timeWindow{oldest: -1 << 63, newest: now + int64(s.opts.CreationGracePeriod)}
	if s.opts.RejectOldSamplesMaxAge > 0 {
		w.oldest = now - int64(s.opts.RejectOldSamplesMaxAge)
	}
	return w
}

// check returns the reason and message for a record at ts in stream key
// outside the window, or "".
func (s *Store) checkTime(w timeWindow, ts int64, key string) (reason, msg string) {
	switch {
	case ts < w.oldest:
		return "too_old", fmt.Sprintf("entry of stream %s has timestamp %s, older than logs.limits.reject_old_samples_max_age (%s) allows: the oldest accepted is %s",
			truncate(key, 200), formatTS(ts), logql.FormatDuration(s.opts.RejectOldSamplesMaxAge), formatTS(w.oldest))
	case ts > w.newest:
		return "too_new", fmt.Sprintf("entry of stream %s has timestamp %s, further in the future than logs.limits.creation_grace_period (%s) allows: the newest accepted is %s",
			truncate(key, 200), formatTS(ts), logql.FormatDuration(s.opts.CreationGracePeriod), formatTS(w.newest))
	}
	return "", ""
}

func formatTS(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

// rejections counts refused records and keeps the first reason, which a
// partial success reports.
type rejections struct {
	s     *Store
	n     int64
	first string
}

func (r *rejections) add(n int64, reason, msg string) {
	r.n += n
	r.s.m.rejected.WithLabelValues(reason).Add(float64(n))
	if r.first == "" {
		r.first = msg
	}
}
