package traces

// The stored-JSON decoders as they were with encoding/json (before
// fastjson), kept as the reference the fuzzers compare the decoders with.

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// refDecodeAttrs fills m (which should be empty) from stored JSON.
func refDecodeAttrs(s string, m pcommon.Map) error {
	if s == "" || s == "[]" {
		return nil
	}
	raw, err := refDecodeJSON(s)
	if err != nil {
		return err
	}
	return refAttrsFromRaw(raw, m)
}

func refDecodeJSON(s string) (any, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var raw any
	if err := d.Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode stored attributes: %w", err)
	}
	return raw, nil
}

func refAttrsFromRaw(raw any, m pcommon.Map) error {
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
		if err := refValueFromRaw(kv[1], m.PutEmpty(k)); err != nil {
			return err
		}
	}
	return nil
}

func refValueFromRaw(raw any, v pcommon.Value) error {
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
				if err := refAttrsFromRaw(inner, v.SetEmptyMap()); err != nil {
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
					if err := refValueFromRaw(e, s.AppendEmpty()); err != nil {
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

// refDecodeTuples decodes a stored list of fixed-width JSON arrays (events,
// links) and calls f on each; "" and "[]" are an empty list.
func refDecodeTuples(s string, width int, f func(e []any) error) error {
	if s == "" || s == "[]" {
		return nil
	}
	raw, err := refDecodeJSON(s)
	if err != nil {
		return err
	}
	list, ok := raw.([]any)
	if !ok {
		return errBadAttrs
	}
	for _, x := range list {
		e, ok := x.([]any)
		if !ok || len(e) != width {
			return errBadAttrs
		}
		if err := f(e); err != nil {
			return err
		}
	}
	return nil
}

// refDecodeEvents is the inverse of appendEvents.
func refDecodeEvents(s string, evs ptrace.SpanEventSlice) error {
	return refDecodeTuples(s, 4, func(e []any) error {
		ev := evs.AppendEmpty()
		ts, err1 := refJSONUint(e[0])
		name, ok := e[1].(string)
		dropped, err2 := refJSONUint(e[3])
		if err1 != nil || err2 != nil || !ok {
			return errBadAttrs
		}
		ev.SetTimestamp(pcommon.Timestamp(ts))
		ev.SetName(name)
		ev.SetDroppedAttributesCount(uint32(dropped))
		return refAttrsFromRaw(e[2], ev.Attributes())
	})
}

// refDecodeLinks is the inverse of appendLinks.
func refDecodeLinks(s string, ls ptrace.SpanLinkSlice) error {
	return refDecodeTuples(s, 6, func(e []any) error {
		l := ls.AppendEmpty()
		tid, ok1 := e[0].(string)
		sid, ok2 := e[1].(string)
		state, ok3 := e[2].(string)
		dropped, err1 := refJSONUint(e[4])
		flags, err2 := refJSONUint(e[5])
		if !ok1 || !ok2 || !ok3 || err1 != nil || err2 != nil {
			return errBadAttrs
		}
		var t pcommon.TraceID
		var sp pcommon.SpanID
		if len(tid) != 32 || len(sid) != 16 { // (the length check the decoder added: hex.Decode panicked past 16 bytes)
			return errBadAttrs
		}
		if n, err := hex.Decode(t[:], []byte(tid)); err != nil || n != 16 {
			return errBadAttrs
		}
		if n, err := hex.Decode(sp[:], []byte(sid)); err != nil || n != 8 {
			return errBadAttrs
		}
		l.SetTraceID(t)
		l.SetSpanID(sp)
		l.TraceState().FromRaw(state)
		l.SetDroppedAttributesCount(uint32(dropped))
		l.SetFlags(uint32(flags))
		return refAttrsFromRaw(e[3], l.Attributes())
	})
}

func refJSONUint(x any) (uint64, error) {
	n, ok := x.(json.Number)
	if !ok {
		return 0, errBadAttrs
	}
	return strconv.ParseUint(string(n), 10, 64)
}

// agree checks one stored list against the reference decoder: valid JSON
// the decoder accepts the reference accepts with the same result; what only
// the reference accepts (duplicate keys, text after the value, which
// encoding/json let through and Vigil never writes) decodes alike once
// written in the stored form.
func agree[T any](t *testing.T, s string, fresh func() T, decode, ref func(string, T) error, encode func(T) string) {
	t.Helper()
	got, want := fresh(), fresh()
	err, refErr := decode(s, got), ref(s, want)
	switch {
	case err == nil && refErr != nil:
		// fastjson lets some text that is not JSON through (leading
		// zeros, unknown escapes); Vigil never writes it.
		if json.Valid([]byte(s)) {
			t.Fatalf("%q: accepted, the reference rejects it: %v", s, refErr)
		}
	case err == nil && encode(got) != encode(want):
		t.Fatalf("%q: decoded to %s, the reference to %s", s, encode(got), encode(want))
	case err != nil && refErr == nil:
		canon := encode(want)
		again := fresh()
		if err := decode(canon, again); err != nil {
			t.Fatalf("%q: the stored form %q of the reference's answer does not decode: %v", s, canon, err)
		}
		if encode(again) != canon {
			t.Fatalf("%q: %q decoded to %s", s, canon, encode(again))
		}
	}
}

func FuzzDecodeAttrsAgainstReference(f *testing.F) {
	m := pcommon.NewMap()
	m.PutStr("s", "v\"\n\u00e9")
	m.PutInt("i", math.MinInt64)
	m.PutDouble("d", 5e-324)
	m.PutDouble("big", 1.7976931348623157e308)
	m.PutEmptyBytes("b").FromRaw([]byte("xy"))
	sl := m.PutEmptySlice("a")
	sl.AppendEmpty().SetBool(true)
	sl.AppendEmpty().SetEmptyMap().PutInt("n", 1)
	m.PutEmptyMap("m").PutEmpty("e")
	f.Add(string(appendAttrs(nil, m)))
	for _, s := range []string{`[["k",{"d":"NaN"}]]`, `[["k",{"d":"-Inf"}]]`, `[["k",{"i":1,"i":2}]]`, `[["k",{"i":1e3}]]`, `[["k",{"d":1e400}]]`, `[["k","a"]] x`, `[["k",{"i":18446744073709551616}]]`, `[["k",{"b":"!!"}]]`, `[["k",[1]]]`} {
		f.Add(s)
	}
	enc := func(m pcommon.Map) string { return string(appendAttrs(nil, m)) }
	f.Fuzz(func(t *testing.T, s string) {
		agree(t, s, pcommon.NewMap, decodeAttrs, refDecodeAttrs, enc)
	})
}

func FuzzDecodeEventsLinksAgainstReference(f *testing.F) {
	sp := ptrace.NewSpan()
	ev := sp.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(1 << 62)
	ev.Attributes().PutStr("exception.message", "boom")
	ev.SetDroppedAttributesCount(2)
	l := sp.Links().AppendEmpty()
	l.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	l.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	l.TraceState().FromRaw("a=b")
	l.SetFlags(1)
	l.Attributes().PutBool("x", true)
	f.Add(string(appendEvents(nil, sp.Events())))
	f.Add(string(appendLinks(nil, sp.Links())))
	f.Add(`[["0102030405060708090a0b0c0d0e0f1011","0102030405060708","",[],0,0]]`)
	encEv := func(s ptrace.SpanEventSlice) string { return string(appendEvents(nil, s)) }
	encLn := func(s ptrace.SpanLinkSlice) string { return string(appendLinks(nil, s)) }
	f.Fuzz(func(t *testing.T, s string) {
		agree(t, s, ptrace.NewSpanEventSlice, decodeEvents, refDecodeEvents, encEv)
		agree(t, s, ptrace.NewSpanLinkSlice, decodeLinks, refDecodeLinks, encLn)
	})
}
