package otlpconv

// The wire format of attributes and the helpers of the tracing and logging
// packages' encoders, which write OTLP protobuf straight from spans and
// log records instead of building messages to marshal: byte for byte what
// the messages of Attrs would marshal to.

import (
	"math"

	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of common/v1's KeyValue, AnyValue, ArrayValue and
// KeyValueList.
const (
	kvKey, kvValue                                                = 1, 2
	avString, avBool, avInt, avDouble, avArray, avKvlist, avBytes = 1, 2, 3, 4, 5, 6, 7
	arrValues, kvlValues                                          = 1, 1
)

// AppendKeyValues writes each attribute as a KeyValue message in field,
// as Attrs.KeyValues converts them.
func AppendKeyValues(b []byte, field protowire.Number, kvs []attribute.KeyValue) []byte {
	for _, kv := range kvs {
		b = protowire.AppendTag(b, field, protowire.BytesType)
		var at int
		b, at = BeginLen(b)
		b = AppendString(b, kvKey, ValidUTF8(string(kv.Key)))
		b = protowire.AppendTag(b, kvValue, protowire.BytesType)
		var at2 int
		b, at2 = BeginLen(b)
		b = AppendAnyValue(b, kv.Value)
		b = EndLen(b, at2)
		b = EndLen(b, at)
	}
	return b
}

// AppendAnyValue writes the content of an AnyValue as otlpconv.Attrs
// converts it. A oneof member is written even when it is its zero value.
func AppendAnyValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.STRING:
		b = protowire.AppendTag(b, avString, protowire.BytesType)
		return protowire.AppendString(b, ValidUTF8(v.AsString()))
	case attribute.INT64:
		b = protowire.AppendTag(b, avInt, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(v.AsInt64()))
	case attribute.FLOAT64:
		b = protowire.AppendTag(b, avDouble, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(v.AsFloat64()))
	case attribute.BOOL:
		b = protowire.AppendTag(b, avBool, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeBool(v.AsBool()))
	case attribute.BYTESLICE:
		b = protowire.AppendTag(b, avBytes, protowire.BytesType)
		return protowire.AppendBytes(b, v.AsByteSlice())
	case attribute.BOOLSLICE:
		xs := v.AsBoolSlice()
		return appendArray(b, len(xs), func(b []byte, i int) []byte { return AppendAnyValue(b, attribute.BoolValue(xs[i])) })
	case attribute.INT64SLICE:
		xs := v.AsInt64Slice()
		return appendArray(b, len(xs), func(b []byte, i int) []byte { return AppendAnyValue(b, attribute.Int64Value(xs[i])) })
	case attribute.FLOAT64SLICE:
		xs := v.AsFloat64Slice()
		return appendArray(b, len(xs), func(b []byte, i int) []byte { return AppendAnyValue(b, attribute.Float64Value(xs[i])) })
	case attribute.STRINGSLICE:
		xs := v.AsStringSlice()
		return appendArray(b, len(xs), func(b []byte, i int) []byte { return AppendAnyValue(b, attribute.StringValue(xs[i])) })
	case attribute.SLICE:
		xs := v.AsSlice()
		return appendArray(b, len(xs), func(b []byte, i int) []byte { return AppendAnyValue(b, xs[i]) })
	case attribute.MAP:
		b = protowire.AppendTag(b, avKvlist, protowire.BytesType)
		var at int
		b, at = BeginLen(b)
		b = AppendKeyValues(b, kvlValues, v.AsMap())
		return EndLen(b, at)
	case attribute.EMPTY:
		return b
	default:
		b = protowire.AppendTag(b, avString, protowire.BytesType)
		return protowire.AppendString(b, "INVALID")
	}
}

func appendArray(b []byte, n int, elem func([]byte, int) []byte) []byte {
	b = protowire.AppendTag(b, avArray, protowire.BytesType)
	var at int
	b, at = BeginLen(b)
	for i := range n {
		b = protowire.AppendTag(b, arrValues, protowire.BytesType)
		var at2 int
		b, at2 = BeginLen(b)
		b = elem(b, i)
		b = EndLen(b, at2)
	}
	return EndLen(b, at)
}

// AppendString, AppendVarint and AppendFixed64 write a proto3 scalar
// field, left out when it holds its zero value, as protobuf does.
func AppendString(b []byte, field protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func AppendVarint(b []byte, field protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func AppendFixed64(b []byte, field protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

// BeginLen appends a one-byte placeholder for the length of a nested
// message and returns where the message starts; EndLen writes the length,
// moving the message when it needs more than one byte (128 bytes or more).
func BeginLen(b []byte) ([]byte, int) { return append(b, 0), len(b) + 1 }

var zeros [binaryMaxVarintLen64]byte

const binaryMaxVarintLen64 = 10

func EndLen(b []byte, start int) []byte {
	n := len(b) - start
	if n < 0x80 {
		b[start-1] = byte(n)
		return b
	}
	k := protowire.SizeVarint(uint64(n))
	b = append(b, zeros[:k-1]...)
	copy(b[start+k-1:], b[start:start+n])
	protowire.AppendVarint(b[:start-1], uint64(n)) // writes k bytes in place
	return b
}
