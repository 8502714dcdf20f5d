package server

import (
	"sort"
	"strings"
)

// storageProblems lists the stores whose writes are failing, as they
// export it (apierr.WriteHealth's vigil_storage_out_of_space and
// vigil_storage_io_failing gauges, labelled by store): /readyz reports
// what /metrics shows, for every store, without knowing the stores.
func (s *Server) storageProblems() []string {
	mfs, err := s.reg.Gather()
	if err != nil && len(mfs) == 0 {
		return nil
	}
	var out []string
	for _, mf := range mfs {
		var what string
		switch mf.GetName() {
		case "vigil_storage_out_of_space":
			what = "out of disk space"
		case "vigil_storage_io_failing":
			what = "failing to write (I/O errors)"
		default:
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetGauge().GetValue() != 1 {
				continue
			}
			store := "a"
			for _, l := range m.GetLabel() {
				if l.GetName() == "store" {
					store = "the " + l.GetValue()
				}
			}
			out = append(out, store+" store is "+what)
		}
	}
	sort.Strings(out)
	return out
}

// degradedText is /readyz's body while a store cannot write. The answer
// stays 200: queries still work, writes get 503 with Retry-After (which
// every client retries), and a probe that took Vigil out of a load
// balancer would keep away the very writes that show the disk has room
// again.
func degradedText(problems []string) string {
	return "ready, degraded: " + strings.Join(problems, "; ") + "; writes to it are refused with 503 and Retry-After until space is freed, queries work\n"
}
