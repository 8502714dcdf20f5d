package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Disk is what a target keeps on disk for the benchmark's data.
type Disk struct {
	Kind string `json:"kind"` // "tsdb" (Prometheus, Vigil) or "vm"
	// Bytes is the size of what is measured: the persistent blocks of a
	// Prometheus TSDB (chunks, index, meta, tombstones; not the WAL or the
	// head's chunks), or VictoriaMetrics' data directory (data and indexdb
	// parts) after a forced merge.
	Bytes int64 `json:"bytes"`
	// Samples are the samples in what is measured: from the blocks'
	// meta.json, or VictoriaMetrics' vm_rows.
	Samples        int64            `json:"samples"`
	Series         int64            `json:"series,omitempty"`
	BytesPerSample float64          `json:"bytes_per_sample"`
	Parts          map[string]int64 `json:"parts"` // bytes by part: index, chunks, data, indexdb...
	Blocks         []string         `json:"blocks,omitempty"`
}

// tsdbDisk measures the persistent blocks in a Prometheus TSDB directory.
func tsdbDisk(dir string) (Disk, error) {
	d := Disk{Kind: "tsdb", Parts: map[string]int64{}}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return d, err
	}
	for _, e := range ents {
		meta := filepath.Join(dir, e.Name(), "meta.json")
		b, err := os.ReadFile(meta)
		if err != nil || !e.IsDir() {
			continue
		}
		var m struct {
			MinTime, MaxTime int64
			Stats            struct {
				NumSamples, NumSeries, NumChunks int64
			}
		}
		if err := json.Unmarshal(b, &m); err != nil {
			return d, fmt.Errorf("read %s: %w", meta, err)
		}
		d.Samples += m.Stats.NumSamples
		d.Series += m.Stats.NumSeries
		d.Blocks = append(d.Blocks, fmt.Sprintf("%s [%s, %s) %d series %d samples %d chunks",
			e.Name(), time.UnixMilli(m.MinTime).UTC().Format(time.RFC3339), time.UnixMilli(m.MaxTime).UTC().Format(time.RFC3339),
			m.Stats.NumSeries, m.Stats.NumSamples, m.Stats.NumChunks))
		err = filepath.WalkDir(filepath.Join(dir, e.Name()), func(p string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return err
			}
			fi, err := de.Info()
			if err != nil {
				return err
			}
			part := de.Name()
			if filepath.Base(filepath.Dir(p)) == "chunks" {
				part = "chunks"
			}
			d.Parts[part] += fi.Size()
			d.Bytes += fi.Size()
			return nil
		})
		if err != nil {
			return d, err
		}
	}
	if d.Samples == 0 {
		return d, fmt.Errorf("no persistent block in %s", dir)
	}
	d.BytesPerSample = float64(d.Bytes) / float64(d.Samples)
	return d, nil
}

// waitBlock waits until the TSDB in dir has cut a persistent block.
func waitBlock(ctx context.Context, dir string) error {
	for {
		if d, err := tsdbDisk(dir); err == nil && d.Samples > 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no block in %s yet: %w", dir, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// vmDisk measures VictoriaMetrics' data directory; samples come from vmCompact.
func vmDisk(dir string, samples int64) (Disk, error) {
	d := Disk{Kind: "vm", Parts: map[string]int64{}, Samples: samples}
	for _, part := range []string{"small", "big", "indexdb"} {
		err := filepath.WalkDir(filepath.Join(dir, "data", part), func(p string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return err
			}
			fi, err := de.Info()
			if err != nil {
				return err
			}
			d.Parts[part] += fi.Size()
			d.Bytes += fi.Size()
			return nil
		})
		if err != nil {
			return d, err
		}
	}
	if samples > 0 {
		d.BytesPerSample = float64(d.Bytes) / float64(samples)
	}
	return d, nil
}

// vmCompact flushes VictoriaMetrics' in-memory parts, forces a merge of all
// partitions and waits until no merge runs and nothing is left in memory.
// It returns VictoriaMetrics' row counts by part type.
func vmCompact(ctx context.Context, base string) (map[string]float64, error) {
	for _, p := range []string{"/internal/force_flush", "/internal/force_merge"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+p, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return nil, fmt.Errorf("%s: %s", p, resp.Status)
		}
	}
	for {
		m, err := scrape(ctx, base+"/metrics")
		if err != nil {
			return nil, err
		}
		busy := m[`vm_active_force_merges`]
		for k, v := range m {
			if strings.HasPrefix(k, "vm_active_merges{") || k == `vm_rows{type="storage/inmemory"}` ||
				k == `vm_rows{type="indexdb/inmemory"}` || strings.HasPrefix(k, "vm_pending_rows{") {
				busy += v
			}
		}
		if busy == 0 {
			rows := map[string]float64{}
			for k, v := range m {
				if strings.HasPrefix(k, "vm_rows{") || strings.HasPrefix(k, "vm_data_size_bytes{") || strings.HasPrefix(k, "vm_parts{") {
					rows[k] = v
				}
			}
			return rows, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("VictoriaMetrics still merging: %w", ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// scrape reads a Prometheus text exposition into series -> value.
func scrape(ctx context.Context, u string) (map[string]float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}
