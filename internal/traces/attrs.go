package traces

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fastjson"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Attributes are stored as compact typed JSON so that every OTLP value type
// survives the round trip (int vs double, bytes, nested arrays and maps):
//
//	attrs  = [[key, V], ...]
//	V      = "str" | true | false | null (empty)
//	       | {"i": 123} | {"d": 1.5} | {"d": "NaN"|"Inf"|"-Inf"}
//	       | {"b": "<base64>"} | {"a": [V, ...]} | {"m": attrs}
//
// A value is never a bare JSON array, so a key/value pair ["k",V] can only
// follow "[" or "," where it is an element of an attribute list: tag search
// relies on that (see tagNeedles). Strings that are not valid UTF-8 are
// stored with U+FFFD replacements, as in OTLP JSON.

func appendAttrs(b []byte, m pcommon.Map) []byte {
	b = append(b, '[')
	first := true
	for k, v := range m.All() {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '[')
		b = appendJSONString(b, k)
		b = append(b, ',')
		b = appendValue(b, v)
		b = append(b, ']')
	}
	return append(b, ']')
}

func appendValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return appendJSONString(b, v.Str())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(b, v.Bool())
	case pcommon.ValueTypeInt:
		b = append(b, `{"i":`...)
		b = strconv.AppendInt(b, v.Int(), 10)
		return append(b, '}')
	case pcommon.ValueTypeDouble:
		f := v.Double()
		b = append(b, `{"d":`...)
		switch {
		case math.IsNaN(f):
			b = append(b, `"NaN"`...)
		case math.IsInf(f, 1):
			b = append(b, `"Inf"`...)
		case math.IsInf(f, -1):
			b = append(b, `"-Inf"`...)
		default:
			b = strconv.AppendFloat(b, f, 'g', -1, 64)
		}
		return append(b, '}')
	case pcommon.ValueTypeBytes:
		b = append(b, `{"b":"`...)
		b = base64.StdEncoding.AppendEncode(b, v.Bytes().AsRaw())
		return append(b, `"}`...)
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		b = append(b, `{"a":[`...)
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, s.At(i))
		}
		return append(b, ']', '}')
	case pcommon.ValueTypeMap:
		b = append(b, `{"m":`...)
		b = appendAttrs(b, v.Map())
		return append(b, '}')
	}
	return append(b, "null"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// decodeAttrs fills m (which should be empty) from stored JSON.
func decodeAttrs(s string, m pcommon.Map) error {
	if s == "" || s == "[]" {
		return nil
	}
	return parseStored(s, func(v *fastjson.Value) error { return attrsFromJSON(v, m) })
}

// storedParsers parse stored JSON (attributes, events, links) without
// building an interface{} tree: a trace view decodes every span's lists,
// and encoding/json's generic decoding was a third of a 10,000-span
// trace's fetch (BenchmarkJaegerTrace). A parser's values are valid until
// its next Parse, so every string is copied out.
var storedParsers fastjson.ParserPool

func parseStored(s string, f func(*fastjson.Value) error) error {
	p := storedParsers.Get()
	defer storedParsers.Put(p)
	v, err := p.Parse(s)
	if err != nil {
		return fmt.Errorf("decode stored attributes: %w", err)
	}
	return f(v)
}

var errBadAttrs = errors.New("stored attributes are malformed")

func attrsFromJSON(x *fastjson.Value, m pcommon.Map) error {
	list, err := x.Array()
	if err != nil {
		return errBadAttrs
	}
	m.EnsureCapacity(len(list))
	for _, e := range list {
		kv, err := e.Array()
		if err != nil || len(kv) != 2 || kv[0].Type() != fastjson.TypeString {
			return errBadAttrs
		}
		if err := valueFromJSON(kv[1], m.PutEmpty(jsonStr(kv[0]))); err != nil {
			return err
		}
	}
	return nil
}

func valueFromJSON(x *fastjson.Value, v pcommon.Value) error {
	switch x.Type() {
	case fastjson.TypeNull:
		return nil
	case fastjson.TypeString:
		v.SetStr(jsonStr(x))
		return nil
	case fastjson.TypeTrue:
		v.SetBool(true)
		return nil
	case fastjson.TypeFalse:
		v.SetBool(false)
		return nil
	case fastjson.TypeObject:
	default:
		return errBadAttrs
	}
	o := x.GetObject()
	if o.Len() != 1 {
		return errBadAttrs
	}
	err := errBadAttrs
	o.Visit(func(k []byte, inner *fastjson.Value) {
		err = typedFromJSON(string(k), inner, v)
	})
	return err
}

// typedFromJSON decodes {"i": ...}, {"d": ...}, {"b": ...}, {"a": ...} and
// {"m": ...}, the typed forms of V (k is the key).
func typedFromJSON(k string, inner *fastjson.Value, v pcommon.Value) error {
	switch k {
	case "i":
		if inner.Type() != fastjson.TypeNumber {
			return errBadAttrs
		}
		i, err := strconv.ParseInt(numberText(inner), 10, 64)
		if err != nil {
			return errBadAttrs
		}
		v.SetInt(i)
	case "d":
		switch inner.Type() {
		case fastjson.TypeNumber:
			f, err := strconv.ParseFloat(numberText(inner), 64)
			if err != nil {
				return errBadAttrs
			}
			v.SetDouble(f)
		case fastjson.TypeString:
			switch string(inner.GetStringBytes()) {
			case "NaN":
				v.SetDouble(math.NaN())
			case "Inf":
				v.SetDouble(math.Inf(1))
			case "-Inf":
				v.SetDouble(math.Inf(-1))
			default:
				return errBadAttrs
			}
		default:
			return errBadAttrs
		}
	case "b":
		if inner.Type() != fastjson.TypeString {
			return errBadAttrs
		}
		bs, err := base64.StdEncoding.DecodeString(string(inner.GetStringBytes()))
		if err != nil {
			return errBadAttrs
		}
		v.SetEmptyBytes().FromRaw(bs)
	case "m":
		return attrsFromJSON(inner, v.SetEmptyMap())
	case "a":
		list, err := inner.Array()
		if err != nil {
			return errBadAttrs
		}
		s := v.SetEmptySlice()
		s.EnsureCapacity(len(list))
		for _, e := range list {
			if err := valueFromJSON(e, s.AppendEmpty()); err != nil {
				return err
			}
		}
	default:
		return errBadAttrs
	}
	return nil
}

// jsonStr is a JSON string's value as a Go string; invalid UTF-8 (which
// Vigil never writes) becomes U+FFFD byte by byte, as encoding/json reads it.
func jsonStr(x *fastjson.Value) string {
	b := x.GetStringBytes()
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]rune, 0, len(b))
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		out = append(out, r)
		b = b[n:]
	}
	return string(out)
}

// numberText is a JSON number's own text, so that ints and doubles are
// parsed by strconv exactly as they were written.
func numberText(x *fastjson.Value) string {
	var buf [32]byte
	return string(x.MarshalTo(buf[:0]))
}

func jsonUint(x *fastjson.Value) (uint64, error) {
	if x.Type() != fastjson.TypeNumber {
		return 0, errBadAttrs
	}
	return strconv.ParseUint(numberText(x), 10, 64)
}

// tagNeedles returns the JSON fragments whose presence in a stored
// attribute list means attribute k has value v, as Jaeger compares tags
// (text): the string "v", and when v reads as one, the int, bool or double.
// Each fragment is given after "[" and after "," (a list's first and later
// elements), so values inside arrays never match. Keys of nested maps
// match too (by their own name; flattened names are tagCondition's).
func tagNeedles(k, v string) []string {
	key := appendJSONString(nil, k)
	var out []string
	for _, val := range tagValues(v) {
		frag := string(key) + "," + val + "]"
		out = append(out, "[["+frag, ",["+frag)
	}
	return out
}

// tagValues are the stored forms (V above) of the values a tag value v
// matches: the string, and the int, bool or double it reads as.
func tagValues(v string) []string {
	vals := []string{string(appendJSONString(nil, v))}
	if i, err := strconv.ParseInt(v, 10, 64); err == nil {
		vals = append(vals, string(strconv.AppendInt([]byte(`{"i":`), i, 10))+"}")
	}
	if bv, err := strconv.ParseBool(v); err == nil && (v == "true" || v == "false") {
		vals = append(vals, strconv.FormatBool(bv))
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		vals = append(vals, string(strconv.AppendFloat([]byte(`{"d":`), f, 'g', -1, 64))+"}")
	}
	return vals
}

// mapNeedle is in a stored attribute list where attribute k holds a map.
func mapNeedle(k string) string { return string(appendJSONString(nil, k)) + `,{"m":[` }

// eventNameNeedle finds an event named name in a stored event list
// ([[time, "name", attrs, dropped], ...]).
func eventNameNeedle(name string) string {
	return "," + string(appendJSONString(nil, name)) + ",["
}
