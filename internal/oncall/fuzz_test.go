package oncall

import (
	"testing"
	"time"
)

func FuzzParseEvent(f *testing.F) {
	f.Add([]byte(`{"routing_key":"k","event_action":"trigger","dedup_key":"d","payload":{"summary":"s","source":"x","severity":"info","timestamp":"2026-01-01T00:00:00Z"}}`))
	f.Add([]byte(`{"routing_key":"k","event_action":"resolve","dedup_key":"d"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, errs := ParseEvent(b)
		if len(errs) == 0 && ev.EventAction == "trigger" && ev.Payload == nil {
			t.Fatal("trigger without payload accepted")
		}
	})
}

func FuzzParseSlackAction(f *testing.F) {
	f.Add([]byte(`payload=%7B%22actions%22%3A%5B%7B%22action_id%22%3A%22vigil_resolve%22%2C%22value%22%3A%221%22%7D%5D%7D`))
	f.Add([]byte(`payload=x`))
	f.Fuzz(func(t *testing.T, b []byte) {
		act, id, _, _, err := ParseSlackAction(b)
		if err == nil && (id <= 0 || act != "acknowledge" && act != "resolve") {
			t.Fatalf("accepted %q %d", act, id)
		}
	})
}

func FuzzParams(f *testing.F) {
	for _, s := range []string{"2026-01-05T09:00:00Z", "1767600000.5", "-1", "1e300", "NaN", "triggered,open"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseTimeParam("t", s, time.Time{})
		_, _ = parseDurationParam("d", s)
		_, _ = parseStates(s)
		_, _ = parseID(s)
	})
}
