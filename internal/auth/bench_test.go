package auth

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/vigilhq/vigil/internal/route"
	"github.com/vigilhq/vigil/internal/state"
)

// benchAuth is an Auth with one ingest token, and that token.
func benchAuth(b *testing.B) (*Auth, string) {
	ctx := context.Background()
	db, err := state.Open(ctx, filepath.Join(b.TempDir(), "state.db"), state.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	st, _ := OpenStore(ctx, db, nil)
	a, err := New(ctx, Options{Store: st})
	if err != nil {
		b.Fatal(err)
	}
	secret, tok, err := st.createToken(ctx, "bench", "ci", scopeIngest, time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	a.tokens.add(tok)
	return a, secret
}

// BenchmarkGuard is the middleware's cost per ingest request (the
// handler does nothing), against the same handler unguarded.
func BenchmarkGuard(b *testing.B) {
	a, tok := benchAuth(b)
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	run := func(b *testing.B, h http.Handler, header string) {
		req := httptest.NewRequest("POST", "/api/v1/write", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			w := &discard{h: http.Header{}}
			for pb.Next() {
				h.ServeHTTP(w, req)
			}
		})
	}
	b.Run("none", func(b *testing.B) { run(b, noop, "") })
	b.Run("bearer", func(b *testing.B) { run(b, a.Guard(route.Ingest, noop), "Bearer "+tok) })
	b.Run("basic", func(b *testing.B) {
		run(b, a.Guard(route.Ingest, noop), "Basic "+base64.StdEncoding.EncodeToString([]byte("promtail:"+tok)))
	})
	b.Run("refused", func(b *testing.B) { run(b, a.Guard(route.Ingest, noop), "Bearer vigil_"+tok[6:len(tok)-1]+"x") })
}

// BenchmarkGRPCCheck is the interceptor's cost per OTLP/gRPC call.
func BenchmarkGRPCCheck(b *testing.B) {
	a, tok := benchAuth(b)
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+tok))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.checkGRPC(ctx, route.Ingest); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
