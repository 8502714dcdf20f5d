package main

import (
	"fmt"
	"testing"
)

func TestPhases(t *testing.T) {
	f := func(perSecond []int64, warm int, want string) {
		t.Helper()
		p := phases(perSecond, warm)
		got := fmt.Sprint(p["startup_lines_per_second"], " ", p["steady_median_lines_per_second"], " ", p["steady_min_lines_per_second"], " ", p["steady_max_lines_per_second"])
		if got != want {
			t.Fatalf("phases(%v, %d) = %s, want %s", perSecond, warm, got, want)
		}
	}
	f([]int64{10, 20, 5, 7, 9}, 2, "15 7 5 9")
	f([]int64{10, 20, 5, 7, 9, 1}, 2, "15 6 1 9") // even count: mean of the middle two
	f([]int64{10, 20}, 5, "15 <nil> <nil> <nil>") // shorter than the warm-up
	f([]int64{10, 20, 30}, 0, "<nil> 20 10 30")   // no warm-up
}
