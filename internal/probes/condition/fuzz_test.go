package condition

import (
	"reflect"
	"testing"
)

// FuzzParse: Parse never panics, and a parsed condition's canonical form
// parses to the same condition and evaluates without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"[STATUS] == 200", "[BODY].a[0].b == pat(x*)", "len([BODY]) > 1", "has([BODY].x) == true", "[CERTIFICATE_EXPIRATION] > 7d", "[STATUS] == any(1, 2)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		c2, err := Parse(c.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", c.String(), s, err)
		}
		c.Text, c2.Text = "", ""
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("round trip of %q: %+v != %+v", s, c, c2)
		}
		c.Eval(Input{Body: map[string]any{"a": []any{map[string]any{"b": "x"}}}, HasBody: true, HasStatus: true})
	})
}
