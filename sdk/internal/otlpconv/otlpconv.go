// Package otlpconv converts attributes to OTLP protobuf messages carved
// from slabs, so that a batch of spans or log records costs a handful of
// allocations rather than several per attribute. The tracing and logging
// packages' export goroutines each own one Attrs and reset it between
// batches, after the OTLP client has marshalled the messages.
package otlpconv

import (
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
)

// Slab hands out zeroed values from chunks of 128, allocated as needed and
// kept for reuse after Reset.
type Slab[T any] struct {
	chunks [][]T
	c, i   int // next value: chunks[c][i]
}

// Next returns a zeroed value.
func (s *Slab[T]) Next() *T {
	if s.c == len(s.chunks) {
		s.chunks = append(s.chunks, make([]T, 128))
	}
	ch := s.chunks[s.c]
	v := &ch[s.i]
	var zero T
	*v = zero
	if s.i++; s.i == len(ch) {
		s.c, s.i = s.c+1, 0
	}
	return v
}

// Reset makes every value reusable; values handed out before must no
// longer be referenced.
func (s *Slab[T]) Reset() { s.c, s.i = 0, 0 }

// Attrs converts attribute values. The zero value is ready to use.
type Attrs struct {
	kvs     Slab[commonpb.KeyValue]
	anys    Slab[commonpb.AnyValue]
	strs    Slab[commonpb.AnyValue_StringValue]
	ints    Slab[commonpb.AnyValue_IntValue]
	doubles Slab[commonpb.AnyValue_DoubleValue]
	bools   Slab[commonpb.AnyValue_BoolValue]
}

// Reset makes the slabs' values reusable.
func (c *Attrs) Reset() {
	c.kvs.Reset()
	c.anys.Reset()
	c.strs.Reset()
	c.ints.Reset()
	c.doubles.Reset()
	c.bools.Reset()
}

// KeyValues converts attrs (nil for none).
func (c *Attrs) KeyValues(attrs []attribute.KeyValue) []*commonpb.KeyValue {
	if len(attrs) == 0 {
		return nil
	}
	out := make([]*commonpb.KeyValue, len(attrs))
	for i, a := range attrs {
		kv := c.kvs.Next()
		kv.Key = ValidUTF8(string(a.Key))
		kv.Value = c.Value(a.Value)
		out[i] = kv
	}
	return out
}

// Value converts one value.
func (c *Attrs) Value(v attribute.Value) *commonpb.AnyValue {
	av := c.anys.Next()
	switch v.Type() {
	case attribute.STRING:
		x := c.strs.Next()
		x.StringValue = ValidUTF8(v.AsString())
		av.Value = x
	case attribute.INT64:
		x := c.ints.Next()
		x.IntValue = v.AsInt64()
		av.Value = x
	case attribute.FLOAT64:
		x := c.doubles.Next()
		x.DoubleValue = v.AsFloat64()
		av.Value = x
	case attribute.BOOL:
		x := c.bools.Next()
		x.BoolValue = v.AsBool()
		av.Value = x
	case attribute.BYTESLICE:
		av.Value = &commonpb.AnyValue_BytesValue{BytesValue: v.AsByteSlice()}
	case attribute.BOOLSLICE:
		xs := v.AsBoolSlice()
		av.Value = c.array(len(xs), func(i int) attribute.Value { return attribute.BoolValue(xs[i]) })
	case attribute.INT64SLICE:
		xs := v.AsInt64Slice()
		av.Value = c.array(len(xs), func(i int) attribute.Value { return attribute.Int64Value(xs[i]) })
	case attribute.FLOAT64SLICE:
		xs := v.AsFloat64Slice()
		av.Value = c.array(len(xs), func(i int) attribute.Value { return attribute.Float64Value(xs[i]) })
	case attribute.STRINGSLICE:
		xs := v.AsStringSlice()
		av.Value = c.array(len(xs), func(i int) attribute.Value { return attribute.StringValue(xs[i]) })
	case attribute.SLICE:
		xs := v.AsSlice()
		av.Value = c.array(len(xs), func(i int) attribute.Value { return xs[i] })
	case attribute.MAP:
		av.Value = &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: c.KeyValues(v.AsMap())}}
	case attribute.EMPTY:
	default:
		x := c.strs.Next()
		x.StringValue = "INVALID"
		av.Value = x
	}
	return av
}

func (c *Attrs) array(n int, at func(int) attribute.Value) *commonpb.AnyValue_ArrayValue {
	vals := make([]*commonpb.AnyValue, n)
	for i := range vals {
		vals[i] = c.Value(at(i))
	}
	return &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vals}}
}

// KeyValues converts attributes outside a batch (resource, scope): the
// messages are allocated, not carved from reusable slabs.
func KeyValues(attrs []attribute.KeyValue) []*commonpb.KeyValue {
	var c Attrs
	return c.KeyValues(attrs)
}

// ValidUTF8 replaces what is not UTF-8 in s by U+FFFD: protobuf refuses
// such strings, and one would otherwise fail the whole batch.
func ValidUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
