package traces

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The tag index keeps, for each block of spans (the spans of one
// request), a bloom filter of what a search can ask of them: the service,
// the operation, and every key=value a tag search can match (see
// tagCondition) as a token, the hash of the JSON fragment `"key",V` with V
// the value as attrs.go stores it. A search asks, for each of its
// conditions, for any of the tokens that would satisfy it (the string "500"
// also as the int 500 and the double 500); a block whose filter lacks them
// cannot hold a matching span, and its rows are not read.
//
// The tokens of a span, exactly what tagCondition can match:
//   - each attribute of the span, its events and its resource whose value
//     is a string, int, bool or finite double, at any depth of maps (also
//     maps inside arrays: contains() finds their pairs too);
//   - for a map attribute of the span, each of its scalar entries under
//     the flattened name outer.inner (flatTagCondition);
//   - event=name for each event;
//   - the tags derived from span fields: span.kind, error=true,
//     otel.status_code, otel.status_description, otel.scope.name,
//     otel.scope.version, w3c.tracestate.
//
// The filter uses tagHashes positions per token (double hashing of one
// 64-bit hash), each the top bits of a 64-bit value, so a filter of 2^k
// bits can be folded to 2^(k-1) by ORing neighbouring bits: a block is
// built in a scratch filter and folded to the smallest power of two of at
// least bitsPerTag bits per distinct token: 10-20 bits, 0.03-0.8% false
// positives per token asked.

const (
	tagScratchLog  = 20
	tagScratchBits = 1 << tagScratchLog // 128 KiB, in the CPU cache
	minTagBits     = 512
	bitsPerTag     = 10
	tagHashes      = 6
)

// tagBuilder collects the tokens of one block's spans. The zero value is
// ready to use; finish makes it reusable.
type tagBuilder struct {
	w            *[tagScratchBits / 64]uint64
	spans        int
	minTs, maxTs int64
	buf          []byte
}

// tagPositions returns the two hashes of token h whose combinations
// h1+i*h2 give its positions.
func tagPositions(h uint64) (h1, h2 uint64) {
	return h, bits.RotateLeft64(h, 32)*0x9E3779B97F4A7C15 | 1
}

func (b *tagBuilder) addHash(h uint64) {
	h1, h2 := tagPositions(h)
	w := b.w
	for i := uint64(0); i < tagHashes; i++ {
		p := (h1 + i*h2) >> (64 - tagScratchLog)
		w[p>>6] |= 1 << (p & 63)
	}
}

// addKV adds the token of key=val, val in its stored form (V of attrs.go).
func (b *tagBuilder) addKV(key string, val []byte) {
	b.buf = appendJSONString(b.buf[:0], key)
	b.buf = append(b.buf, ',')
	b.buf = append(b.buf, val...)
	b.addHash(xxhash.Sum64(b.buf))
}

// addStr adds the token of key="val".
func (b *tagBuilder) addStr(key, val string) {
	b.buf = appendJSONString(b.buf[:0], key)
	b.buf = append(b.buf, ',')
	b.buf = appendJSONString(b.buf, val)
	b.addHash(xxhash.Sum64(b.buf))
}

// addValue adds the token of key=v when v is a value a tag can match.
func (b *tagBuilder) addValue(key string, v pcommon.Value) {
	b.buf = appendJSONString(b.buf[:0], key)
	b.buf = append(b.buf, ',')
	switch v.Type() {
	case pcommon.ValueTypeStr:
		b.buf = appendJSONString(b.buf, v.Str())
	case pcommon.ValueTypeBool:
		b.buf = strconv.AppendBool(b.buf, v.Bool())
	case pcommon.ValueTypeInt:
		b.buf = append(b.buf, `{"i":`...)
		b.buf = strconv.AppendInt(b.buf, v.Int(), 10)
		b.buf = append(b.buf, '}')
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return // stored as a string in {"d":...}, which no tag value reads as
		}
		b.buf = append(b.buf, `{"d":`...)
		b.buf = strconv.AppendFloat(b.buf, f, 'g', -1, 64)
		b.buf = append(b.buf, '}')
	default:
		return
	}
	b.addHash(xxhash.Sum64(b.buf))
}

// addAttrs adds the tokens of an attribute list and of the lists nested in
// it; top marks a span's own attributes, whose maps also match by
// flattened name.
func (b *tagBuilder) addAttrs(m pcommon.Map, top bool) {
	for k, v := range m.All() {
		switch v.Type() {
		case pcommon.ValueTypeMap:
			b.addAttrs(v.Map(), false)
			if top {
				for ik, iv := range v.Map().All() {
					b.addValue(k+"."+ik, iv)
				}
			}
		case pcommon.ValueTypeSlice:
			b.addSlice(v.Slice())
		default:
			b.addValue(k, v)
		}
	}
}

// addSlice adds the tokens of the maps inside an array value.
func (b *tagBuilder) addSlice(s pcommon.Slice) {
	for i := 0; i < s.Len(); i++ {
		switch e := s.At(i); e.Type() {
		case pcommon.ValueTypeMap:
			b.addAttrs(e.Map(), false)
		case pcommon.ValueTypeSlice:
			b.addSlice(e.Slice())
		}
	}
}

// Prefixes of the service and operation tokens; no JSON fragment starts
// with a NUL byte.
const (
	serviceToken   = "\x00service\x00"
	operationToken = "\x00operation\x00"
)

func serviceHash(service string) uint64 { return xxhash.Sum64String(serviceToken + service) }
func operationHash(name string) uint64  { return xxhash.Sum64String(operationToken + name) }

func (b *tagBuilder) ensure() {
	if b.w == nil {
		b.w = new([tagScratchBits / 64]uint64)
	}
}

// addResource adds the tokens its spans share: the service and the
// resource's attributes.
func (b *tagBuilder) addResource(r *resourceRow, res pcommon.Resource) {
	b.ensure()
	b.addHash(serviceHash(r.service))
	b.addAttrs(res.Attributes(), false)
}

// addScope adds the tokens of the scope's derived tags.
func (b *tagBuilder) addScope(sc *scopeRow) {
	b.ensure()
	b.addStr("otel.scope.name", sc.name)
	b.addStr("otel.scope.version", sc.version)
}

// addSpan adds a span's own tokens.
func (b *tagBuilder) addSpan(sp ptrace.Span) {
	b.ensure()
	st := int64(sp.StartTimestamp())
	if b.spans == 0 || st < b.minTs {
		b.minTs = st
	}
	if b.spans == 0 || st > b.maxTs {
		b.maxTs = st
	}
	b.spans++
	b.addHash(operationHash(validUTF8(sp.Name())))
	b.addAttrs(sp.Attributes(), true)
	evs := sp.Events()
	for i := 0; i < evs.Len(); i++ {
		e := evs.At(i)
		b.addStr("event", e.Name())
		b.addAttrs(e.Attributes(), false)
	}
	if k := jaegerSpanKind(sp.Kind()); k != "" {
		b.addStr("span.kind", k)
	}
	switch sp.Status().Code() {
	case ptrace.StatusCodeError:
		b.addStr("error", "true")
		b.addStr("otel.status_code", "ERROR")
	case ptrace.StatusCodeOk:
		b.addStr("otel.status_code", "OK")
	}
	b.addStr("otel.status_description", validUTF8(sp.Status().Message()))
	b.addStr("w3c.tracestate", validUTF8(sp.TraceState().AsRaw()))
}

// finish returns the block's filter, folded to about bitsPerTag bits per
// distinct token, and resets b.
func (b *tagBuilder) finish() []uint64 {
	b.ensure()
	set := 0
	for _, x := range b.w {
		set += bits.OnesCount64(x)
	}
	// Distinct tokens behind set bits of m with k positions each.
	n := float64(tagScratchBits)
	if set < tagScratchBits {
		n = -float64(tagScratchBits) / tagHashes * math.Log(1-float64(set)/tagScratchBits)
	}
	m := minTagBits
	for m < tagScratchBits && float64(m) < n*bitsPerTag {
		m *= 2
	}
	w := b.w[:]
	for len(w) > m/64 {
		// Bit j of the half is bits 2j and 2j+1 of w.
		half := len(w) / 2
		for i := 0; i < half; i++ {
			w[i] = foldPairs(w[2*i]) | foldPairs(w[2*i+1])<<32
		}
		w = w[:half]
	}
	out := append([]uint64(nil), w...)
	clear(b.w[:])
	b.spans = 0
	return out
}

// foldPairs ORs each pair of neighbouring bits of x into one bit of the
// result's low 32 bits.
func foldPairs(x uint64) uint64 {
	x = (x | x>>1) & 0x5555555555555555
	x = (x | x>>1) & 0x3333333333333333
	x = (x | x>>2) & 0x0F0F0F0F0F0F0F0F
	x = (x | x>>4) & 0x00FF00FF00FF00FF
	x = (x | x>>8) & 0x0000FFFF0000FFFF
	return (x | x>>16) & 0x00000000FFFFFFFF
}

// hasToken says whether filter w may hold token h.
func hasToken(w []uint64, h uint64) bool {
	logm := uint(bits.Len(uint(len(w)*64)) - 1)
	h1, h2 := tagPositions(h)
	for i := uint64(0); i < tagHashes; i++ {
		p := (h1 + i*h2) >> (64 - logm)
		if w[p>>6]&(1<<(p&63)) == 0 {
			return false
		}
	}
	return true
}

// tagNeed is what one search condition asks of a block: any of these
// tokens.
type tagNeed []uint64

// mayMatch says whether a block with filter w may hold a span every need
// keeps; a nil w (a block without an index) may always.
func mayMatchTags(w []uint64, needs []tagNeed) bool {
	if w == nil {
		return true
	}
	for _, need := range needs {
		ok := false
		for _, h := range need {
			if hasToken(w, h) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// queryNeeds returns what q asks of a block (all of the needs): its
// service, operation and tags. Durations are not indexed.
func queryNeeds(q TraceQuery) []tagNeed {
	var needs []tagNeed
	if q.Service != "" {
		needs = append(needs, tagNeed{serviceHash(q.Service)})
	}
	if q.Operation != "" {
		needs = append(needs, tagNeed{operationHash(q.Operation)})
	}
	for k, v := range q.Tags {
		key := appendJSONString(nil, k)
		var need tagNeed
		for _, val := range tagValues(v) {
			frag := append(append(append([]byte(nil), key...), ','), val...)
			need = append(need, xxhash.Sum64(frag))
		}
		needs = append(needs, need)
	}
	return needs
}
