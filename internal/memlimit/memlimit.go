// Package memlimit is Vigil's one memory limit: how it is divided among
// the stores, and the governor that refuses ingestion while the process's
// resident memory is near it, so that a load past the limit gets
// retryable errors instead of the kernel's OOM killer.
//
// The rule (docs/configuration.md): Base (128 MiB) is set aside for the
// binary's code and the runtime; of the rest, the trace store's and the
// log store's DuckDB each get a quarter (unless their own memory_limit is
// set), and the other half is for the Go heap (the TSDB head, the write
// queues, requests being decoded), of which an eighth may hold the log
// store's term index and another eighth the trace store's tag index. A store's DuckDB memory_limit is three quarters of
// its share: DuckDB's resident memory runs past its memory_limit
// (allocations outside its buffer manager, its allocator's caches; 1.3x
// measured by bench/memory with all three signals at once).
// Go's garbage collector gets a soft limit at what the governor's high
// watermark leaves once the two stores hold their shares, so that the Go
// heap stays in its part instead of growing into the stores' (bench/memory
// saw it reach 540 MiB of a 1 GiB limit with the soft limit at 90% of the
// whole limit).
// The governor samples the resident set size every 100 ms: at 90% of the
// limit it refuses new ingest requests (503 / UNAVAILABLE with
// Retry-After), and takes them again below 85%.
package memlimit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Limits of the automatic limit.
const (
	MinAuto = 512 << 20
	MaxAuto = 4 << 30
	// Min is the smallest limit a configuration may set.
	Min = 256 << 20
	// MinStore is the smallest share a DuckDB store gets.
	MinStore = 64 << 20
	// Base is what the binary's mapped code and the runtime take before
	// any data: about 135 MiB resident at start, 80 MiB of it the
	// binary's own pages.
	Base = 128 << 20
)

// Auto is the limit when none is configured: a quarter of the memory the
// process may use (its cgroup's limit, else the machine's), between
// MinAuto (or half of that memory, if less) and MaxAuto. source says
// where the memory figure came from.
func Auto() (limit int64, source string) {
	avail, source := available()
	if avail <= 0 {
		return MinAuto, "default (the machine's memory could not be read)"
	}
	return autoOf(avail), source
}

func autoOf(avail int64) int64 {
	lo := min(int64(MinAuto), avail/2)
	return max(lo, min(avail/4, int64(MaxAuto)))
}

// available is the memory the process may use: the cgroup v2 or v1 limit
// when one is set, else MemTotal.
func available() (int64, string) {
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 {
			return v, "cgroup memory.max"
		}
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 && v < 1<<60 {
			return v, "cgroup memory.limit_in_bytes"
		}
	}
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("MemTotal:")); ok {
			fs := strings.Fields(string(v))
			if len(fs) == 2 && fs[1] == "kB" {
				if n, err := strconv.ParseInt(fs[0], 10, 64); err == nil {
					return n << 10, "MemTotal"
				}
			}
		}
	}
	return 0, ""
}

// Budget is a limit divided among the process's parts.
type Budget struct {
	Limit  int64 // the whole process
	Traces int64 // the trace store's DuckDB memory_limit
	Logs   int64 // the log store's DuckDB memory_limit
	// LogTerms caps the log store's term index (in the Go heap): an
	// eighth of the Go heap's share.
	LogTerms int64
	// TraceTags caps the trace store's tag index (in the Go heap): an
	// eighth of the Go heap's share.
	TraceTags int64
	// Go is the Go runtime's soft limit (runtime/debug.SetMemoryLimit):
	// the governor's high watermark less what the stores' DuckDBs may
	// hold resident (ResidentOf their memory_limit), and at least a
	// quarter of the limit.
	Go int64
	// High is the resident size from which the governor refuses
	// ingestion.
	High int64
}

// DuckDB's resident memory over its memory_limit, as a fraction: a
// store's memory_limit is its share times duckDBNum/duckDBDen, and
// ResidentOf is the inverse.
const duckDBNum, duckDBDen = 3, 4

// ResidentOf is what a DuckDB with memory_limit limit is allowed to hold
// resident by the rule: limit * 4/3.
func ResidentOf(limit int64) int64 { return limit * duckDBDen / duckDBNum }

// Divide divides limit by the rule of the package comment. traces and
// logs are the stores' own memory_limit settings (0: their share).
func Divide(limit, traces, logs int64) (Budget, error) {
	if limit < Min {
		return Budget{}, fmt.Errorf("memory_limit must be at least %s, got %s", Size(Min), Size(limit))
	}
	b := Budget{Limit: limit, Traces: traces, Logs: logs, High: int64(float64(limit) * DefaultHigh)}
	share := max((limit-Base)/4, MinStore)
	if b.Traces == 0 {
		b.Traces = max(share*duckDBNum/duckDBDen, MinStore)
	}
	if b.Logs == 0 {
		b.Logs = max(share*duckDBNum/duckDBDen, MinStore)
	}
	b.Go = max(b.High-ResidentOf(b.Traces)-ResidentOf(b.Logs), limit/4)
	b.LogTerms = (limit - Base) / 16
	b.TraceTags = (limit - Base) / 16
	if rest := limit - b.Traces - b.Logs; rest < limit/4 {
		return Budget{}, fmt.Errorf("traces.memory_limit (%s) and logs.memory_limit (%s) leave %s of memory_limit %s for the rest of Vigil (the TSDB head, queues, requests); leave at least a quarter (%s): raise memory_limit or lower the stores' limits",
			Size(b.Traces), Size(b.Logs), Size(max(rest, 0)), Size(limit), Size(limit/4))
	}
	return b, nil
}

// Size formats bytes as the configuration writes them (512MiB, 1.5GiB).
func Size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dB", n)
}

// errNoStatm: /proc/self/statm is missing (not Linux).
var errNoStatm = errors.New("no /proc/self/statm")

// resident reads the process's resident set size from /proc/self/statm.
func resident() (int64, error) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, errors.Join(errNoStatm, err)
	}
	fs := bytes.Fields(b)
	if len(fs) < 2 {
		return 0, fmt.Errorf("/proc/self/statm: unexpected %q", b)
	}
	pages, err := strconv.ParseInt(string(fs[1]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/self/statm: %w", err)
	}
	return pages * int64(os.Getpagesize()), nil
}
