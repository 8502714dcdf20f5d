package condition

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	f := func(text, want string) {
		t.Helper()
		_, err := Parse(text)
		if err == nil {
			t.Fatalf("Parse(%q) succeeded, want error containing %q", text, want)
		}
		if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), want) {
			t.Fatalf("Parse(%q) = %v, want ErrSyntax containing %q", text, err, want)
		}
	}
	f("", "empty")
	f("[STATUS]", "no operator")
	f("== 200", "nothing left")
	f("[STATUS] ==", "nothing right")
	f("[STATS] == 200", "unknown placeholder")
	f("STATUS == 200", "not a placeholder")
	f("[DOMAIN_EXPIRATION] > 720h", "not supported")
	f("[STATUS] == abc", "want a number")
	f("[RESPONSE_TIME] < fast", "want a number")
	f("[CERTIFICATE_EXPIRATION] > soon", "want a duration")
	f("[CONNECTED] == maybe", "true or false")
	f("[CONNECTED] < true", "compare it with == or !=")
	f("[DNS_RCODE] > NOERROR", "compare it with == or !=")
	f("[STATUS].x == 1", "only [BODY] takes a path")
	f("[BODY]. == 1", "empty key")
	f("[BODY][x] == 1", "not a non-negative number")
	f("[BODY][1 == 1", "not closed")
	f("[BODY]x == 1", "must go on")
	f("len([STATUS]) == 1", "applies to [BODY]")
	f("len([BODY] == 1", "not closed")
	f("[STATUS] < any(200, 300)", "any() and pat() go with == or !=")
	f("[STATUS] == pat(2*)", "is a number")
	f("[STATUS] == any(200,)", "empty value")
	f("[STATUS] == [BODY]", "put the placeholder on the left")
	f("[STATUS] == 200 == 200", "more than one operator")
	f("has([BODY].x) == yes", "true or false")
	f("len([BODY]) == pat(3)", "pat() compares text")
}

func TestParseForms(t *testing.T) {
	f := func(text, canonical string) {
		t.Helper()
		c, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		if got := c.String(); got != canonical {
			t.Fatalf("Parse(%q).String() = %q, want %q", text, got, canonical)
		}
		if c.Text != strings.TrimSpace(text) {
			t.Fatalf("Text = %q", c.Text)
		}
	}
	f("[STATUS] == 200", "[STATUS] == 200")
	f("  [status]==200 ", "[STATUS] == 200")
	f("[STATUS] == any(200, 201,204)", "[STATUS] == any(200, 201, 204)")
	f("[RESPONSE_TIME] < 300", "[RESPONSE_TIME] < 300")
	f("[BODY] == pong", "[BODY] == pong")
	f("[BODY].status == UP", "[BODY].status == UP")
	f("[BODY].data[0].id >= 1", "[BODY].data[0].id >= 1")
	f("[BODY][1] != x", "[BODY][1] != x")
	f("len([BODY].items) > 0", "len([BODY].items) > 0")
	f("has([BODY].errors) == false", "has([BODY].errors) == false")
	f("[BODY].name == pat(api-*)", "[BODY].name == pat(api-*)")
	f("[CERTIFICATE_EXPIRATION] > 48h", "[CERTIFICATE_EXPIRATION] > 48h")
	f("[CERTIFICATE_EXPIRATION] > 7d", "[CERTIFICATE_EXPIRATION] > 7d")
	f("[DNS_RCODE] == NOERROR", "[DNS_RCODE] == NOERROR")
	f("[CONNECTED] == true", "[CONNECTED] == true")
	f("[IP] == 127.0.0.1", "[IP] == 127.0.0.1")
	f("[IP] != any(10.0.0.1, 10.0.0.2)", "[IP] != any(10.0.0.1, 10.0.0.2)")
}

func body(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEval(t *testing.T) {
	in := Input{
		Status: 200, HasStatus: true,
		ResponseTime:          250 * time.Millisecond,
		Body:                  body(t, `{"status":"UP","count":3,"items":[{"id":1,"name":"api-eu"},{"id":2}],"ok":true,"nothing":null,"name":"héllo"}`),
		HasBody:               true,
		CertificateExpiration: 72 * time.Hour, HasCertificate: true,
		DNSRcode:  "NOERROR",
		Connected: true,
		IP:        "127.0.0.1",
	}
	f := func(text string, want bool, observed string) {
		t.Helper()
		c, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		r := c.Eval(in)
		if r.Success != want || r.Observed != observed || r.Condition != text {
			t.Fatalf("Eval(%q) = %+v, want success %v observed %q", text, r, want, observed)
		}
	}
	f("[STATUS] == 200", true, "200")
	f("[STATUS] != 200", false, "200")
	f("[STATUS] < 300", true, "200")
	f("[STATUS] <= 199", false, "200")
	f("[STATUS] > 199", true, "200")
	f("[STATUS] >= 201", false, "200")
	f("[STATUS] == any(201, 200)", true, "200")
	f("[STATUS] != any(201, 200)", false, "200")
	f("[RESPONSE_TIME] < 300", true, "250.0ms")
	f("[RESPONSE_TIME] < 200", false, "250.0ms")
	f("[BODY].status == UP", true, "UP")
	f("[BODY].status == DOWN", false, "UP")
	f("[BODY].status == pat(U*)", true, "UP")
	f("[BODY].status != pat(D*)", true, "UP")
	f("[BODY].count == 3", true, "3")
	f("[BODY].count > 2.5", true, "3")
	f("[BODY].count == any(1, 3)", true, "3")
	f("[BODY].items[0].name == api-eu", true, "api-eu")
	f("[BODY].items[0].id == 1", true, "1")
	f("[BODY].items[5].id == 1", false, "path not found")
	f("[BODY].ok == true", true, "true")
	f("[BODY].nothing == null", true, "null")
	f("[BODY].status > 1", false, "UP (not a number)")
	f("len([BODY].items) == 2", true, "2")
	f("len([BODY].name) == 5", true, "5")
	f("len([BODY].missing) == 0", false, "path not found")
	f("has([BODY].items) == true", true, "true")
	f("has([BODY].errors) == false", true, "false")
	f("has([BODY].errors) != false", false, "false")
	f("[CERTIFICATE_EXPIRATION] > 48h", true, "72h0m0s")
	f("[CERTIFICATE_EXPIRATION] > 7d", false, "72h0m0s")
	f("[CERTIFICATE_EXPIRATION] > 3600000", true, "72h0m0s")
	f("[DNS_RCODE] == NOERROR", true, "NOERROR")
	f("[DNS_RCODE] == noerror", true, "NOERROR")
	f("[DNS_RCODE] == NXDOMAIN", false, "NOERROR")
	f("[CONNECTED] == true", true, "true")
	f("[CONNECTED] != true", false, "true")
	f("[CONNECTED] == false", false, "true")
	f("[IP] == 127.0.0.1", true, "127.0.0.1")
	f("[IP] == pat(127.*)", true, "127.0.0.1")
	f("[IP] != 127.0.0.1", false, "127.0.0.1")

	// Nothing observed.
	in = Input{ResponseTime: time.Second, Body: "pong", HasBody: true}
	f("[STATUS] == 200", false, "no HTTP status (no response)")
	f("[CERTIFICATE_EXPIRATION] > 1h", false, "no certificate")
	f("[DNS_RCODE] == NOERROR", false, "no DNS response")
	f("[IP] == 1.2.3.4", false, "no IP address")
	f("[CONNECTED] == false", true, "false")
	f("[BODY] == pong", true, "pong")
	f("[BODY].x == pong", false, "body is not JSON")
	in = Input{}
	f("[BODY] == pong", false, "no body read")
}

func TestEvalAll(t *testing.T) {
	cs, errs := ParseAll([]string{"[STATUS] == 200", "[RESPONSE_TIME] < 10", "bad"})
	if len(errs) != 1 || len(cs) != 2 {
		t.Fatalf("ParseAll: %d conditions, errors %v", len(cs), errs)
	}
	rs, ok := EvalAll(cs, Input{Status: 200, HasStatus: true, ResponseTime: time.Second})
	if ok || !rs[0].Success || rs[1].Success || rs[1].Condition != "[RESPONSE_TIME] < 10" {
		t.Fatalf("EvalAll = %+v, %v", rs, ok)
	}
	if NeedsBody(cs) {
		t.Fatal("NeedsBody without [BODY]")
	}
	if c, _ := Parse("len([BODY]) > 1"); !NeedsBody([]*Condition{c}) {
		t.Fatal("NeedsBody with [BODY]")
	}
}
