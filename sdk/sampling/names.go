package sampling

import (
	"hash/maphash"
	"math/bits"
)

// nameTable is an immutable open-addressing hash table from span names to
// values, built once and read without locks (the adaptive sampler swaps in
// a new one when it meets a new name).
type nameTable[V any] struct {
	shift uint // 64 - log2(len(slots))
	slots []nameSlot[V]
	n     int
}

type nameSlot[V any] struct {
	name string
	v    V
	used bool
}

// newNameTable builds a table holding m, sized to at most half full.
func newNameTable[V any](m map[string]V) *nameTable[V] {
	size := 8
	for size < 2*len(m) {
		size *= 2
	}
	t := &nameTable[V]{shift: uint(64 - bits.TrailingZeros(uint(size))), slots: make([]nameSlot[V], size)}
	for k, v := range m {
		t.insert(k, v)
	}
	return t
}

func (t *nameTable[V]) insert(name string, v V) {
	mask := len(t.slots) - 1
	for i := int(nameHash(name) >> t.shift); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !s.used {
			*s = nameSlot[V]{name: name, v: v, used: true}
			t.n++
			return
		}
		if s.name == name {
			s.v = v
			return
		}
	}
}

// with returns a copy of t that also maps name to v.
func (t *nameTable[V]) with(name string, v V) *nameTable[V] {
	m := make(map[string]V, t.n+1)
	t.each(func(k string, v V) { m[k] = v })
	m[name] = v
	return newNameTable(m)
}

func (t *nameTable[V]) each(f func(string, V)) {
	for i := range t.slots {
		if s := &t.slots[i]; s.used {
			f(s.name, s.v)
		}
	}
}

// get returns the value of name.
func (t *nameTable[V]) get(name string) (v V, ok bool) {
	mask := len(t.slots) - 1
	for i := int(nameHash(name) >> t.shift); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !s.used {
			return v, false
		}
		if s.name == name {
			return s.v, true
		}
	}
}

// nameHash hashes the whole name with a per-process seed (maphash), so
// names that differ anywhere, such as long templated routes, spread over
// the table.
func nameHash(s string) uint64 { return maphash.String(nameSeed, s) }

var nameSeed = maphash.MakeSeed()
