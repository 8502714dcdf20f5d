package traces

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Stored events and links decode back to what was appended, and malformed
// text is refused with errBadAttrs (or a JSON error), never a panic.
func TestDecodeEventsAndLinks(t *testing.T) {
	sp := ptrace.NewSpan()
	ev := sp.Events().AppendEmpty()
	ev.SetTimestamp(42)
	ev.SetName("retry")
	ev.SetDroppedAttributesCount(1)
	ev.Attributes().PutInt("attempt", 2)
	l := sp.Links().AppendEmpty()
	l.SetTraceID([16]byte{1, 2, 3})
	l.SetSpanID([8]byte{4, 5})
	l.TraceState().FromRaw("k=v")
	l.SetDroppedAttributesCount(3)
	l.SetFlags(1)
	l.Attributes().PutStr("peer", "db")
	events, links := string(appendEvents(nil, sp.Events())), string(appendLinks(nil, sp.Links()))

	got := ptrace.NewSpan()
	if err := decodeEvents(events, got.Events()); err != nil {
		t.Fatalf("decode %s: %v", events, err)
	}
	if err := decodeLinks(links, got.Links()); err != nil {
		t.Fatalf("decode %s: %v", links, err)
	}
	if again := string(appendEvents(nil, got.Events())); again != events {
		t.Errorf("events: %s, want %s", again, events)
	}
	if again := string(appendLinks(nil, got.Links())); again != links {
		t.Errorf("links: %s, want %s", again, links)
	}

	// f decodes s as events and as links; a want of -1 means an error.
	f := func(s string, wantEvents, wantLinks int) {
		t.Helper()
		evs, ls := ptrace.NewSpanEventSlice(), ptrace.NewSpanLinkSlice()
		check := func(what string, err error, n, want int) {
			t.Helper()
			switch {
			case want < 0 && err == nil:
				t.Errorf("%s %q: decoded %d, want an error", what, s, n)
			case want >= 0 && err != nil:
				t.Errorf("%s %q: %v", what, s, err)
			case want >= 0 && n != want:
				t.Errorf("%s %q: decoded %d, want %d", what, s, n, want)
			}
		}
		err := decodeEvents(s, evs)
		check("events", err, evs.Len(), wantEvents)
		err = decodeLinks(s, ls)
		check("links", err, ls.Len(), wantLinks)
	}
	f("", 0, 0)
	f("[]", 0, 0)
	f("[ ]", 0, 0)
	f("{}", -1, -1)
	f("[1]", -1, -1)
	f("[[]]", -1, -1)
	f("[[", -1, -1)
	f(`[[1,"n",[],0]]`, 1, -1)
	f(`[[1,"n",[],0],[2,"m",[["k","v"]],0]]`, 2, -1)
	f(`[["x","n",[],0]]`, -1, -1)
	f(`[[1,"n",{"bad":1},0]]`, -1, -1)
	f(`[[1,"n",[],0,0]]`, -1, -1)
	f(`["0102030000000000000000000000000","0405000000000000","",[],0,0]`, -1, -1)
	f(`[["01020300000000000000000000000000","0405000000000000","",[],0,0]]`, -1, 1)
	f(`[["0102","0405000000000000","",[],0,0]]`, -1, -1)
	f(`[["01020300000000000000000000000000","0405000000000000","",[],"x",0]]`, -1, -1)
}
