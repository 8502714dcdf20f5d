package remotewrite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/prompb"
	writev2 "github.com/prometheus/prometheus/prompb/io/prometheus/write/v2"
)

// The request decoder.
//
// Remote write bodies are decoded by hand into a request kept in a pool, so
// that the hot part of a request (series, label names and values, float
// samples) costs no allocation: label strings and symbols alias the
// decompressed body, which belongs to the pooled buffers too. Native
// histograms, exemplars and remote write 1.0 metadata are rare and are
// decoded by the generated code into values of their own.
//
// Ownership rule: nothing that aliases the body may outlive the request.
// The storage gets, for a series it already holds, the labels it returned
// from GetRef (its own), and for a new series a copy built from owned
// strings (request.owned); metadata strings are cloned once per symbol per
// request. TestPooledBuffersAreNotRetained scribbles over the buffers after
// each request and checks what the storage kept.
//
// The hand decoder accepts the encodings senders produce (any field order,
// unknown fields, packed or unpacked label references, repeated fields
// merged as protobuf merges them). Anything else it does not handle (group
// wire types, a varint running past the end of its field, a known field
// with an unexpected wire type, ...) makes it give up, and the request is
// decoded again by the generated decoder, whose result or error is used:
// either way the result is the generated decoder's (FuzzDecoderMatchesGenerated).

// label is a name and value that may alias the body.
type label struct{ name, value string }

// sample is a float sample; st is remote write 2.0's start timestamp.
type sample struct {
	v     float64
	t, st int64
}

// span is a range [lo, hi) of one of a request's flat slices.
type span struct{ lo, hi int }

func (s span) len() int { return s.hi - s.lo }

// tseries is one TimeSeries of a request, as ranges of the request's slices.
type tseries struct {
	labels     span // v1: into request.labels; v2: into request.refs
	samples    span
	histograms span // into h1 or h2
	exemplars  span // into e1 or e2
	meta       writev2.Metadata
}

// request is a decoded remote write 1.0 or 2.0 request.
type request struct {
	v2      bool
	series  []tseries
	labels  []label  // v1
	symbols []string // v2
	refs    []uint32 // v2
	samples []sample
	h1      []prompb.Histogram
	h2      []writev2.Histogram
	e1      []prompb.Exemplar
	e2      []writev2.Exemplar
	meta    []prompb.MetricMetadata // v1

	// ownSyms caches owned copies of the v2 symbols used as metadata;
	// ownState says per symbol: 0 not yet seen, 1 valid UTF-8 and copied
	// into ownSyms, 2 invalid UTF-8.
	ownSyms  []string
	ownState []uint8
}

// reset empties r for the next request, keeping its slices.
func (r *request) reset(v2 bool) {
	r.v2 = v2
	r.series = r.series[:0]
	r.labels = r.labels[:0]
	r.symbols = r.symbols[:0]
	r.refs = r.refs[:0]
	r.samples = r.samples[:0]
	clear(r.h1)
	r.h1 = r.h1[:0]
	clear(r.h2)
	r.h2 = r.h2[:0]
	clear(r.e1)
	r.e1 = r.e1[:0]
	clear(r.e2)
	r.e2 = r.e2[:0]
	clear(r.meta)
	r.meta = r.meta[:0]
	clear(r.ownSyms)
	r.ownSyms = r.ownSyms[:0]
	r.ownState = r.ownState[:0]
}

// samplesCount is the float and histogram samples of the request.
func (r *request) samplesCount() int { return len(r.samples) + len(r.h1) + len(r.h2) }

// decode decodes body. When the hand decoder gives up, the generated one
// decodes it; its error is returned.
func (r *request) decode(body []byte, v2 bool) error {
	r.reset(v2)
	var err error
	if v2 {
		err = r.decodeV2(body)
	} else {
		err = r.decodeV1(body)
	}
	if err == nil {
		return nil
	}
	return r.decodeGenerated(body, v2)
}

// decodeGenerated decodes body with the generated decoder into r.
func (r *request) decodeGenerated(body []byte, v2 bool) error {
	r.reset(v2)
	if v2 {
		var req writev2.Request
		if err := req.Unmarshal(body); err != nil {
			return err
		}
		r.fromV2(&req)
		return nil
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(body); err != nil {
		return err
	}
	r.fromV1(&req)
	return nil
}

// fromV1 fills r (reset) from a generated remote write 1.0 request.
func (r *request) fromV1(req *prompb.WriteRequest) {
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		s := tseries{labels: span{lo: len(r.labels)}, samples: span{lo: len(r.samples)}, histograms: span{lo: len(r.h1)}, exemplars: span{lo: len(r.e1)}}
		for _, l := range ts.Labels {
			r.labels = append(r.labels, label{l.Name, l.Value})
		}
		for _, x := range ts.Samples {
			r.samples = append(r.samples, sample{v: x.Value, t: x.Timestamp})
		}
		r.h1 = append(r.h1, ts.Histograms...)
		r.e1 = append(r.e1, ts.Exemplars...)
		s.labels.hi, s.samples.hi, s.histograms.hi, s.exemplars.hi = len(r.labels), len(r.samples), len(r.h1), len(r.e1)
		r.series = append(r.series, s)
	}
	r.meta = append(r.meta, req.Metadata...)
}

// fromV2 fills r (reset) from a generated remote write 2.0 request.
func (r *request) fromV2(req *writev2.Request) {
	r.symbols = append(r.symbols, req.Symbols...)
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		s := tseries{labels: span{lo: len(r.refs)}, samples: span{lo: len(r.samples)}, histograms: span{lo: len(r.h2)}, exemplars: span{lo: len(r.e2)}, meta: ts.Metadata}
		r.refs = append(r.refs, ts.LabelsRefs...)
		for _, x := range ts.Samples {
			r.samples = append(r.samples, sample{v: x.Value, t: x.Timestamp, st: x.StartTimestamp})
		}
		r.h2 = append(r.h2, ts.Histograms...)
		r.e2 = append(r.e2, ts.Exemplars...)
		s.labels.hi, s.samples.hi, s.histograms.hi, s.exemplars.hi = len(r.refs), len(r.samples), len(r.h2), len(r.e2)
		r.series = append(r.series, s)
	}
}

// errGiveUp makes decode fall back to the generated decoder.
var errGiveUp = errors.New("not decoded by hand")

// maxField is the largest valid protobuf field number.
const maxField = 1<<29 - 1

// varint reads a varint at b[i:]: at most 10 bytes, the bits past 64
// dropped, as the generated decoder reads them.
func varint(b []byte, i int) (uint64, int, error) {
	if i < len(b) && b[i] < 0x80 {
		return uint64(b[i]), i + 1, nil
	}
	var v uint64
	for shift := uint(0); shift < 64; shift += 7 {
		if i >= len(b) {
			return 0, i, errGiveUp
		}
		c := b[i]
		i++
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, i, nil
		}
	}
	return 0, i, errGiveUp
}

// key reads a field key.
func key(b []byte, i int) (field uint64, wire uint8, next int, err error) {
	k, i, err := varint(b, i)
	if err != nil {
		return 0, 0, i, err
	}
	field, wire = k>>3, uint8(k&7)
	if field == 0 || field > maxField {
		return 0, 0, i, errGiveUp
	}
	return field, wire, i, nil
}

// bytesField reads a length-delimited field's contents.
func bytesField(b []byte, i int) ([]byte, int, error) {
	n, i, err := varint(b, i)
	if err != nil {
		return nil, i, err
	}
	if n > uint64(len(b)-i) {
		return nil, i, errGiveUp
	}
	end := i + int(n)
	return b[i:end:end], end, nil
}

// fixed64 reads a fixed64 field.
func fixed64(b []byte, i int) (uint64, int, error) {
	if len(b)-i < 8 {
		return 0, i, errGiveUp
	}
	return binary.LittleEndian.Uint64(b[i:]), i + 8, nil
}

// skip skips an unknown field's value of wire type wire.
func skip(b []byte, i int, wire uint8) (int, error) {
	var err error
	switch wire {
	case 0:
		_, i, err = varint(b, i)
	case 1:
		if len(b)-i < 8 {
			return i, errGiveUp
		}
		i += 8
	case 2:
		_, i, err = bytesField(b, i)
	case 5:
		if len(b)-i < 4 {
			return i, errGiveUp
		}
		i += 4
	default: // groups (3, 4) and invalid wire types
		return i, errGiveUp
	}
	return i, err
}

// yolo returns a string aliasing b (which must not change while the
// string is in use: the body of one request).
func yolo(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (r *request) decodeV1(b []byte) error {
	for i := 0; i < len(b); {
		field, wire, next, err := key(b, i)
		if err != nil {
			return err
		}
		i = next
		switch field {
		case 1: // timeseries
			if wire != 2 {
				return errGiveUp
			}
			var m []byte
			if m, i, err = bytesField(b, i); err != nil {
				return err
			}
			if err := r.decodeSeriesV1(m); err != nil {
				return err
			}
		case 3: // metadata
			if wire != 2 {
				return errGiveUp
			}
			var m []byte
			if m, i, err = bytesField(b, i); err != nil {
				return err
			}
			r.meta = append(r.meta, prompb.MetricMetadata{})
			if err := r.meta[len(r.meta)-1].Unmarshal(m); err != nil {
				return errGiveUp
			}
		default:
			if i, err = skip(b, i, wire); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *request) decodeSeriesV1(b []byte) error {
	s := tseries{labels: span{lo: len(r.labels)}, samples: span{lo: len(r.samples)}, histograms: span{lo: len(r.h1)}, exemplars: span{lo: len(r.e1)}}
	for i := 0; i < len(b); {
		field, wire, next, err := key(b, i)
		if err != nil {
			return err
		}
		i = next
		if field >= 1 && field <= 4 {
			if wire != 2 {
				return errGiveUp
			}
			var m []byte
			if m, i, err = bytesField(b, i); err != nil {
				return err
			}
			switch field {
			case 1:
				err = r.decodeLabel(m)
			case 2:
				err = r.decodeSample(m, false)
			case 3:
				r.e1 = append(r.e1, prompb.Exemplar{})
				err = r.e1[len(r.e1)-1].Unmarshal(m)
			case 4:
				r.h1 = append(r.h1, prompb.Histogram{})
				err = r.h1[len(r.h1)-1].Unmarshal(m)
			}
			if err != nil {
				return errGiveUp
			}
			continue
		}
		if i, err = skip(b, i, wire); err != nil {
			return err
		}
	}
	s.labels.hi, s.samples.hi, s.histograms.hi, s.exemplars.hi = len(r.labels), len(r.samples), len(r.h1), len(r.e1)
	r.series = append(r.series, s)
	return nil
}

func (r *request) decodeLabel(b []byte) error {
	var l label
	for i := 0; i < len(b); {
		field, wire, next, err := key(b, i)
		if err != nil {
			return err
		}
		i = next
		if field == 1 || field == 2 {
			if wire != 2 {
				return errGiveUp
			}
			var m []byte
			if m, i, err = bytesField(b, i); err != nil {
				return err
			}
			if field == 1 {
				l.name = yolo(m)
			} else {
				l.value = yolo(m)
			}
			continue
		}
		if i, err = skip(b, i, wire); err != nil {
			return err
		}
	}
	r.labels = append(r.labels, l)
	return nil
}

// decodeSample decodes a Sample of either version (1.0 has no field 3).
func (r *request) decodeSample(b []byte, v2 bool) error {
	var s sample
	for i := 0; i < len(b); {
		field, wire, next, err := key(b, i)
		if err != nil {
			return err
		}
		i = next
		switch {
		case field == 1:
			if wire != 1 {
				return errGiveUp
			}
			var v uint64
			if v, i, err = fixed64(b, i); err != nil {
				return err
			}
			s.v = math.Float64frombits(v)
		case field == 2 || field == 3 && v2:
			if wire != 0 {
				return errGiveUp
			}
			var v uint64
			if v, i, err = varint(b, i); err != nil {
				return err
			}
			if field == 2 {
				s.t = int64(v)
			} else {
				s.st = int64(v)
			}
		default:
			if i, err = skip(b, i, wire); err != nil {
				return err
			}
		}
	}
	r.samples = append(r.samples, s)
	return nil
}

func (r *request) decodeV2(b []byte) error {
	for i := 0; i < len(b); {
		field, wire, next, err := key(b, i)
		if err != nil {
			return err
		}
		i = next
		switch field {
		case 4, 5: // symbols, timeseries
			if wire != 2 {
				return errGiveUp
			}
			var m []byte
			if m, i, err = bytesField(b, i); err != nil {
				return err
			}
			if field == 4 {
				r.symbols = append(r.symbols, yolo(m))
			} else if err := r.decodeSeriesV2(m); err != nil {
				return err
			}
		default:
			if i, err = skip(b, i, wire); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *request) decodeSeriesV2(b []byte) error {
	s := tseries{labels: span{lo: len(r.refs)}, samples: span{lo: len(r.samples)}, histograms: span{lo: len(r.h2)}, exemplars: span{lo: len(r.e2)}}
	for i := 0; i < len(b); {
		field, wire, next, err := key(b, i)
		if err != nil {
			return err
		}
		i = next
		switch {
		case field == 1 && wire == 0: // one label reference
			var v uint64
			if v, i, err = varint(b, i); err != nil {
				return err
			}
			r.refs = append(r.refs, uint32(v))
		case field == 1 && wire == 2: // packed label references
			var m []byte
			if m, i, err = bytesField(b, i); err != nil {
				return err
			}
			for j := 0; j < len(m); {
				var v uint64
				if v, j, err = varint(m, j); err != nil {
					return err
				}
				r.refs = append(r.refs, uint32(v))
			}
		case field >= 1 && field <= 5:
			if wire != 2 {
				return errGiveUp
			}
			var m []byte
			if m, i, err = bytesField(b, i); err != nil {
				return err
			}
			switch field {
			case 2:
				err = r.decodeSample(m, true)
			case 3:
				r.h2 = append(r.h2, writev2.Histogram{})
				err = r.h2[len(r.h2)-1].Unmarshal(m)
			case 4:
				r.e2 = append(r.e2, writev2.Exemplar{})
				err = r.e2[len(r.e2)-1].Unmarshal(m)
			case 5: // merged into what came before, as protobuf does
				err = s.meta.Unmarshal(m)
			}
			if err != nil {
				return errGiveUp
			}
		default:
			if i, err = skip(b, i, wire); err != nil {
				return err
			}
		}
	}
	s.labels.hi, s.samples.hi, s.histograms.hi, s.exemplars.hi = len(r.refs), len(r.samples), len(r.h2), len(r.e2)
	r.series = append(r.series, s)
	return nil
}

// lookupLabels builds the labels of s into b's reused buffer: they alias
// the builder and the body, for looking the series up and checking it
// only. v2: an invalid symbol reference is an error.
func (r *request) lookupLabels(s *tseries, b *labels.ScratchBuilder, ls *labels.Labels) error {
	b.Reset()
	if err := r.addLabels(s, b); err != nil {
		return err
	}
	b.Sort()
	b.Overwrite(ls)
	return nil
}

// ownedLabels returns the labels of s as a value of their own, which the
// storage may keep. b must have SetUnsafeAdd(true) (slice-backed label
// implementations then copy the strings; the default one copies always).
func (r *request) ownedLabels(s *tseries, b *labels.ScratchBuilder) labels.Labels {
	b.Reset()
	_ = r.addLabels(s, b) // checked by lookupLabels
	b.Sort()
	return b.Labels()
}

func (r *request) addLabels(s *tseries, b *labels.ScratchBuilder) error {
	if !r.v2 {
		for _, l := range r.labels[s.labels.lo:s.labels.hi] {
			b.Add(l.name, l.value)
		}
		return nil
	}
	refs := r.refs[s.labels.lo:s.labels.hi]
	if len(refs)%2 != 0 {
		return fmt.Errorf("invalid labelRefs length %d", len(refs))
	}
	for i := 0; i < len(refs); i += 2 {
		n, v := refs[i], refs[i+1]
		if int(n) >= len(r.symbols) || int(v) >= len(r.symbols) {
			return fmt.Errorf("labelRefs %d (name) = %d (value) outside of symbols table (size %d)", n, v, len(r.symbols))
		}
		b.Add(r.symbols[n], r.symbols[v])
	}
	return nil
}

// metadataV2 returns the metadata of a v2 series with owned strings, or
// false when it has none the storage can take (a reference outside the
// symbols, or text that is not UTF-8).
func (r *request) metadataV2(s *tseries) (metadata.Metadata, bool) {
	m, err := writev2.TimeSeries{Metadata: s.meta}.ToMetadata(r.symbols)
	if err != nil {
		return metadata.Metadata{}, false
	}
	var ok1, ok2 bool
	m.Help, ok1 = r.ownSymbol(s.meta.HelpRef)
	m.Unit, ok2 = r.ownSymbol(s.meta.UnitRef)
	if !ok1 || !ok2 {
		return metadata.Metadata{}, false
	}
	return m, true
}

// ownSymbol returns an owned copy of symbol ref (in range), copied once per
// request, and whether it is valid UTF-8.
func (r *request) ownSymbol(ref uint32) (string, bool) {
	if n := len(r.symbols); len(r.ownState) != n { // the first call of the request
		if cap(r.ownState) < n {
			r.ownState, r.ownSyms = make([]uint8, n), make([]string, n)
		} else {
			r.ownState, r.ownSyms = r.ownState[:n], r.ownSyms[:n]
			clear(r.ownState)
		}
	}
	switch r.ownState[ref] {
	case 1:
		return r.ownSyms[ref], true
	case 2:
		return "", false
	}
	s := r.symbols[ref]
	if !utf8.ValidString(s) {
		r.ownState[ref] = 2
		return "", false
	}
	r.ownSyms[ref], r.ownState[ref] = strings.Clone(s), 1
	return r.ownSyms[ref], true
}

// buffers are the pooled memory of one request: the compressed body, the
// decompressed one and the decoded request (which aliases the latter).
type buffers struct {
	compressed []byte
	body       []byte
	req        request
}

var bufferPool = sync.Pool{New: func() any { return new(buffers) }}

// maxPooled bounds the buffers kept for reuse: a rare huge request does
// not pin its memory.
const (
	maxPooledBytes  = 8 << 20
	maxPooledSeries = 50_000
)

func getBuffers() *buffers { return bufferPool.Get().(*buffers) }

func putBuffers(b *buffers) {
	if testScribble != nil {
		testScribble(b)
	}
	if cap(b.compressed) > maxPooledBytes || cap(b.body) > maxPooledBytes || cap(b.req.series) > maxPooledSeries ||
		cap(b.req.labels) > 20*maxPooledSeries || cap(b.req.refs) > 40*maxPooledSeries || cap(b.req.samples) > 10*maxPooledSeries {
		return
	}
	b.req.reset(false)
	bufferPool.Put(b)
}

// testScribble, set by tests, sees the buffers of each request once it has
// been stored.
var testScribble func(*buffers)

// maxSizeHint bounds the memory taken up front on the word of a
// Content-Length: a client announcing a large body and sending a small one
// must not make each request allocate the limit.
const maxSizeHint = 1 << 20

// readBody reads r into buf's memory, reading at most max+1 bytes.
func readBody(r io.Reader, buf []byte, sizeHint int64, max int64) ([]byte, error) {
	buf = buf[:0]
	sizeHint = min(sizeHint, max, maxSizeHint)
	if sizeHint > 0 && int64(cap(buf)) < sizeHint+1 {
		buf = make([]byte, 0, sizeHint+1) // +1: the read that sees EOF
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		room := buf[len(buf):cap(buf)]
		if int64(len(buf)+len(room)) > max+1 {
			room = room[:max+1-int64(len(buf))]
		}
		n, err := r.Read(room)
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
		if int64(len(buf)) > max {
			return buf, nil
		}
	}
}
