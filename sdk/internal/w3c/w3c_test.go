package w3c

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigilhq/vigil/sdk/metric"
	"github.com/vigilhq/vigil/sdk/propagation"
	"github.com/vigilhq/vigil/sdk/tracing"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// These tests make the requests the W3C Trace Context harness makes
// (github.com/w3c/trace-context, test/test.py: TraceContextTest,
// AdvancedTest, TraceContext2Test, at strictness level 2) and check what
// it checks, over real HTTP: header lines are written to the socket as
// given (their names' case, order and repetition kept), the service calls
// back a recording server, and the callbacks' headers are read as the
// harness reads them. sdk/scripts/w3c-harness.sh runs the harness itself.

type harness struct {
	t        *testing.T
	service  string // host:port
	callback *httptest.Server

	mu   sync.Mutex
	seen map[string]http.Header // callback path -> its headers
	next int
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	prop, err := propagation.New(metric.New(metric.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	tp := tracing.NewProvider()
	client := &http.Client{Timeout: 5 * time.Second}
	svc := httptest.NewServer(New(tp, prop, client))
	h := &harness{t: t, service: svc.Listener.Addr().String(), seen: map[string]http.Header{}}
	h.callback = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.seen[r.URL.Path] = r.Header.Clone()
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("null"))
	}))
	t.Cleanup(func() {
		h.callback.Close()
		svc.Close()
		client.CloseIdleConnections()
		_ = tp.Shutdown(context.Background())
	})
	return h
}

// send posts to the service with the header lines as given and asks for n
// callbacks; it returns the headers of each callback.
func (h *harness) send(lines [][2]string, n int) []http.Header {
	h.t.Helper()
	h.mu.Lock()
	h.next++
	scope := fmt.Sprintf("/scope%d", h.next)
	h.mu.Unlock()
	var actions []map[string]any
	for i := range n {
		actions = append(actions, map[string]any{"url": fmt.Sprintf("%s%s.%d", h.callback.URL, scope, i), "arguments": []any{}})
	}
	body, _ := json.Marshal(actions)
	var req strings.Builder
	fmt.Fprintf(&req, "POST /test HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n", h.service, len(body))
	for _, l := range lines {
		fmt.Fprintf(&req, "%s: %s\r\n", l[0], l[1])
	}
	req.WriteString("\r\n")
	req.Write(body)
	conn, err := net.DialTimeout("tcp", h.service, 5*time.Second)
	if err != nil {
		h.t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(req.String())); err != nil {
		h.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("service answered %s to %q", resp.Status, lines)
	}
	var out []http.Header
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range n {
		hdr, ok := h.seen[fmt.Sprintf("%s.%d", scope, i)]
		if !ok {
			h.t.Fatalf("%q: the service made no callback %d", lines, i)
		}
		out = append(out, hdr)
	}
	return out
}

type traceparent struct{ version, traceID, parentID, flags string }

var traceparentRe = regexp.MustCompile(`^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$`)

// parent returns the one traceparent of a callback, as the harness
// demands: exactly one line, in the version 00 format.
func (h *harness) parent(hdr http.Header) traceparent {
	h.t.Helper()
	v := hdr.Values("Traceparent")
	if len(v) != 1 {
		h.t.Fatalf("want one traceparent header, got %q", v)
	}
	m := traceparentRe.FindStringSubmatch(v[0])
	if m == nil {
		h.t.Fatalf("traceparent %q does not match %s", v[0], traceparentRe)
	}
	return traceparent{m[1], m[2], m[3], m[4]}
}

var (
	stateDelim  = regexp.MustCompile(`[ \t]*,[ \t]*`)
	stateMember = regexp.MustCompile(`^([0-9a-z][_0-9a-z\-*/@]{0,255})=([\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e])$`)
)

// state reads every tracestate line of a callback as the harness does: the
// members in order, the first of a repeated key kept; an illegal member
// fails the test.
func (h *harness) state(hdr http.Header) (keys []string, values map[string]string) {
	h.t.Helper()
	values = map[string]string{}
	for _, line := range hdr.Values("Tracestate") {
		for _, m := range stateDelim.Split(line, -1) {
			if m == "" {
				continue
			}
			sm := stateMember.FindStringSubmatch(m)
			if sm == nil {
				h.t.Fatalf("tracestate %q: illegal member %q", line, m)
			}
			if _, dup := values[sm[1]]; !dup {
				keys = append(keys, sm[1])
				values[sm[1]] = sm[2]
			}
		}
	}
	return keys, values
}

func (h *harness) one(lines ...[2]string) (traceparent, []string, map[string]string) {
	h.t.Helper()
	hdr := h.send(lines, 1)[0]
	keys, values := h.state(hdr)
	return h.parent(hdr), keys, values
}

const (
	tid = "12345678901234567890123456789012"
	pid = "1234567890123456"
)

func tp(v string) [2]string { return [2]string{"traceparent", v} }
func ts(v string) [2]string { return [2]string{"tracestate", v} }

func TestTraceparent(t *testing.T) {
	h := newHarness(t)
	// Kept: the trace continues with a new parent ID.
	kept := func(lines ...[2]string) {
		t.Helper()
		p, _, _ := h.one(lines...)
		if p.traceID != tid {
			t.Errorf("%q: trace ID %s, want %s", lines, p.traceID, tid)
		}
		if p.parentID == pid {
			t.Errorf("%q: parent ID passed on unchanged", lines)
		}
	}
	// Rejected: a new trace, whose ID differs from every given one.
	rejected := func(lines ...[2]string) {
		t.Helper()
		p, _, _ := h.one(lines...)
		for _, l := range lines {
			for _, id := range []string{tid, "12345678901234567890123456789011", "23456789012345678901234567890123", "00000000000000000000000000000000"} {
				if p.traceID == id && strings.Contains(l[1], id) {
					t.Errorf("%q: trace ID %s taken from an invalid header", lines, p.traceID)
				}
			}
		}
	}
	valid := "00-" + tid + "-" + pid + "-01"

	h.one() // both headers missing: a valid traceparent
	kept(tp(valid))
	rejected(tp("00-12345678901234567890123456789011-"+pid+"-01"), tp(valid)) // two lines
	rejected([2]string{"trace-parent", valid})
	rejected([2]string{"trace.parent", valid})
	kept([2]string{"TraceParent", valid})
	kept([2]string{"TrAcEpArEnT", valid})
	kept([2]string{"TRACEPARENT", valid})
	rejected(tp(valid + "."))
	rejected(tp(valid + "-what-the-future-will-be-like"))
	kept(tp("cc-" + tid + "-" + pid + "-01"))
	kept(tp("cc-" + tid + "-" + pid + "-01-what-the-future-will-be-like"))
	rejected(tp("cc-" + tid + "-" + pid + "-01.what-the-future-will-be-like"))
	rejected(tp("ff-" + tid + "-" + pid + "-01"))
	for _, v := range []string{".0", "0.", "000", "0000", "0"} {
		rejected(tp(v + "-" + tid + "-" + pid + "-01"))
	}
	rejected(tp("00-00000000000000000000000000000000-" + pid + "-01"))
	for _, id := range []string{".2345678901234567890123456789012", "1234567890123456789012345678901.", tid + "3", tid[:31]} {
		rejected(tp("00-" + id + "-" + pid + "-01"))
	}
	for _, id := range []string{"0000000000000000", ".234567890123456", "123456789012345.", pid + "7", pid[:15]} {
		rejected(tp("00-" + tid + "-" + id + "-01"))
	}
	for _, f := range []string{".0", "0.", "001", "1"} {
		rejected(tp("00-" + tid + "-" + pid + "-" + f))
	}
	for _, ows := range [][2]string{{" ", ""}, {"\t", ""}, {"", " "}, {"", "\t"}, {"\t ", " \t"}} {
		kept(tp(ows[0] + valid + ows[1]))
	}
}

func TestTracestate(t *testing.T) {
	h := newHarness(t)
	unsampled := tp("00-" + tid + "-" + pid + "-00")
	// has checks that the callback carries the trace and these members
	// (key, value, key, value, ...) in this order.
	has := func(lines [][2]string, kv ...string) {
		t.Helper()
		p, keys, values := h.one(append([][2]string{unsampled}, lines...)...)
		if p.traceID != tid {
			t.Errorf("%q: trace ID %s, want %s", lines, p.traceID, tid)
		}
		at := -1
		for i := 0; i < len(kv); i += 2 {
			v, ok := values[kv[i]]
			if !ok || v != kv[i+1] {
				t.Errorf("%q: tracestate %v lacks %s=%q", lines, values, kv[i], kv[i+1])
				continue
			}
			j := strings.Index(strings.Join(keys, ","), kv[i])
			if j < at {
				t.Errorf("%q: %s out of order in %v", lines, kv[i], keys)
			}
			at = j
		}
	}
	// lacks checks that none of the keys came through.
	lacks := func(lines [][2]string, keys ...string) {
		t.Helper()
		_, _, values := h.one(append([][2]string{unsampled}, lines...)...)
		for _, k := range keys {
			if _, ok := values[k]; ok {
				t.Errorf("%q: tracestate %v keeps %s", lines, values, k)
			}
		}
	}
	l := func(lines ...[2]string) [][2]string { return lines }

	// tracestate without traceparent is discarded.
	_, k1, _ := h.one(ts("foo=1"))
	_, k2, _ := h.one(ts("foo=1,bar=2"))
	if len(k1) != len(k2) || strings.Contains(strings.Join(k2, ","), "bar") {
		t.Errorf("tracestate without traceparent kept: %v %v", k1, k2)
	}
	has(l(ts("foo=1,bar=2")), "foo", "1", "bar", "2")
	lacks(l([2]string{"trace-state", "foo=1"}), "foo")
	lacks(l([2]string{"trace.state", "foo=1"}), "foo")
	for _, name := range []string{"TraceState", "TrAcEsTaTe", "TRACESTATE"} {
		has(l([2]string{name, "foo=1"}), "foo", "1")
	}
	has(l(ts("")))
	has(l(ts("foo=1"), ts("")), "foo", "1")
	has(l(ts(""), ts("foo=1")), "foo", "1")
	has(l(ts("foo=1,bar=2"), ts("rojo=1,congo=2"), ts("baz=3")), "foo", "1", "bar", "2", "rojo", "1", "congo", "2", "baz", "3")
	// Duplicated keys: the harness takes either; the first is kept here.
	has(l(ts("foo=1,foo=1")), "foo", "1")
	has(l(ts("foo=1,foo=2")), "foo", "1")
	has(l(ts("foo=1"), ts("foo=1")), "foo", "1")
	has(l(ts("foo=1"), ts("foo=2")), "foo", "1")

	key := "abcdefghijklmnopqrstuvwxyz0123456789_-*/"
	var value []byte
	for c := byte(0x20); c <= 0x7e; c++ {
		if c != ',' && c != '=' {
			value = append(value, c)
		}
	}
	has(l(ts(key+"="+string(value))), key, string(value))
	has(l(ts(key+"@a-z0-9_-*/="+string(value))), key+"@a-z0-9_-*/", string(value))

	for _, v := range []string{"foo=1 \t , \t bar=2, \t baz=3", "foo=1\t \t,\t \tbar=2,\t \tbaz=3"} {
		has(l(ts(v)), "foo", "1", "bar", "2", "baz", "3")
	}
	for _, v := range []string{" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"} {
		has(l(ts(v)), "foo", "1")
	}

	// Strictness level 2.
	lacks(l(ts("foo =1")), "foo ", "foo")
	lacks(l(ts("FOO=1")), "FOO")
	lacks(l(ts("foo.bar=1")), "foo.bar")
	has(l(ts("foo@=1,bar=2")), "foo@", "1", "bar", "2")
	lacks(l(ts("@foo=1,bar=2")), "bar")
	has(l(ts("foo@@bar=1,bar=2")), "foo@@bar", "1", "bar", "2")
	has(l(ts("foo@bar@baz=1,bar=2")), "foo@bar@baz", "1", "bar", "2")

	var lines [][2]string
	var want []string
	for i := 1; i <= 32; i++ {
		want = append(want, fmt.Sprintf("bar%02d", i), fmt.Sprintf("%02d", i))
	}
	for i := 0; i < 32; i += 10 {
		var ms []string
		for j := i + 1; j <= min(i+10, 32); j++ {
			ms = append(ms, fmt.Sprintf("bar%02d=%02d", j, j))
		}
		lines = append(lines, ts(strings.Join(ms, ",")))
	}
	has(lines, want...)
	if _, keys, _ := h.one(append([][2]string{unsampled}, lines...)...); len(keys) != 32 {
		t.Errorf("32 members: %d came through", len(keys))
	}
	lines[3] = ts("bar31=31,bar32=32,bar33=33")
	lacks(lines, "bar01")

	for _, k := range []string{strings.Repeat("z", 256), strings.Repeat("t", 241) + "@" + strings.Repeat("v", 14),
		strings.Repeat("t", 242) + "@v", "t@" + strings.Repeat("v", 15)} {
		has(l(ts("foo=1"), ts(k+"=1")), "foo", "1", k, "1")
	}
	lacks(l(ts("foo=1"), ts(strings.Repeat("z", 257)+"=1")), "foo")
	lacks(l(ts("foo=bar=baz")), "foo")
	lacks(l(ts("foo=,bar=3")), "foo", "bar")
}

func TestSeveralCallbacks(t *testing.T) {
	h := newHarness(t)
	f := func(lines [][2]string, wantTrace string, keepTrace bool) {
		t.Helper()
		traces, parents := map[string]bool{}, map[string]bool{}
		for _, hdr := range h.send(lines, 3) {
			p := h.parent(hdr)
			traces[p.traceID], parents[p.parentID] = true, true
		}
		if len(parents) != 3 {
			t.Errorf("%q: %d distinct parent IDs in 3 callbacks", lines, len(parents))
		}
		if len(traces) != 1 {
			t.Errorf("%q: callbacks in %d traces", lines, len(traces))
		}
		if traces[wantTrace] != keepTrace {
			t.Errorf("%q: trace IDs %v (kept %s: want %v)", lines, traces, wantTrace, keepTrace)
		}
	}
	f([][2]string{tp("00-" + tid + "-" + pid + "-01")}, tid, true)
	f(nil, tid, false)
	f([][2]string{tp("00-00000000000000000000000000000000-" + pid + "-01")}, "00000000000000000000000000000000", false)
}

// Level 2: the random flag is passed on.
func TestRandomFlag(t *testing.T) {
	h := newHarness(t)
	p, _, _ := h.one(tp("00-" + tid + "-" + pid + "-02"))
	if p.traceID != tid || p.parentID == pid {
		t.Errorf("traceparent %+v", p)
	}
	var flags byte
	fmt.Sscanf(p.flags, "%02x", &flags)
	if flags&0x02 == 0 {
		t.Errorf("flags %s: random flag not set", p.flags)
	}
}
