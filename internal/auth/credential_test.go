package auth

import (
	"encoding/base64"
	"net/url"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	tok := newToken()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	f := func(h, wantTok, wantKind string, wantOK bool) {
		t.Helper()
		got, kind, ok := parseAuthorization(h)
		if got != wantTok || kind != wantKind || ok != wantOK {
			t.Fatalf("parseAuthorization(%q) = %q, %q, %v; want %q, %q, %v", h, got, kind, ok, wantTok, wantKind, wantOK)
		}
	}
	f("Bearer "+tok, tok, "bearer", true)
	f("bearer "+tok, tok, "bearer", true)
	f("Bearer  "+tok, tok, "bearer", true)
	f("Basic "+b64("prometheus:"+tok), tok, "basic", true)
	f("Basic "+b64(":"+tok), tok, "basic", true)
	f("Basic "+b64("user:pa:ss"), "pa:ss", "basic", true)
	f("Basic "+b64("nocolon"), "", "", false)
	f("Basic "+b64("user:"), "", "", false)
	f("Basic !!!", "", "", false)
	f("Bearer", "", "", false)
	f("Bearer ", "", "", false)
	f("Bearer a b", "", "", false)
	f("Digest x", "", "", false)
	f("", "", "", false)
}

func TestTokenShape(t *testing.T) {
	tok := newToken()
	if !looksLikeToken(tok) {
		t.Fatalf("newToken %q does not look like a token", tok)
	}
	for _, s := range []string{"", TokenPrefix, tok[:len(tok)-1], tok + "x", "xigil_" + tok[6:], tok[:10] + "!" + tok[11:]} {
		if looksLikeToken(s) {
			t.Errorf("looksLikeToken(%q) = true", s)
		}
	}
	if newToken() == tok {
		t.Fatal("two tokens are equal")
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add("Bearer vigil_abc")
	f.Add("Basic dXNlcjpwYXNz")
	f.Add("basic Og==")
	f.Add(" Bearer x")
	f.Fuzz(func(t *testing.T, h string) {
		tok, kind, ok := parseAuthorization(h)
		if ok && (tok == "" || (kind != "bearer" && kind != "basic")) {
			t.Fatalf("parseAuthorization(%q) = %q, %q, true", h, tok, kind)
		}
		if !ok && (tok != "" || kind != "") {
			t.Fatalf("parseAuthorization(%q) failed but returned %q, %q", h, tok, kind)
		}
		_ = looksLikeToken(tok)
	})
}

func FuzzParseScopes(f *testing.F) {
	f.Add("read,ingest")
	f.Add("admin")
	f.Add("public")
	f.Fuzz(func(t *testing.T, s string) {
		ss, err := ParseScopes([]string{s})
		if err == nil && (ss == 0 || ss&^(scopeRead|scopeIngest|scopeWrite|scopeAdmin) != 0) {
			t.Fatalf("ParseScopes(%q) = %v", s, ss)
		}
	})
}

func FuzzParseAuditQuery(f *testing.F) {
	f.Add("since=2026-01-02T03:04:05Z&until=1767323045&actor=user:alice&action=login&limit=10&before=5")
	f.Add("limit=0")
	f.Add("since=1e300")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseAuditQuery(v)
		if err == nil && (q.Limit < 0 || q.Limit > 1000 || q.BeforeID < 0) {
			t.Fatalf("parseAuditQuery(%q) = %+v", raw, q)
		}
	})
}
