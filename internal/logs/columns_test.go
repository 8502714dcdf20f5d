package logs

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func hasLean(s *Store) bool {
	cols, done := s.rowColumns()
	done()
	return cols == leanRowColumns
}

// withEveryColumn runs fn with queries reading every column, as in a
// store that holds metadata.
func withEveryColumn(s *Store, fn func()) {
	s.mu.Lock()
	s.extras[-1] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.extras, -1)
		s.mu.Unlock()
	}()
	fn()
}

// A store holding only records without metadata or OTLP fields reads
// them without those columns, and answers as when it reads them; the first
// record with such a value brings them back, also after a restart.
func TestLeanColumns(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir})
	ctx := context.Background()
	pushLines(t, s, "api", t0, 3000)
	if !hasLean(s) {
		t.Fatal("a store of Loki lines without metadata reads the OTLP columns")
	}
	queries := []Query{
		{Expr: `{app="api"} |= "request 4 served"`, Start: t0, End: t0 + 5000, Limit: 50},
		{Expr: `{app="api"}`, Start: t0, End: t0 + 5000, Limit: 20},
		{Expr: `sum(count_over_time({app="api"} | json | status = 200 [1s]))`, Start: t0, End: t0 + 5000, Step: time.Second},
	}
	for _, q := range queries {
		lean, err := s.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var full *Result
		withEveryColumn(s, func() { full, err = s.Query(ctx, q) })
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(full.Streams, lean.Streams); diff != "" {
			t.Fatalf("%s: lean columns change the lines (-full +lean):\n%s", q.Expr, diff)
		}
		if diff := cmp.Diff(full.Series, lean.Series); diff != "" {
			t.Fatalf("%s: lean columns change the series (-full +lean):\n%s", q.Expr, diff)
		}
		if len(lean.Streams)+len(lean.Series) == 0 {
			t.Fatalf("%s: nothing found", q.Expr)
		}
	}

	st := Stream{Labels: []Label{{"app", "api"}}, Entries: []Entry{{Timestamp: t0 + 4000, Line: "with a trace", Metadata: []Label{{"trace_id", fmt.Sprintf("%032x", 7)}, {"pod", "db-0"}}}}}
	if _, _, err := s.AppendStreams(ctx, []Stream{st}); err != nil {
		t.Fatal(err)
	}
	check := func(s *Store, when string) {
		t.Helper()
		if hasLean(s) {
			t.Fatalf("%s: a record with metadata, and queries leave the columns out", when)
		}
		res, err := s.Query(ctx, Query{Expr: `{app="api"} |= "with a trace"`, Start: t0, End: t0 + 5000, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Streams) != 1 || res.Streams[0].Labels.Get("trace_id") != fmt.Sprintf("%032x", 7) || res.Streams[0].Labels.Get("pod") != "db-0" {
			t.Fatalf("%s: got %+v, want the line with its trace_id and pod", when, res.Streams)
		}
	}
	check(s, "after the push")
	s.Close()
	s = openStore(t, Options{Dir: dir})
	check(s, "after a restart")
}

func TestLeanColumnsAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir})
	pushLines(t, s, "api", t0, 10)
	s.Close()
	s = openStore(t, Options{Dir: dir})
	if !hasLean(s) {
		t.Fatal("after a restart, a store without metadata reads the OTLP columns")
	}
}

// The first record with metadata waits for the queries that left the
// columns out.
func TestMarkExtrasWaitsForLeanQueries(t *testing.T) {
	s := openStore(t, Options{})
	cols, done := s.rowColumns()
	if cols != leanRowColumns {
		t.Fatal("an empty store reads the OTLP columns")
	}
	marked := make(chan struct{})
	go func() {
		s.markExtras(s.db.CurrentPartition())
		close(marked)
	}()
	select {
	case <-marked:
		t.Fatal("marked while a lean query was running")
	case <-time.After(50 * time.Millisecond):
	}
	done()
	select {
	case <-marked:
	case <-time.After(5 * time.Second):
		t.Fatal("not marked after the lean query ended")
	}
	if hasLean(s) {
		t.Fatal("still lean after markExtras")
	}
}
