package logql

import (
	"strings"
	"testing"
)

// TestRangeFunctionTable checks that the parser applies each function's
// unwrap rule and parameter from the table and resolves Func.
func TestRangeFunctionTable(t *testing.T) {
	for name, fn := range RangeFunctions {
		param := ""
		if fn.CheckParam != nil {
			param = "0.5, "
		}
		plain := name + "(" + param + `{a="b"} [1m])`
		unwrapped := name + "(" + param + `{a="b"} | unwrap x [1m])`
		for q, ok := range map[string]bool{plain: fn.Unwrap != UnwrapRequired, unwrapped: fn.Unwrap != UnwrapNever} {
			e, err := Parse(q)
			if ok != (err == nil) {
				t.Errorf("%s: err %v, want ok=%v", q, err, ok)
				continue
			}
			if err == nil && e.(*RangeAggr).Func != fn {
				t.Errorf("%s: Func not resolved", q)
			}
		}
		if fn.Eval == nil {
			t.Errorf("%s has no Eval", name)
		}
		if fn.Counts != nil && fn.Unwrap == UnwrapRequired {
			t.Errorf("%s: Counts on a function that always unwraps is never used", name)
		}
		if v, ok := fn.Eval(0.5, []float64{1, 2, 3}, 60); !ok || v != v {
			t.Errorf("%s: Eval(1,2,3) = %v, %v", name, v, ok)
		}
	}
	if _, err := Parse(`quantile_over_time(1.5, {a="b"} | unwrap x [1m])`); err == nil || !strings.Contains(err.Error(), "between 0 and 1") {
		t.Errorf("quantile 1.5: %v", err)
	}
}
