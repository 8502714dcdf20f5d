package metrics

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/metadata"
	apiv1 "github.com/prometheus/prometheus/web/api/v1"
)

// Bounds of the metadata kept from pushed data (remote write 1.0 and 2.0,
// OTLP). Prometheus keeps scraped metadata per target in the scrape cache;
// pushes have no target, so Vigil keeps it per metric family, in memory
// (senders repeat it: Prometheus every metadata send_interval, remote
// write 2.0 and OTLP with every sample).
const (
	// metadataMaxFamilies bounds the families kept; past it the family
	// updated longest ago is forgotten.
	metadataMaxFamilies = 50_000
	// metadataPerFamily bounds the distinct (type, help, unit) kept for
	// one family; the newest win (a help text that changed replaces the
	// oldest one).
	metadataPerFamily = 4
	// metadataMaxText bounds help and unit (longer ones are cut).
	metadataMaxText = 1024
)

// metadataStore is the metric metadata of pushed data, per family. Safe
// for concurrent use.
type metadataStore struct {
	mu       sync.Mutex
	families map[string]*familyMeta
	tick     uint64 // recency clock
}

type familyMeta struct {
	entries []metadata.Metadata // newest last
	seen    uint64
}

func newMetadataStore() *metadataStore {
	return &metadataStore{families: map[string]*familyMeta{}}
}

// Observe records md for family. Metadata that says nothing (no type or
// type unknown, and no help) is ignored.
func (m *metadataStore) Observe(family string, md metadata.Metadata) {
	if family == "" || (md.Type == "" || md.Type == model.MetricTypeUnknown) && md.Help == "" {
		return
	}
	if md.Type == "" {
		md.Type = model.MetricTypeUnknown
	}
	md.Help = truncate(md.Help, metadataMaxText)
	md.Unit = truncate(md.Unit, metadataMaxText)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tick++
	f, ok := m.families[family]
	if !ok {
		if len(m.families) >= metadataMaxFamilies {
			m.evictLocked()
		}
		f = &familyMeta{}
		m.families[family] = f
	}
	f.seen = m.tick
	for i, e := range f.entries {
		if e == md {
			if i != len(f.entries)-1 {
				copy(f.entries[i:], f.entries[i+1:])
				f.entries[len(f.entries)-1] = md
			}
			return
		}
	}
	if len(f.entries) >= metadataPerFamily {
		copy(f.entries, f.entries[1:])
		f.entries = f.entries[:len(f.entries)-1]
	}
	f.entries = append(f.entries, md)
}

// evictLocked forgets the tenth of the families updated longest ago, so
// that one sort pays for many new families.
func (m *metadataStore) evictLocked() {
	seen := make([]uint64, 0, len(m.families))
	for _, f := range m.families {
		seen = append(seen, f.seen)
	}
	slices.Sort(seen)
	cut := seen[max(len(seen)/10, 1)-1]
	for name, f := range m.families {
		if f.seen <= cut {
			delete(m.families, name)
		}
	}
}

// Get returns what is kept for family.
func (m *metadataStore) Get(family string) []metadata.Metadata {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f, ok := m.families[family]; ok {
		return append([]metadata.Metadata(nil), f.entries...)
	}
	return nil
}

// each calls fn for every family and its entries, under the lock.
func (m *metadataStore) each(fn func(family string, entries []metadata.Metadata)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name, f := range m.families {
		fn(name, f.entries)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// ObserveMetadata records metadata of a metric family sent without a
// sample (remote write 1.0's metadata field).
func (s *Store) ObserveMetadata(family string, md metadata.Metadata) { s.meta.Observe(family, md) }

// serveMetadata is GET /api/v1/metadata as Prometheus answers it (the
// same parameters: metric, limit, limit_per_metric; the same JSON), over
// the scrape targets' metadata and the metadata of pushed data.
func (s *Store) serveMetadata(targetsOf func(context.Context) apiv1.TargetRetriever) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		targets := targetsOf(r.Context())
		limit, limitPerMetric := -1, -1
		for _, p := range []struct {
			name string
			v    *int
		}{{"limit", &limit}, {"limit_per_metric", &limitPerMetric}} {
			if v := r.FormValue(p.name); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil {
					writeAPIError(w, http.StatusBadRequest, "bad_data", p.name+" must be a number")
					return
				}
				*p.v = n
			}
		}
		metric := r.FormValue("metric")
		sets := map[string]map[metadata.Metadata]struct{}{}
		add := func(family string, md metadata.Metadata) {
			ms, ok := sets[family]
			if limitPerMetric > 0 && len(ms) >= limitPerMetric {
				return
			}
			if !ok {
				ms = map[metadata.Metadata]struct{}{}
				sets[family] = ms
			}
			ms[md] = struct{}{}
		}
		if targets != nil {
			for _, tt := range targets.TargetsActive() {
				for _, t := range tt {
					if metric == "" {
						for _, mm := range t.ListMetadata() {
							add(mm.MetricFamily, metadata.Metadata{Type: mm.Type, Help: mm.Help, Unit: mm.Unit})
						}
					} else if mm, ok := t.GetMetadata(metric); ok {
						add(mm.MetricFamily, metadata.Metadata{Type: mm.Type, Help: mm.Help, Unit: mm.Unit})
					}
				}
			}
		}
		if metric == "" {
			s.meta.each(func(family string, entries []metadata.Metadata) {
				for i := len(entries) - 1; i >= 0; i-- { // newest first
					add(family, entries[i])
				}
			})
		} else {
			entries := s.meta.Get(metric)
			for i := len(entries) - 1; i >= 0; i-- {
				add(metric, entries[i])
			}
		}
		res := map[string][]metadata.Metadata{}
		for name, set := range sets {
			if limit >= 0 && len(res) >= limit {
				break
			}
			list := make([]metadata.Metadata, 0, len(set))
			for md := range set {
				list = append(list, md)
			}
			res[name] = list
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": res})
	}
}

// writeAPIError answers in the Prometheus API's error envelope.
func writeAPIError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": typ, "error": msg})
}
