package sampling

import (
	"encoding/binary"
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

// nameHash hashes every byte of the name, eight at a time, with a
// per-process seed, so names that differ anywhere (long templated routes,
// say) spread over the table. For the short names spans have it is a few
// multiplies, cheaper than maphash.
func nameHash(s string) uint64 {
	h := nameSeed ^ uint64(len(s))*0x9e3779b97f4a7c15
	for len(s) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64([]byte(s[:8]))) * 0xff51afd7ed558ccd
		h ^= h >> 29
		s = s[8:]
	}
	if n := len(s); n > 0 {
		// Overlapping loads cover the tail exactly (the length is mixed in).
		var t uint64
		if n >= 4 {
			t = uint64(binary.LittleEndian.Uint32([]byte(s[:4])))<<32 | uint64(binary.LittleEndian.Uint32([]byte(s[n-4:])))
		} else {
			t = uint64(s[0])<<16 | uint64(s[n>>1])<<8 | uint64(s[n-1])
		}
		h = (h ^ t) * 0xff51afd7ed558ccd
		h ^= h >> 29
	}
	h *= 0x9e3779b97f4a7c15
	return h ^ h>>32
}

var nameSeed = maphash.Comparable(maphash.MakeSeed(), 0)
