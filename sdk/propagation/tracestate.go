package propagation

import (
	"reflect"
	"strings"
	"unsafe"

	"go.opentelemetry.io/otel/trace"
)

// ParseTracestate parses a W3C tracestate value (several header lines
// joined with commas are one value). Keys follow W3C Trace Context Level
// 2's grammar: a lowercase letter or digit, then up to 255 of a-z 0-9 _ -
// * / @ (so "tenant@system" keys and keys the older grammar rejected, such
// as "foo@" or a 15-character system part, are kept). More than 32 members
// or a malformed member discards the whole value (reason returned); a key
// repeated later in the list is dropped, the first kept (reason
// ReasonDuplicateKey, members kept); a value over 512 characters is
// truncated, dropping members over 128 characters first and then members
// from the end (reason ReasonTruncated, members kept).
func ParseTracestate(h string) (trace.TraceState, string) {
	var buf [8]tsMember
	members := buf[:0]
	reason := ""
	n := 0
	for rest := h; rest != ""; {
		var m string
		m, rest, _ = strings.Cut(rest, ",")
		m = strings.Trim(m, " \t")
		if m == "" {
			continue // empty members are allowed and ignored
		}
		if n++; n > maxTracestateMembers {
			return trace.TraceState{}, ReasonTooManyItems
		}
		k, v, ok := strings.Cut(m, "=")
		if !ok || !validKey(k) || !validValue(v) {
			return trace.TraceState{}, ReasonMember
		}
		if hasKey(members, k) {
			reason = ReasonDuplicateKey
			continue
		}
		members = append(members, tsMember{Key: k, Value: v})
	}
	if joinedLen(members) > maxTracestateLen {
		reason = ReasonTruncated
		kept := members[:0]
		for _, m := range members {
			if len(m.Key)+1+len(m.Value) <= longMemberLen {
				kept = append(kept, m)
			}
		}
		members = kept
		for len(members) > 0 && joinedLen(members) > maxTracestateLen {
			members = members[:len(members)-1]
		}
	}
	return traceStateOf(members), reason
}

func hasKey(members []tsMember, k string) bool {
	for _, m := range members {
		if m.Key == k {
			return true
		}
	}
	return false
}

// validKey: key = ( lcalpha / DIGIT ) 0*255 ( keychar ),
// keychar = lcalpha / DIGIT / "_" / "-" / "*" / "/" / "@".
func validKey(k string) bool {
	if len(k) == 0 || len(k) > 256 {
		return false
	}
	if c := k[0]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
		return false
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '*' || c == '/' || c == '@') {
			return false
		}
	}
	return true
}

// validValue: value = 0*255(chr) nblk-chr, chr = %x20 / nblk-chr,
// nblk-chr = %x21-2B / %x2D-3C / %x3E-7E.
func validValue(v string) bool {
	if len(v) == 0 || len(v) > 256 || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e || c == ',' || c == '=' {
			return false
		}
	}
	return true
}

func joinedLen(members []tsMember) int {
	n := 0
	for i, m := range members {
		if i > 0 {
			n++
		}
		n += len(m.Key) + 1 + len(m.Value)
	}
	return n
}

// tsMember and tsList mirror trace.TraceState (struct{ list []member },
// member struct{ Key, Value string }). OpenTelemetry's TraceState can only
// be built by its own parser, which knows the Level 1 key grammar and
// rejects keys Level 2 allows, and refuses duplicates that W3C lets a
// receiver drop; so the state is assembled here and viewed as a
// trace.TraceState, once a check at start-up has shown the layouts agree.
// Its methods (Get, Insert, Delete, String) work on it unchanged.
type tsMember struct{ Key, Value string }

type tsList struct{ list []tsMember }

var tsLayoutOK = func() bool {
	t := reflect.TypeFor[trace.TraceState]()
	if t.NumField() != 1 || t.Field(0).Type.Kind() != reflect.Slice || t.Size() != unsafe.Sizeof(tsList{}) {
		return false
	}
	e := t.Field(0).Type.Elem()
	if e.Kind() != reflect.Struct || e.Size() != unsafe.Sizeof(tsMember{}) || e.NumField() != 2 ||
		e.Field(0).Type.Kind() != reflect.String || e.Field(1).Type.Kind() != reflect.String ||
		e.Field(0).Name != "Key" || e.Field(1).Name != "Value" {
		return false
	}
	ts, err := trace.ParseTraceState("a=1,b=2")
	if err != nil {
		return false
	}
	l := (*tsList)(unsafe.Pointer(&ts))
	return len(l.list) == 2 && l.list[0] == tsMember{"a", "1"} && l.list[1] == tsMember{"b", "2"}
}()

// traceStateOf returns the members as a trace.TraceState. Should
// OpenTelemetry ever change its layout, members are inserted through its
// API instead, which keeps those its key grammar accepts.
func traceStateOf(members []tsMember) trace.TraceState {
	if len(members) == 0 {
		return trace.TraceState{}
	}
	if tsLayoutOK {
		l := tsList{list: append([]tsMember(nil), members...)}
		return *(*trace.TraceState)(unsafe.Pointer(&l))
	}
	var ts trace.TraceState
	for i := len(members) - 1; i >= 0; i-- {
		if next, err := ts.Insert(members[i].Key, members[i].Value); err == nil {
			ts = next
		}
	}
	return ts
}
