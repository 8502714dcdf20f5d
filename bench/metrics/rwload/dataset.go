package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// The data set imitates what a Prometheus server scraping node_exporter and
// instrumented HTTP services sends: per instance 200 series (CPU by core and
// mode, memory, network, filesystems, disks, load, request counters, a
// request-duration histogram, process metrics), each with the target labels
// a Kubernetes or Consul setup attaches (job, instance, cluster, region, env,
// team) plus the metric's own labels: 8 to 11 labels per series.
const seriesPerInstance = 200

// label is one name/value pair.
type label struct{ name, value string }

// kind says how a series' value evolves between scrapes.
type kind uint8

const (
	kindCounterFloat kind = iota // CPU seconds: increments with 2 decimals
	kindCounterInt               // bytes, packets, requests: integer increments
	kindGaugeConst               // sizes that never change
	kindGaugeBytes               // memory and disk free: page-sized random walk
	kindGaugeFloat               // load average: 2 decimals
	kindGaugeSmall               // goroutines, open fds: small integers
	kindBucket                   // histogram bucket (set by its histogram)
	kindHistSum                  // histogram _sum (set by its histogram)
	kindHistCount                // histogram _count (set by its histogram)
)

// series is one time series and the state of its value.
type series struct {
	labels []label // sorted by name, __name__ first
	kind   kind
	scale  float64 // typical increment or level
	idle   float64 // probability that a counter does not move in a scrape
	value  float64
	hist   *histogram // for kindBucket, kindHistSum, kindHistCount
	bucket int        // bucket index for kindBucket
	offset int64      // scrape offset of the instance within the interval, ms
}

// histogram is the state shared by a classic histogram's series, so that
// buckets stay cumulative and consistent with _count.
type histogram struct {
	counts []float64 // cumulative, one per bucket
	sum    float64
	count  float64
	round  int // round the state was last advanced for
}

var (
	cpuModes    = []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"}
	netDevices  = []string{"eth0", "eth1", "lo"}
	handlers    = []string{"/api/checkout", "/api/login", "/api/products", "/api/search", "/healthz"}
	methods     = []string{"GET", "POST"}
	codes       = []string{"200", "404", "500"}
	buckets     = []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"}
	bucketMean  = []float64{0.02, 0.01, 0.25, 0.2, 0.2, 0.15, 0.1, 0.05, 0.015, 0.005}
	memNames    = []string{"Active", "Buffers", "Cached", "Committed_AS", "Dirty", "Inactive", "MemAvailable", "MemFree", "MemTotal", "Slab", "SwapFree", "SwapTotal"}
	clusters    = []string{"eu-west-1a", "eu-west-1b", "us-east-1a", "us-east-1b", "ap-south-1a"}
	envs        = []string{"prod", "prod", "prod", "staging"}
	services    = []string{"cart", "checkout", "frontend", "inventory", "payments", "search", "users"}
	teams       = []string{"core", "growth", "platform", "shop"}
	filesystems = [][3]string{{"/dev/sda1", "ext4", "/"}, {"/dev/sda2", "ext4", "/var"}, {"/dev/sdb1", "xfs", "/data"}, {"tmpfs", "tmpfs", "/run"}}
)

// buildDataset returns n series (a multiple of seriesPerInstance) with
// values seeded deterministically from seed and interval-aligned scrape
// offsets per instance.
func buildDataset(n int, intervalMS int64, seed uint64) ([]*series, error) {
	if n <= 0 || n%seriesPerInstance != 0 {
		return nil, fmt.Errorf("series %d: want a positive multiple of %d", n, seriesPerInstance)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]*series, 0, n)
	for i := 0; i < n/seriesPerInstance; i++ {
		cluster := clusters[i%len(clusters)]
		region := cluster[:len(cluster)-1]
		target := []label{
			{"cluster", cluster},
			{"env", envs[i%len(envs)]},
			{"region", region},
			{"team", teams[i%len(teams)]},
		}
		ip := fmt.Sprintf("10.%d.%d.%d", 16+i/65536, (i/256)%256, i%256)
		service := services[i%len(services)]
		offset := (int64(i) * 7919) % intervalMS
		node := append(slices.Clone(target), label{"job", "node"}, label{"instance", ip + ":9100"})
		app := append(slices.Clone(target), label{"job", service}, label{"instance", ip + ":8080"}, label{"namespace", service})
		add := func(base []label, name string, k kind, scale float64, extra ...label) *series {
			ls := append(slices.Clone(base), label{"__name__", name})
			ls = append(ls, extra...)
			slices.SortFunc(ls, func(a, b label) int {
				switch {
				case a.name < b.name:
					return -1
				case a.name > b.name:
					return 1
				}
				return 0
			})
			s := &series{labels: ls, kind: k, scale: scale, offset: offset, idle: 0.125}
			switch k {
			case kindGaugeConst, kindGaugeBytes:
				s.value = math.Round(scale*(0.5+rng.Float64())/4096) * 4096
			case kindGaugeFloat:
				s.value = math.Round(scale*rng.Float64()*100) / 100
			case kindGaugeSmall:
				s.value = math.Round(scale * (0.5 + rng.Float64()))
			case kindCounterFloat:
				s.value = math.Round(scale*1e4*rng.Float64()*100) / 100
			case kindCounterInt:
				s.value = math.Round(scale * 1e4 * rng.Float64())
			}
			out = append(out, s)
			return s
		}
		// node_exporter: 64 + 12 + 12 + 8 + 6 + 3 = 105 series.
		for cpu := 0; cpu < 8; cpu++ {
			for _, mode := range cpuModes {
				scale := 0.05
				switch mode {
				case "idle":
					scale = 12
				case "user":
					scale = 2
				case "system":
					scale = 0.8
				}
				s := add(node, "node_cpu_seconds_total", kindCounterFloat, scale, label{"cpu", strconv.Itoa(cpu)}, label{"mode", mode})
				switch mode {
				case "irq", "nice", "steal":
					s.idle = 0.95 // mostly flat, as on real hosts
				case "iowait", "softirq":
					s.idle = 0.5
				}
			}
		}
		for _, m := range memNames {
			k := kindGaugeBytes
			if m == "MemTotal" || m == "SwapTotal" {
				k = kindGaugeConst
			}
			add(node, "node_memory_"+m+"_bytes", k, 16<<30)
		}
		for _, d := range netDevices {
			add(node, "node_network_receive_bytes_total", kindCounterInt, 1e6, label{"device", d})
			add(node, "node_network_transmit_bytes_total", kindCounterInt, 5e5, label{"device", d})
			add(node, "node_network_receive_packets_total", kindCounterInt, 1e3, label{"device", d})
			add(node, "node_network_transmit_packets_total", kindCounterInt, 8e2, label{"device", d})
		}
		for _, fs := range filesystems {
			fl := []label{{"device", fs[0]}, {"fstype", fs[1]}, {"mountpoint", fs[2]}}
			add(node, "node_filesystem_avail_bytes", kindGaugeBytes, 100<<30, fl...)
			add(node, "node_filesystem_size_bytes", kindGaugeConst, 200<<30, fl...)
		}
		for _, d := range []string{"sda", "sdb"} {
			add(node, "node_disk_read_bytes_total", kindCounterInt, 4e6, label{"device", d})
			add(node, "node_disk_written_bytes_total", kindCounterInt, 8e6, label{"device", d})
			add(node, "node_disk_io_time_seconds_total", kindCounterFloat, 0.5, label{"device", d})
		}
		add(node, "node_load1", kindGaugeFloat, 4)
		add(node, "node_load5", kindGaugeFloat, 3)
		add(node, "node_load15", kindGaugeFloat, 2)
		// The service: 30 + 60 + 5 = 95 series.
		for _, h := range handlers {
			for _, m := range methods {
				for _, c := range codes {
					scale := 50.0
					switch c {
					case "404":
						scale = 2
					case "500":
						scale = 0.5
					}
					s := add(app, "http_requests_total", kindCounterInt, scale, label{"code", c}, label{"handler", h}, label{"method", m})
					switch c {
					case "404":
						s.idle = 0.6
					case "500":
						s.idle = 0.9
					}
				}
			}
		}
		for _, h := range handlers {
			hist := &histogram{counts: make([]float64, len(buckets)), round: -1}
			for b, le := range buckets {
				s := add(app, "http_request_duration_seconds_bucket", kindBucket, 100, label{"handler", h}, label{"le", le})
				s.hist, s.bucket = hist, b
			}
			add(app, "http_request_duration_seconds_sum", kindHistSum, 100, label{"handler", h}).hist = hist
			add(app, "http_request_duration_seconds_count", kindHistCount, 100, label{"handler", h}).hist = hist
		}
		add(app, "process_cpu_seconds_total", kindCounterFloat, 1.5)
		add(app, "process_resident_memory_bytes", kindGaugeBytes, 512<<20)
		add(app, "process_open_fds", kindGaugeSmall, 40)
		add(app, "go_goroutines", kindGaugeSmall, 120)
		add(app, "go_memstats_heap_alloc_bytes", kindGaugeBytes, 256<<20)
	}
	if len(out) != n {
		return nil, fmt.Errorf("built %d series, want %d: seriesPerInstance is out of date", len(out), n)
	}
	return out, nil
}

// next advances s to the given round and returns its value.
func (s *series) next(round int, rng *rand.Rand) float64 {
	if round == 0 {
		return s.value
	}
	switch s.kind {
	case kindCounterFloat:
		if rng.Float64() >= s.idle {
			s.value += math.Round(s.scale*(0.5+rng.Float64())*100) / 100
			s.value = math.Round(s.value*100) / 100
		}
	case kindCounterInt:
		if rng.Float64() >= s.idle {
			s.value += math.Max(1, math.Round(s.scale*2*rng.Float64()))
		}
	case kindGaugeBytes:
		if rng.IntN(3) == 0 {
			s.value += float64(rng.IntN(2001)-1000) * 4096
			if s.value < 0 {
				s.value = 0
			}
		}
	case kindGaugeFloat:
		s.value = math.Round(math.Abs(s.value+s.scale*0.1*(rng.Float64()-0.5))*100) / 100
	case kindGaugeSmall:
		if rng.IntN(4) == 0 {
			s.value = math.Max(1, s.value+float64(rng.IntN(5)-2))
		}
	case kindBucket, kindHistSum, kindHistCount:
		s.hist.advance(round, s.scale, rng)
		switch s.kind {
		case kindBucket:
			return s.hist.counts[s.bucket]
		case kindHistSum:
			return s.hist.sum
		default:
			return s.hist.count
		}
	}
	return s.value
}

// advance adds one scrape interval's observations once per round.
func (h *histogram) advance(round int, scale float64, rng *rand.Rand) {
	if h.round == round {
		return
	}
	h.round = round
	var cum float64
	for b := range h.counts {
		cum += math.Round(bucketMean[b] * scale * 2 * rng.Float64())
		h.counts[b] += cum
	}
	h.count = h.counts[len(h.counts)-1]
	h.sum = math.Round((h.sum+cum*0.12*(0.5+rng.Float64()))*1e6) / 1e6
}
