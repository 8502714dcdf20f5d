package main

import (
	"math/rand/v2"
	"testing"
)

func TestDataset(t *testing.T) {
	all, err := buildDataset(1000, 15000, 1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range all {
		key := ""
		for i, l := range s.labels {
			if i > 0 && s.labels[i-1].name >= l.name {
				t.Fatalf("labels not sorted or repeated: %v", s.labels)
			}
			key += l.name + "=" + l.value + ","
		}
		if seen[key] {
			t.Fatalf("duplicate series %s", key)
		}
		seen[key] = true
	}
	// Histogram buckets stay cumulative and _count equals the +Inf bucket.
	var h *histogram
	for _, s := range all {
		if s.hist != nil {
			h = s.hist
			break
		}
	}
	testRNG := rand.New(rand.NewPCG(1, 2))
	for r := 0; r < 50; r++ {
		for _, s := range all {
			s.next(r, testRNG)
		}
		for b := 1; b < len(h.counts); b++ {
			if h.counts[b] < h.counts[b-1] {
				t.Fatalf("round %d: bucket %d (%v) below bucket %d (%v)", r, b, h.counts[b], b-1, h.counts[b-1])
			}
		}
		if h.count != h.counts[len(h.counts)-1] {
			t.Fatalf("round %d: _count %v, +Inf bucket %v", r, h.count, h.counts[len(h.counts)-1])
		}
	}
}
