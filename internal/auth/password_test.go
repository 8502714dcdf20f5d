package auth

import (
	"strings"
	"testing"
)

func TestPasswordRoundTrip(t *testing.T) {
	p := Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32} // cheap for the test
	h, err := HashPassword("correct horse", p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q not in PHC form", h)
	}
	if strings.Contains(h, "correct horse") {
		t.Fatal("hash contains the password")
	}
	f := func(pw string, want bool) {
		t.Helper()
		ok, err := VerifyPassword(pw, h)
		if err != nil || ok != want {
			t.Fatalf("VerifyPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
	f("correct horse", true)
	f("correct hors", false)
	f("", false)
	h2, _ := HashPassword("correct horse", p)
	if h2 == h {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
}

// TestDefaultParamsCost keeps the default at or above OWASP's argon2id
// floor (m=19 MiB with t=2, or m=46 MiB with t=1; p=1), and below a
// memory that would make concurrent logins a denial of service on a
// small machine. BenchmarkHashPassword reports the time.
func TestDefaultParamsCost(t *testing.T) {
	p := defaultParams
	if p.Memory < 19*1024 || uint64(p.Memory)*uint64(p.Time) < 38*1024 {
		t.Errorf("argon2id m=%d KiB t=%d is below OWASP's floor (m=19456 t=2)", p.Memory, p.Time)
	}
	if p.Memory > 64*1024 {
		t.Errorf("argon2id m=%d KiB: more than 64 MiB per login", p.Memory)
	}
	if p.SaltLen < 16 || p.KeyLen < 32 || p.Threads < 1 {
		t.Errorf("salt %d, key %d, threads %d: want salt >= 16, key >= 32 bytes", p.SaltLen, p.KeyLen, p.Threads)
	}
	h, err := HashPassword("x", p)
	if err != nil {
		t.Fatal(err)
	}
	got, _, _, err := parseHash(h)
	if err != nil || got != p {
		t.Fatalf("parsed params %+v, %v; want %+v", got, err, p)
	}
}

func TestParseHashRejects(t *testing.T) {
	for _, s := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$!!$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=64,t=1,p=1,x=2$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5",
	} {
		if _, err := VerifyPassword("x", s); err == nil {
			t.Errorf("VerifyPassword accepted hash %q", s)
		}
	}
}

func FuzzParseHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=,t=,p=$$")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parseHash(s)
		if err != nil {
			return
		}
		if p.Memory > maxMemory || p.Time > maxTime || p.Time < 1 || p.Threads < 1 || len(salt) < 8 || len(key) < 16 || len(key) > maxKeyLen {
			t.Fatalf("parseHash(%q) accepted out-of-range %+v", s, p)
		}
	})
}

func BenchmarkHashPassword(b *testing.B) {
	for b.Loop() {
		if _, err := HashPassword("correct horse battery staple", defaultParams); err != nil {
			b.Fatal(err)
		}
	}
}
