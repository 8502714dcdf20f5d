package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/golang/snappy"
)

// A corpus is every remote-write request of a run, built and snappy-encoded
// before any target starts, so that sending costs the load generator a file
// read and a copy and every target receives the same bytes. Series are
// spread over shards round-robin (Prometheus hashes them; the effect is the
// same), each shard's requests are in one file, in the order they are sent.
//
// A record is a 12-byte header (body length, round, samples; little endian)
// and the snappy-compressed (block format) WriteRequest.

// Meta describes a corpus; it is stored as meta.json.
type Meta struct {
	Series          int    `json:"series"`
	Shards          int    `json:"shards"`
	BatchSize       int    `json:"batch_size"`
	IntervalMS      int64  `json:"interval_ms"`
	StartMS         int64  `json:"start_ms"`
	Rounds          int    `json:"rounds"`
	Seed            uint64 `json:"seed"`
	Requests        int    `json:"requests"`
	Samples         int64  `json:"samples"`
	CompressedBytes int64  `json:"compressed_bytes"`
	RawBytes        int64  `json:"raw_bytes"`
	// Labels is the average number of labels per series, __name__ included.
	Labels float64 `json:"labels_per_series"`
	// Unchanged is the fraction of samples (after the first round) equal
	// to the series' previous sample: flat series compress well.
	Unchanged float64   `json:"unchanged_fraction"`
	Created   time.Time `json:"created"`
}

// EndMS is the timestamp of the last round's scrape (before instance offsets).
func (m Meta) EndMS() int64 { return m.StartMS + int64(m.Rounds-1)*m.IntervalMS }

// same reports whether m was built with the parameters of o.
func (m Meta) same(o Meta) bool {
	return m.Series == o.Series && m.Shards == o.Shards && m.BatchSize == o.BatchSize &&
		m.IntervalMS == o.IntervalMS && m.StartMS == o.StartMS && m.Rounds == o.Rounds && m.Seed == o.Seed
}

const headerLen = 12

func shardPath(dir string, shard int) string {
	return filepath.Join(dir, fmt.Sprintf("shard-%02d.bin", shard))
}

func readMeta(dir string) (Meta, error) {
	var m Meta
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("read corpus meta in %s: %w", dir, err)
	}
	return m, nil
}

// generate writes the corpus described by want into dir, unless one with the
// same parameters is already there.
func generate(dir string, want Meta) (Meta, error) {
	if have, err := readMeta(dir); err == nil && have.same(want) {
		return have, nil
	}
	if want.Series%want.Shards != 0 {
		return want, fmt.Errorf("series %d is not a multiple of shards %d", want.Series, want.Shards)
	}
	all, err := buildDataset(want.Series, want.IntervalMS, want.Seed)
	if err != nil {
		return want, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return want, fmt.Errorf("create corpus dir: %w", err)
	}
	_ = os.Remove(filepath.Join(dir, "meta.json"))

	m := want
	m.Created = time.Now().UTC()
	var labels int
	enc := make([][]byte, len(all))
	for i, s := range all {
		enc[i] = encodeLabels(s.labels)
		labels += len(s.labels)
	}
	m.Labels = float64(labels) / float64(len(all))

	type shard struct {
		f       *os.File
		w       *bufio.Writer
		members []int
		raw     []byte
		comp    []byte
		reqs    int
		bytes   int64
		rawSize int64
	}
	shards := make([]*shard, want.Shards)
	for i := range shards {
		f, err := os.Create(shardPath(dir, i))
		if err != nil {
			return m, fmt.Errorf("create corpus file: %w", err)
		}
		defer f.Close()
		shards[i] = &shard{f: f, w: bufio.NewWriterSize(f, 1<<20)}
	}
	for i := range all {
		sh := shards[i%want.Shards]
		sh.members = append(sh.members, i)
	}

	rng := rand.New(rand.NewPCG(want.Seed, 1))
	vals := make([]float64, len(all))
	prev := make([]float64, len(all))
	var unchanged int64
	workers := min(runtime.GOMAXPROCS(0), want.Shards)
	for r := 0; r < want.Rounds; r++ {
		for i, s := range all {
			vals[i] = s.next(r, rng)
			if r > 0 && vals[i] == prev[i] {
				unchanged++
			}
			prev[i] = vals[i]
		}
		base := want.StartMS + int64(r)*want.IntervalMS
		var wg sync.WaitGroup
		errs := make([]error, want.Shards)
		sem := make(chan struct{}, workers)
		for si, sh := range shards {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				for lo := 0; lo < len(sh.members); lo += want.BatchSize {
					hi := min(lo+want.BatchSize, len(sh.members))
					sh.raw = sh.raw[:0]
					for _, i := range sh.members[lo:hi] {
						sh.raw = appendSeries(sh.raw, enc[i], base+all[i].offset, vals[i])
					}
					sh.comp = snappy.Encode(sh.comp[:cap(sh.comp)], sh.raw)
					var h [headerLen]byte
					binary.LittleEndian.PutUint32(h[0:], uint32(len(sh.comp)))
					binary.LittleEndian.PutUint32(h[4:], uint32(r))
					binary.LittleEndian.PutUint32(h[8:], uint32(hi-lo))
					if _, err := sh.w.Write(h[:]); err != nil {
						errs[si] = err
						return
					}
					if _, err := sh.w.Write(sh.comp); err != nil {
						errs[si] = err
						return
					}
					sh.reqs++
					sh.bytes += int64(len(sh.comp))
					sh.rawSize += int64(len(sh.raw))
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return m, fmt.Errorf("write corpus: %w", err)
		}
	}
	for _, sh := range shards {
		if err := sh.w.Flush(); err != nil {
			return m, fmt.Errorf("write corpus: %w", err)
		}
		if err := sh.f.Close(); err != nil {
			return m, fmt.Errorf("write corpus: %w", err)
		}
		m.Requests += sh.reqs
		m.CompressedBytes += sh.bytes
		m.RawBytes += sh.rawSize
	}
	m.Samples = int64(want.Series) * int64(want.Rounds)
	if want.Rounds > 1 {
		m.Unchanged = float64(unchanged) / float64(int64(want.Series)*int64(want.Rounds-1))
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), b, 0o644); err != nil {
		return m, fmt.Errorf("write corpus meta: %w", err)
	}
	return m, nil
}

// record is one request of a shard.
type record struct {
	round   int
	samples int
	body    []byte
}

// reader reads a shard's records in order.
type reader struct {
	r   *bufio.Reader
	f   *os.File
	buf []byte
}

func openShard(dir string, shard int) (*reader, error) {
	f, err := os.Open(shardPath(dir, shard))
	if err != nil {
		return nil, err
	}
	return &reader{r: bufio.NewReaderSize(f, 1<<20), f: f}, nil
}

// next returns the next record; its body is valid until the next call.
func (rd *reader) next() (record, error) {
	var h [headerLen]byte
	if _, err := io.ReadFull(rd.r, h[:]); err != nil {
		return record{}, err
	}
	n := int(binary.LittleEndian.Uint32(h[0:]))
	if cap(rd.buf) < n {
		rd.buf = make([]byte, n)
	}
	rd.buf = rd.buf[:n]
	if _, err := io.ReadFull(rd.r, rd.buf); err != nil {
		return record{}, fmt.Errorf("truncated corpus record: %w", err)
	}
	return record{
		round:   int(binary.LittleEndian.Uint32(h[4:])),
		samples: int(binary.LittleEndian.Uint32(h[8:])),
		body:    rd.buf,
	}, nil
}

func (rd *reader) Close() error { return rd.f.Close() }
