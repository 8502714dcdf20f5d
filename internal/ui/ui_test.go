package ui

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigilhq/vigil/internal/route"
)

func mux(t *testing.T, u *UI) *http.ServeMux {
	t.Helper()
	m := http.NewServeMux()
	for _, r := range u.Routes() {
		if r.Scope != route.Public {
			t.Errorf("%s: scope %s, want public (the shell and assets hold no data)", r.Pattern, r.Scope)
		}
		m.Handle(r.MuxPattern(), r.Handler)
	}
	return m
}

func get(t *testing.T, h http.Handler, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestServesShellAtEveryPageAndAssets(t *testing.T) {
	js := strings.Repeat("console.log('vigil');", 200)
	u, err := New(Options{Files: fstest.MapFS{
		"index.html":          {Data: []byte(`<!doctype html><script src="/assets/index-abc.js"></script>`)},
		"assets/index-abc.js": {Data: []byte(js)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !u.Built() {
		t.Fatal("Built() = false with an index.html")
	}
	m := mux(t, u)
	for _, p := range []string{"/", "/query", "/traces", "/traces/0af7651916cd43dd8448eb211c80319c", "/logs", "/alerting", "/alerting/silences/new", "/incidents", "/oncall", "/uptime"} {
		w := get(t, m, p)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "/assets/index-abc.js") {
			t.Errorf("GET %s: %d %q", p, w.Code, w.Body.String())
		}
		if cc := w.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", p, cc)
		}
	}
	// Paths of other features are not the UI's.
	for _, p := range []string{"/metrics", "/api/v1/query", "/status", "/assets/../index.html", "/assets/missing.js"} {
		if w := get(t, m, p); w.Code != 404 && w.Code != 301 && w.Code != 307 {
			t.Errorf("GET %s: %d, want 404 (not a UI path)", p, w.Code)
		}
	}
	w := get(t, m, "/assets/index-abc.js")
	if w.Code != 200 || w.Body.String() != js || !strings.Contains(w.Header().Get("Content-Type"), "javascript") {
		t.Fatalf("asset: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body.String()[:20])
	}
	if !strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("asset Cache-Control %q", w.Header().Get("Cache-Control"))
	}
	w = get(t, m, "/assets/index-abc.js", "Accept-Encoding", "br, gzip;q=0.8")
	if w.Header().Get("Content-Encoding") != "gzip" || w.Body.Len() >= len(js) {
		t.Fatalf("gzip: %q, %d bytes of %d", w.Header().Get("Content-Encoding"), w.Body.Len(), len(js))
	}
	zr, err := gzip.NewReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(zr); string(b) != js {
		t.Fatal("gzipped asset does not decode to the file")
	}
	if w := get(t, m, "/assets/index-abc.js", "Accept-Encoding", "gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 still got gzip")
	}
}

func TestShellCarriesThePathPrefix(t *testing.T) {
	prefix := "/obs"
	u, err := New(Options{PathPrefix: func() string { return prefix }, Files: fstest.MapFS{
		"index.html": {Data: []byte(`<html><head><script type="module" src="./assets/index-abc.js"></script><link href="./assets/x.css"></head></html>`)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	m := mux(t, u)
	body := get(t, m, "/traces/abc").Body.String()
	for _, want := range []string{`src="/obs/assets/index-abc.js"`, `href="/obs/assets/x.css"`, `<meta name="vigil-prefix" content="/obs" />`, `<meta name="vigil-auth" content="off" />`} {
		if !strings.Contains(body, want) {
			t.Errorf("shell lacks %s:\n%s", want, body)
		}
	}
	prefix = "/"
	body = get(t, m, "/").Body.String()
	if !strings.Contains(body, `src="/assets/index-abc.js"`) || !strings.Contains(body, `content=""`) {
		t.Errorf("no prefix:\n%s", body)
	}
}

func TestNotBuiltSaysHowToBuild(t *testing.T) {
	u, err := New(Options{Files: fstest.MapFS{".keep": {}}})
	if err != nil {
		t.Fatal(err)
	}
	if u.Built() {
		t.Fatal("Built() = true without index.html")
	}
	w := get(t, mux(t, u), "/")
	if w.Code != 200 || !strings.Contains(w.Body.String(), "make build") {
		t.Fatalf("%d %s", w.Code, w.Body.String())
	}
}

func TestEmbeddedBuildLoads(t *testing.T) {
	// Whatever site/ holds (only README.md, or a build in app/), New works.
	if _, err := New(Options{}); err != nil {
		t.Fatal(err)
	}
}
