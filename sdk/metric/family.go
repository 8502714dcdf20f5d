package metric

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// ErrCardinalityLimit is returned (wrapped) by TryWith when an instrument
// configured with WithLimitError has as many series as its limit allows.
var ErrCardinalityLimit = errors.New("cardinality limit reached")

// OverflowLabel is the label that marks the series receiving records past an
// instrument's cardinality limit, as the OpenTelemetry specification names it.
const OverflowLabel = "otel.metric.overflow"

// Label is one name/value pair of a series.
type Label struct{ Name, Value string }

// seed randomizes hashes per process so that label values chosen by an
// attacker cannot be crafted to collide.
var seed = maphash.Comparable(maphash.MakeSeed(), 0) | 1

const (
	mul1 = 0x9e3779b97f4a7c15
	mul2 = 0xff51afd7ed558ccd
)

// hashKV hashes a key/value list: the length of each name and the whole of
// each value, eight bytes at a time. Each string's length is mixed in, so
// ("ab","c") and ("a","bc") differ. It is written for the short strings
// labels are; maphash.String per string costs twice as much. Lists that
// differ only in their names' letters collide, and find tells them apart.
func hashKV(kv []string) uint64 {
	h := seed
	var names uint64
	for i, s := range kv {
		if i&1 == 0 {
			// A label name: only its length, mixed in once at the end.
			// Names are nearly always fixed per call site, and find
			// compares them.
			names = names<<7 ^ uint64(len(s))
			continue
		}
		h = (h ^ uint64(len(s))) * mul1
		for len(s) >= 8 {
			h = (h ^ binary.LittleEndian.Uint64([]byte(s[:8]))) * mul2
			h ^= h >> 29
			s = s[8:]
		}
		if n := len(s); n > 0 {
			// Overlapping loads cover every byte: with the length already
			// mixed in, they identify the tail exactly.
			var t uint64
			if n >= 4 {
				t = uint64(binary.LittleEndian.Uint32([]byte(s[:4])))<<32 | uint64(binary.LittleEndian.Uint32([]byte(s[n-4:])))
			} else {
				t = uint64(s[0])<<16 | uint64(s[n>>1])<<8 | uint64(s[n-1])
			}
			h = (h ^ t) * mul2
			h ^= h >> 29
		}
	}
	h = (h ^ names ^ uint64(len(kv))<<56) * mul1
	h ^= h >> 32
	h *= mul1
	h ^= h >> 29
	return h
}

// entry maps one spelling of a label set (the key/value list as the caller
// wrote it) to its series. Different orders of the same labels are distinct
// entries that share one series.
type entry[S any] struct {
	hash uint64
	kv   []string
	s    *S
}

// table is an insert-only open-addressing hash table. Readers load slots
// atomically without locks; writers hold family.mu and replace the whole
// table when it grows.
type table[S any] struct {
	mask  uint64
	used  int
	slots []atomic.Pointer[entry[S]]
}

func newTable[S any](size int) *table[S] {
	n := 16
	for n < size*2 {
		n <<= 1
	}
	return &table[S]{mask: uint64(n - 1), slots: make([]atomic.Pointer[entry[S]], n)}
}

func (t *table[S]) find(h uint64, kv []string) *S {
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		e := t.slots[i].Load()
		if e == nil {
			return nil
		}
		if e.hash == h && sameKV(e.kv, kv) {
			return e.s
		}
	}
}

// sameKV reports whether a and b hold the same strings. Label names and
// values are mostly constants whose data pointers match, so the content is
// compared only when they do not.
func sameKV(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i, x := range a {
		y := b[i]
		if len(x) != len(y) || unsafe.StringData(x) != unsafe.StringData(y) && x != y {
			return false
		}
	}
	return true
}

// insert stores e; the caller holds the family lock and has checked that
// the table has room (used < half the slots).
func (t *table[S]) insert(e *entry[S]) {
	for i := e.hash & t.mask; ; i = (i + 1) & t.mask {
		if t.slots[i].Load() == nil {
			t.slots[i].Store(e)
			t.used++
			return
		}
	}
}

// series is one label set with its value, as collected for export.
type series[S any] struct {
	labels []Label // sorted by name
	s      *S
}

// family holds the series of one instrument: the lock-free lookup table, the
// canonical set of series, and the cardinality limit.
type family[S any] struct {
	name   string
	limit  int
	strict bool
	newS   func() *S
	stats  *Registry // for overflow accounting; may be nil

	tab atomic.Pointer[table[S]]

	mu        sync.Mutex
	canonical map[string]*S
	list      []series[S] // in creation order
	overflow  *S
	overflows atomic.Uint64
}

func (f *family[S]) init(name string, limit int, strict bool, newS func() *S, stats *Registry) {
	f.name, f.limit, f.strict, f.newS, f.stats = name, limit, strict, newS, stats
	f.canonical = make(map[string]*S)
	f.tab.Store(newTable[S](0))
}

// get returns the series for the key/value list kv. The fast path is one
// hash and one probe of a lock-free table; it neither locks nor allocates.
func (f *family[S]) get(kv []string) (*S, error) {
	h := hashKV(kv)
	if s := f.tab.Load().find(h, kv); s != nil {
		return s, nil
	}
	return f.slow(h, kv)
}

func (f *family[S]) slow(h uint64, kv []string) (*S, error) {
	labels, err := makeLabels(kv)
	if err != nil {
		return nil, fmt.Errorf("metric %q: %w", f.name, err)
	}
	key := canonicalKey(labels)

	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.tab.Load()
	if s := t.find(h, kv); s != nil {
		return s, nil
	}
	s, ok := f.canonical[key]
	if !ok {
		if len(f.canonical) >= f.limit {
			f.overflows.Add(1)
			if f.stats != nil {
				f.stats.countOverflow(f.name)
			}
			if f.strict {
				return nil, fmt.Errorf("metric %q: %w: limit %d, current %d series", f.name, ErrCardinalityLimit, f.limit, len(f.canonical))
			}
			if f.overflow == nil {
				f.overflow = f.newS()
				f.list = append(f.list, series[S]{labels: []Label{{OverflowLabel, "true"}}, s: f.overflow})
			}
			// Not cached in the table: every record past the limit takes this
			// path so that it is counted.
			return f.overflow, nil
		}
		s = f.newS()
		f.canonical[key] = s
		f.list = append(f.list, series[S]{labels: labels, s: s})
	}
	// Cache this spelling. Spellings beyond a bound (many orders of the same
	// labels) are served by the slow path rather than growing the table.
	if t.used < 4*f.limit+16 {
		if (t.used+1)*2 > len(t.slots) {
			nt := newTable[S](t.used + 1)
			for i := range t.slots {
				if e := t.slots[i].Load(); e != nil {
					nt.insert(e)
				}
			}
			t = nt
		}
		t.insert(&entry[S]{hash: h, kv: slices.Clone(kv), s: s})
		f.tab.Store(t)
	}
	return s, nil
}

// snapshot returns the series in creation order.
func (f *family[S]) snapshot() []series[S] {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.list)
}

func makeLabels(kv []string) ([]Label, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("labels must be name/value pairs, got %d strings", len(kv))
	}
	labels := make([]Label, 0, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		if !validLabelName(kv[i]) {
			return nil, fmt.Errorf("invalid label name %q: want [a-zA-Z_][a-zA-Z0-9_.]*", kv[i])
		}
		labels = append(labels, Label{kv[i], kv[i+1]})
	}
	slices.SortFunc(labels, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(labels); i++ {
		if labels[i].Name == labels[i-1].Name {
			return nil, fmt.Errorf("label %q given twice", labels[i].Name)
		}
	}
	return labels, nil
}

func canonicalKey(labels []Label) string {
	var b strings.Builder
	for _, l := range labels {
		b.WriteString(l.Name)
		b.WriteByte(0xff)
		b.WriteString(l.Value)
		b.WriteByte(0xff)
	}
	return b.String()
}

func validLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case (c >= '0' && c <= '9' || c == '.') && i > 0:
		default:
			return false
		}
	}
	return true
}

func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		case (c >= '0' && c <= '9' || c == '.') && i > 0:
		default:
			return false
		}
	}
	return true
}
