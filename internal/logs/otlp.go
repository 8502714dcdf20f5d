package logs

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// ConsumeLogs stores OTLP log records (the otlp.LogsConsumer contract).
// Resource attributes in Options.StreamAttributes become stream labels
// (service.name → service_name, as Loki maps them); other resource
// attributes, scope and record attributes become structured metadata.
func (s *Store) ConsumeLogs(ctx context.Context, ld plog.Logs) (rejected int64, message string, err error) {
	n := ld.LogRecordCount()
	s.m.received.Add(float64(n))
	p := s.newPending(n)
	rej := rejections{s: s}
	rls := ld.ResourceLogs()
	// First the stream of every resource, admitted together.
	lss := make([][]Label, rls.Len())
	services := make([]string, rls.Len())
	resMDs := make([][]Label, rls.Len())
	for i := 0; i < rls.Len(); i++ {
		var lbls, resMD []Label
		serviceName := ""
		rls.At(i).Resource().Attributes().Range(func(k string, v pcommon.Value) bool {
			if name, ok := s.attrs[k]; ok {
				val := v.AsString()
				if val != "" {
					lbls = append(lbls, Label{Name: name, Value: val})
				}
				if k == "service.name" {
					serviceName = val
				}
				return true
			}
			resMD = appendAttr(resMD, "", k, v)
			return true
		})
		if serviceName == "" {
			serviceName = "unknown_service"
			lbls = append(lbls, Label{Name: "service_name", Value: serviceName})
		}
		sortLabels(lbls)
		lss[i], services[i], resMDs[i] = lbls, serviceName, resMD
	}
	win := s.acceptedWindow()
	var admit [][]Label
	var admitted []int
	for i, ls := range lss {
		if reason, msg := s.checkLabels(ls); reason != "" {
			rej.add(int64(resourceRecords(rls.At(i))), reason, msg)
			continue
		}
		// A resource none of whose records is in the accepted time window
		// takes no active-stream slot (its records are rejected below).
		if !anyInWindow(rls.At(i), win, s.now().UnixNano()) {
			continue
		}
		admit = append(admit, ls)
		admitted = append(admitted, i)
	}
	sts, err := s.resolve(admit)
	if err != nil {
		return 0, "", err
	}
	byResource := make([]*streamInfo, rls.Len())
	for ai, i := range admitted {
		byResource[i] = sts[ai]
	}
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		st, serviceName, resMD := byResource[i], services[i], resMDs[i]
		if st == nil {
			if reason, _ := s.checkLabels(lss[i]); reason != "" {
				continue // counted above
			}
			key := streamKey(lss[i])
			forEachRecord(rl, func(lr plog.LogRecord) {
				if reason, msg := s.checkTime(win, recordTime(lr, s.now().UnixNano()), key); reason != "" {
					rej.add(1, reason, msg)
				}
			})
			continue
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			scope := sl.Scope()
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				md := make([]Label, 0, len(resMD)+lr.Attributes().Len()+2)
				md = append(md, resMD...)
				if scope.Name() != "" {
					md = append(md, Label{Name: "scope_name", Value: scope.Name()})
				}
				if scope.Version() != "" {
					md = append(md, Label{Name: "scope_version", Value: scope.Version()})
				}
				lr.Attributes().Range(func(k string, v pcommon.Value) bool {
					md = appendAttr(md, "", k, v)
					return true
				})
				line := bodyString(lr.Body())
				if len(line) > s.opts.MaxLineBytes {
					rej.add(1, "line_too_long", fmt.Sprintf("log record body of %d bytes is over the limit of %d bytes", len(line), s.opts.MaxLineBytes))
					continue
				}
				obs := int64(lr.ObservedTimestamp())
				ts := recordTime(lr, s.now().UnixNano())
				if reason, msg := s.checkTime(win, ts, st.key); reason != "" {
					rej.add(1, reason, msg)
					continue
				}
				r := Record{
					Timestamp:      ts,
					ObservedTime:   obs,
					StreamID:       st.id,
					Line:           line,
					SeverityText:   lr.SeverityText(),
					SeverityNumber: int32(lr.SeverityNumber()),
					Flags:          uint32(lr.Flags()),
				}
				if tid := lr.TraceID(); !tid.IsEmpty() {
					r.TraceID = hex.EncodeToString(tid[:])
				}
				if sid := lr.SpanID(); !sid.IsEmpty() {
					r.SpanID = hex.EncodeToString(sid[:])
				}
				r.Level = levelFromSeverityNumber(r.SeverityNumber)
				if r.Level == "" {
					r.Level = normalizeLevel(r.SeverityText)
				}
				if r.Level == "" {
					r.Level = detectLevel(nil, md, line)
				}
				sortLabels(md)
				r.Metadata = dedupe(md)
				p.add(st, &r, serviceName)
			}
		}
	}
	if err := s.commit(ctx, p); err != nil {
		return 0, "", err
	}
	return rej.n, rej.first, nil
}

// appendAttr flattens an attribute into metadata labels (maps become
// prefix_key, other values their string form).
func appendAttr(md []Label, prefix, k string, v pcommon.Value) []Label {
	name := sanitizeName(k)
	if prefix != "" {
		name = prefix + "_" + name
	}
	if v.Type() == pcommon.ValueTypeMap {
		v.Map().Range(func(k2 string, v2 pcommon.Value) bool {
			md = appendAttr(md, name, k2, v2)
			return true
		})
		return md
	}
	s := v.AsString()
	if s == "" {
		return md
	}
	return append(md, Label{Name: name, Value: s})
}

// dedupe keeps the last of labels with equal names (sorted input).
func dedupe(md []Label) []Label {
	if len(md) < 2 {
		return md
	}
	out := md[:1]
	for _, l := range md[1:] {
		if l.Name == out[len(out)-1].Name {
			out[len(out)-1] = l
			continue
		}
		out = append(out, l)
	}
	return out
}

func bodyString(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeEmpty:
		return ""
	}
	return v.AsString()
}

// sanitizeName turns an attribute name into a label name: every character
// outside [a-zA-Z0-9_] becomes '_', and a leading digit gets a '_' prefix.
func sanitizeName(s string) string {
	ok := s != ""
	for i := 0; i < len(s) && ok; i++ {
		c := s[i]
		ok = c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9'
	}
	if ok {
		return s
	}
	var b strings.Builder
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		b.WriteByte('_')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// parseStreamKey parses a key written by streamKey.
func parseStreamKey(key string) ([]Label, error) {
	if len(key) < 2 || key[0] != '{' || key[len(key)-1] != '}' {
		return nil, fmt.Errorf("malformed stream key %q", key)
	}
	s := key[1 : len(key)-1]
	var out []Label
	for s != "" {
		i := strings.IndexByte(s, '=')
		if i <= 0 {
			return nil, fmt.Errorf("malformed stream key %q", key)
		}
		name := s[:i]
		q, err := strconv.QuotedPrefix(s[i+1:])
		if err != nil {
			return nil, fmt.Errorf("malformed stream key %q", key)
		}
		v, _ := strconv.Unquote(q)
		out = append(out, Label{Name: name, Value: v})
		s = strings.TrimPrefix(s[i+1+len(q):], ", ")
	}
	return out, nil
}

// resourceRecords counts the log records of a resource.
func resourceRecords(rl plog.ResourceLogs) int {
	n := 0
	for j := 0; j < rl.ScopeLogs().Len(); j++ {
		n += rl.ScopeLogs().At(j).LogRecords().Len()
	}
	return n
}

// recordTime is a record's timestamp: its time, else its observed time,
// else now.
func recordTime(lr plog.LogRecord, now int64) int64 {
	if ts := int64(lr.Timestamp()); ts != 0 {
		return ts
	}
	if ts := int64(lr.ObservedTimestamp()); ts != 0 {
		return ts
	}
	return now
}

func forEachRecord(rl plog.ResourceLogs, f func(plog.LogRecord)) {
	for j := 0; j < rl.ScopeLogs().Len(); j++ {
		lrs := rl.ScopeLogs().At(j).LogRecords()
		for k := 0; k < lrs.Len(); k++ {
			f(lrs.At(k))
		}
	}
}

// anyInWindow reports whether a record of rl has a timestamp in w.
func anyInWindow(rl plog.ResourceLogs, w timeWindow, now int64) bool {
	found := false
	forEachRecord(rl, func(lr plog.LogRecord) {
		if ts := recordTime(lr, now); ts >= w.oldest && ts <= w.newest {
			found = true
		}
	})
	return found
}
