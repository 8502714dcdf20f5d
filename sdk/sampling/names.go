package sampling

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// nameTable is an immutable open-addressing hash table from span names to
// values, built once and read without locks. Sampling decisions look a span
// name up on every root span, and a Go map costs about 20 ns there (aeshash of
// the whole name plus the probe); this table hashes three 8-byte words of the
// name (start, middle, end) and the length, so a lookup is one multiply, a
// probe and a string compare. Names that share all three words and the length
// collide and are told apart by the compare, so lookups are always exact.
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

// nameHash mixes the length and up to three 8-byte words of s; the top bits
// of the result index the table.
func nameHash(s string) uint64 {
	n := len(s)
	var h uint64
	if n >= 8 {
		b := unsafe.Slice(unsafe.StringData(s), n)
		h = binary.LittleEndian.Uint64(b) ^
			bits.RotateLeft64(binary.LittleEndian.Uint64(b[n/2-4:]), 21) ^
			bits.RotateLeft64(binary.LittleEndian.Uint64(b[n-8:]), 42)
	} else {
		for i := 0; i < n; i++ {
			h = h<<8 | uint64(s[i])
		}
	}
	h ^= uint64(n) << 56
	h *= 0x9e3779b97f4a7c15
	return h ^ h>>29
}
