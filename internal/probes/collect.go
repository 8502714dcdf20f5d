package probes

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"
)

// collect reads a run's registry into samples with Registry.Collect rather
// than Gather: Gather makes two 1,000-metric channels (32 KB), a goroutine
// per collector, dto families and a sort for every run, which was 40% of
// the bytes a probe run allocated (and so of its garbage collection) for
// the ~17 gauges a prober registers. The samples are what Gather would
// give, unsorted.
func collect(reg *prometheus.Registry) ([]Sample, error) {
	ch := make(chan prometheus.Metric, 32)
	go func() {
		reg.Collect(ch)
		close(ch)
	}()
	var (
		out      = make([]Sample, 0, 24) // an HTTP run has ~17
		firstErr error
		b        labels.ScratchBuilder
		pb       dto.Metric
		last     *prometheus.Desc // vec children share their Desc
		name     string
		help     string
	)
	for mt := range ch {
		if firstErr != nil {
			continue // drain
		}
		if d := mt.Desc(); d != last {
			var err error
			if name, help, err = descNameHelp(d); err != nil {
				firstErr = err
				continue
			}
			last = d
		}
		pb.Reset()
		if err := mt.Write(&pb); err != nil {
			firstErr = fmt.Errorf("collect %s: %w", name, err)
			continue
		}
		var (
			v   float64
			typ string
		)
		switch {
		case pb.Gauge != nil:
			v, typ = pb.Gauge.GetValue(), "gauge"
		case pb.Counter != nil:
			v, typ = pb.Counter.GetValue(), "counter"
		case pb.Untyped != nil:
			v, typ = pb.Untyped.GetValue(), "untyped"
		default:
			continue // the probers export gauges only
		}
		b.Reset()
		b.Add(labels.MetricName, name)
		for _, lp := range pb.Label {
			b.Add(lp.GetName(), lp.GetValue())
		}
		b.Sort()
		out = append(out, Sample{Labels: b.Labels(), Value: v, Help: help, Type: typ})
	}
	return out, firstErr
}

// descField holds the indexes of Desc's unexported fqName and help
// fields, if it still has them as strings (ok false otherwise): reading
// them through reflect costs tens of nanoseconds where Desc.String()
// costs ~2 µs and 4 allocations, which was ~2% of a run's CPU for its ~15
// Descs.
var descField = func() (f struct {
	ok         bool
	name, help []int
}) {
	rt := reflect.TypeFor[prometheus.Desc]()
	n, ok1 := rt.FieldByName("fqName")
	h, ok2 := rt.FieldByName("help")
	if ok1 && ok2 && n.Type.Kind() == reflect.String && h.Type.Kind() == reflect.String {
		f.ok, f.name, f.help = true, n.Index, h.Index
	}
	return f
}()

// descNameHelp is a Desc's name and help: client_golang has no accessor,
// so they are read from its fields, else parsed from its String form.
func descNameHelp(d *prometheus.Desc) (name, help string, err error) {
	if err := d.Err(); err != nil {
		return "", "", err
	}
	if descField.ok {
		v := reflect.ValueOf(d).Elem()
		name, help = v.FieldByIndex(descField.name).String(), v.FieldByIndex(descField.help).String()
		if name != "" {
			return name, help, nil
		}
	}
	return descStringNameHelp(d)
}

// descStringNameHelp parses Desc{fqName: "name", help: "help", ...}, both
// quoted with %q.
func descStringNameHelp(d *prometheus.Desc) (name, help string, err error) {
	s := d.String()
	rest, ok := strings.CutPrefix(s, "Desc{fqName: ")
	if ok {
		name, rest, ok = unquotePrefix(rest)
	}
	if ok {
		rest, ok = strings.CutPrefix(rest, ", help: ")
	}
	if ok {
		help, _, ok = unquotePrefix(rest)
	}
	if !ok || name == "" {
		return "", "", fmt.Errorf("cannot read the metric name from %s", s)
	}
	return name, help, nil
}

// unquotePrefix unquotes the Go-quoted string s starts with, sharing s's
// bytes when there is nothing to unescape.
func unquotePrefix(s string) (v, rest string, ok bool) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", s, false
	}
	rest = s[len(q):]
	if !strings.ContainsRune(q, '\\') {
		return q[1 : len(q)-1], rest, true
	}
	v, err = strconv.Unquote(q)
	return v, rest, err == nil
}
