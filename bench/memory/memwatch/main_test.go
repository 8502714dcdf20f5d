package main

import (
	"os"
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	st, err := parseStatus([]byte("Name:\tvigil\nVmPeak:\t 100 kB\nVmHWM:\t    2048 kB\nVmRSS:\t    1024 kB\n"))
	if err != nil || st.RSS != 1<<20 || st.HWM != 2<<20 {
		t.Fatalf("parseStatus = %+v, %v", st, err)
	}
	for _, bad := range []string{"Name:\tzombie\n", "VmRSS:\t12 MB\nVmHWM:\t1 kB\n", "VmRSS:\tx kB\nVmHWM:\t1 kB\n"} {
		if _, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("parseStatus(%q) accepted", bad)
		}
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		if st, err := parseStatus(b); err != nil || st.RSS <= 0 || st.HWM < st.RSS {
			t.Fatalf("own status: %+v, %v", st, err)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	m, err := parseMetrics(strings.NewReader(`# HELP go_memstats_heap_inuse_bytes x
go_memstats_heap_inuse_bytes 1.5e+08
vigil_telemetrydb_queue_rows{store="logs"} 10
vigil_telemetrydb_queue_rows{store="traces"} 5
other_metric 3
`))
	if err != nil || m["go_memstats_heap_inuse_bytes"] != 1.5e8 || m["vigil_telemetrydb_queue_rows"] != 15 || len(m) != 2 {
		t.Fatalf("parseMetrics = %v, %v", m, err)
	}
	if _, err := parseMetrics(strings.NewReader("vigil_memory_refusing one\n")); err == nil || !strings.Contains(err.Error(), "vigil_memory_refusing") {
		t.Fatalf("bad value: %v", err)
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte("VmHWM:\t2048 kB\nVmRSS:\t1024 kB\n"))
	f.Add([]byte("VmRSS: -1 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := parseStatus(b)
		if err == nil && (st.RSS < 0 || st.HWM < 0) {
			t.Fatalf("negative sizes accepted: %+v", st)
		}
	})
}

func FuzzParseMetrics(f *testing.F) {
	f.Add("go_memstats_sys_bytes 12\nvigil_memory_refusing{a=\"}\"} 1\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseMetrics(strings.NewReader(s))
	})
}
