package traces

import (
	"bytes"
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
//	       | {"b": "<base64>"} | [V, ...] | {"m": attrs}
//
// Strings that are not valid UTF-8 are stored with U+FFFD replacements, as
// in OTLP JSON.

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
		b = append(b, '[')
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, s.At(i))
		}
		return append(b, ']')
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
	case []any:
		s := v.SetEmptySlice()
		s.EnsureCapacity(len(x))
		for _, e := range x {
			if err := valueFromRaw(e, s.AppendEmpty()); err != nil {
				return err
			}
		}
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
			default:
				return errBadAttrs
			}
		}
	default:
		return errBadAttrs
	}
	return nil
}

// Search text: every attribute as sep key kv value sep, so that a tag
// filter k=v becomes one substring test. Keys and values have the two
// separator bytes replaced, so a match is exact except for values that
// differ only in those control bytes.
const (
	searchSep   = '\x1f'
	searchKVSep = '\x1e'
)

func searchClean(b []byte, s string) []byte {
	if strings.IndexByte(s, searchSep) < 0 && strings.IndexByte(s, searchKVSep) < 0 {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == searchSep || c == searchKVSep {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

func appendSearchKV(b []byte, k, v string) []byte {
	if len(b) == 0 {
		b = append(b, searchSep)
	}
	b = searchClean(b, k)
	b = append(b, searchKVSep)
	b = searchClean(b, v)
	return append(b, searchSep)
}

func appendSearchAttrs(b []byte, m pcommon.Map) []byte {
	for k, v := range m.All() {
		if v.Type() == pcommon.ValueTypeStr {
			b = appendSearchKV(b, k, v.Str())
		} else {
			b = appendSearchKV(b, k, tagString(v))
		}
	}
	return b
}

// searchNeedle is what a tag filter k=v looks for in the search text.
func searchNeedle(k, v string) string {
	b := []byte{searchSep}
	b = searchClean(b, k)
	b = append(b, searchKVSep)
	b = searchClean(b, v)
	b = append(b, searchSep)
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// tagString is how a non-string value compares with a tag filter's value:
// as Jaeger prints it.
func tagString(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeBool:
		return strconv.FormatBool(v.Bool())
	case pcommon.ValueTypeInt:
		return strconv.FormatInt(v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return strconv.FormatFloat(v.Double(), 'g', 10, 64)
	case pcommon.ValueTypeBytes:
		var buf bytes.Buffer
		for _, c := range v.Bytes().AsRaw() {
			buf.WriteByte(hexDigits[c>>4])
			buf.WriteByte(hexDigits[c&0xf])
		}
		return buf.String()
	}
	return v.AsString()
}

func jsonUint(x any) (uint64, error) {
	n, ok := x.(json.Number)
	if !ok {
		return 0, errBadAttrs
	}
	return strconv.ParseUint(string(n), 10, 64)
}
