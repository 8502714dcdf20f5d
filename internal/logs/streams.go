package logs

import (
	"context"
	"database/sql"
	"sort"
	"sync/atomic"

	"github.com/vigilhq/vigil/internal/logs/logql"
	"github.com/vigilhq/vigil/internal/telemetrydb"
)

type streamInfo struct {
	id     int64
	key    string
	labels []Label
	lmap   map[string]string
	// lastSeen is the wall time (Unix ns) of the last push to the stream;
	// 0 while the stream is not active (see limits.go).
	lastSeen atomic.Int64
}

func newStreamInfo(id int64, key string, ls []Label) *streamInfo {
	m := make(map[string]string, len(ls))
	for _, l := range ls {
		m[l.Name] = l.Value
	}
	return &streamInfo{id: id, key: key, labels: ls, lmap: m}
}

func (s *Store) loadStreams(ctx context.Context) error {
	return s.db.Query(ctx, telemetrydb.TimeRange{}, "SELECT DISTINCT stream_id, labels FROM {{log_streams}}", nil, func(rows *sql.Rows) error {
		for rows.Next() {
			var id int64
			var key string
			if err := rows.Scan(&id, &key); err != nil {
				return err
			}
			ls, err := parseStreamKey(key)
			if err != nil {
				s.log.Warn("skip unreadable stream labels", "stream_id", id, "err", err)
				continue
			}
			s.streams[id] = newStreamInfo(id, key, ls)
		}
		return nil
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// streamsSnapshot returns every known stream.
func (s *Store) streamsSnapshot() []*streamInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*streamInfo, 0, len(s.streams))
	for _, st := range s.streams {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func (s *Store) streamByID(id int64) *streamInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.streams[id]
}

// matchStreams resolves a selector against the in-memory stream index.
func (s *Store) matchStreams(ms []*logql.Matcher) []*streamInfo {
	var out []*streamInfo
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, st := range s.streams {
		if matchesAll(ms, st.lmap) {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// streamCount is the number of streams the store knows.
func (s *Store) streamCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.streams)
}

// matchesAll reports whether the stream labels lmap satisfy every matcher.
func matchesAll(ms []*logql.Matcher, lmap map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(lmap[m.Name]) {
			return false
		}
	}
	return true
}
