package traces

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

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
	raw, err := decodeJSON(s)
	if err != nil {
		return err
	}
	return attrsFromRaw(raw, m)
}

func decodeJSON(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var raw any
	if err := d.Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode stored attributes: %w", err)
	}
	return raw, nil
}

var errBadAttrs = errors.New("stored attributes are malformed")

func attrsFromRaw(raw any, m pcommon.Map) error {
	list, ok := raw.([]any)
	if !ok {
		return errBadAttrs
	}
	m.EnsureCapacity(len(list))
	for _, e := range list {
		kv, ok := e.([]any)
		if !ok || len(kv) != 2 {
			return errBadAttrs
		}
		k, ok := kv[0].(string)
		if !ok {
			return errBadAttrs
		}
		if err := valueFromRaw(kv[1], m.PutEmpty(k)); err != nil {
			return err
		}
	}
	return nil
}

func valueFromRaw(raw any, v pcommon.Value) error {
	switch x := raw.(type) {
	case nil:
		return nil
	case string:
		v.SetStr(x)
	case bool:
		v.SetBool(x)
	case map[string]any:
		if len(x) != 1 {
			return errBadAttrs
		}
		for k, inner := range x {
			switch k {
			case "i":
				n, ok := inner.(json.Number)
				if !ok {
					return errBadAttrs
				}
				i, err := strconv.ParseInt(string(n), 10, 64)
				if err != nil {
					return errBadAttrs
				}
				v.SetInt(i)
			case "d":
				switch n := inner.(type) {
				case json.Number:
					f, err := strconv.ParseFloat(string(n), 64)
					if err != nil {
						return errBadAttrs
					}
					v.SetDouble(f)
				case string:
					switch n {
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
				s, ok := inner.(string)
				if !ok {
					return errBadAttrs
				}
				bs, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return errBadAttrs
				}
				v.SetEmptyBytes().FromRaw(bs)
			case "m":
				if err := attrsFromRaw(inner, v.SetEmptyMap()); err != nil {
					return err
				}
			case "a":
				list, ok := inner.([]any)
				if !ok {
					return errBadAttrs
				}
				s := v.SetEmptySlice()
				s.EnsureCapacity(len(list))
				for _, e := range list {
					if err := valueFromRaw(e, s.AppendEmpty()); err != nil {
						return err
					}
				}
			default:
				return errBadAttrs
			}
		}
	default:
		return errBadAttrs
	}
	return nil
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

func jsonUint(x any) (uint64, error) {
	n, ok := x.(json.Number)
	if !ok {
		return 0, errBadAttrs
	}
	return strconv.ParseUint(string(n), 10, 64)
}
