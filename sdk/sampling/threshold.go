package sampling

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// Threshold is a 56-bit rejection threshold: a span whose randomness R is
// at least T is sampled. T = 0 samples everything; the probability of a
// threshold is (2^56 - T) / 2^56.
type Threshold uint64

// MaxThreshold is one past the largest threshold: probability zero, which has
// no tracestate encoding.
const MaxThreshold Threshold = 1 << 56

// AlwaysSample is the threshold of probability one (encoded "th:0").
const AlwaysSample Threshold = 0

const randomnessMask = 1<<56 - 1

// ProbabilityToThreshold returns the threshold of p, rounded to the nearest
// representable value. p <= 0 is MaxThreshold (never); p below 2^-57 is
// clamped to the smallest non-zero probability, 2^-56.
func ProbabilityToThreshold(p float64) Threshold {
	switch {
	case !(p > 0):
		return MaxThreshold
	case p >= 1:
		return AlwaysSample
	}
	// 2^56 - round(p * 2^56), as the OpenTelemetry Collector's sampling
	// package computes it: scaling p itself keeps full precision for small
	// probabilities, where 1 - p would lose the low bits.
	scaled := uint64(math.Round(p * (1 << 56)))
	if scaled == 0 {
		return MaxThreshold - 1
	}
	return MaxThreshold - Threshold(scaled)
}

// Probability returns the sampling probability of t.
func (t Threshold) Probability() float64 {
	if t >= MaxThreshold {
		return 0
	}
	return float64(MaxThreshold-t) / (1 << 56)
}

// ShouldSample reports whether randomness r passes the threshold.
func (t Threshold) ShouldSample(r uint64) bool { return r >= uint64(t) }

// String encodes t as the tracestate th value: 14 hex digits with trailing
// zeros removed ("0" for AlwaysSample).
func (t Threshold) String() string {
	if t == 0 {
		return "0"
	}
	if t >= MaxThreshold {
		return "<never>"
	}
	s := fmt.Sprintf("%014x", uint64(t))
	return strings.TrimRight(s, "0")
}

// Errors from the ot tracestate parsers.
var (
	ErrThreshold  = errors.New("invalid th value: want 1 to 14 hex digits")
	ErrRandomness = errors.New("invalid rv value: want exactly 14 hex digits")
	ErrOTValue    = errors.New("invalid ot tracestate value")
)

// ParseThreshold decodes a th value. Digits left out are zeros, so "c"
// is 0xc0000000000000 (probability 1/4). The specification writes
// lowercase digits; uppercase ones are accepted too, as the OpenTelemetry
// Collector accepts them.
func ParseThreshold(s string) (Threshold, error) {
	v, ok := parseHex(s)
	if !ok || len(s) > 14 {
		return 0, ErrThreshold
	}
	return Threshold(v << (4 * (14 - len(s)))), nil
}

// ParseRandomness decodes an rv value (uppercase digits accepted, as for
// ParseThreshold).
func ParseRandomness(s string) (uint64, error) {
	v, ok := parseHex(s)
	if !ok || len(s) != 14 {
		return 0, ErrRandomness
	}
	return v, nil
}

// parseHex decodes 1 to 16 hex digits of either case.
func parseHex(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > 16 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	return v, true
}

// TraceIDRandomness returns the low 56 bits of the trace ID.
func TraceIDRandomness(id trace.TraceID) uint64 {
	var r uint64
	for _, b := range id[9:] {
		r = r<<8 | uint64(b)
	}
	return r
}

// OT is the parsed value of the tracestate "ot" entry.
type OT struct {
	TH    Threshold
	HasTH bool
	RV    uint64
	HasRV bool
	// Other holds the other sub-keys, "key:value" each, in order.
	Other []string

	rv string // the rv value as received, passed on unchanged
}

// maxOTLen is the longest ot value the specification allows.
const maxOTLen = 256

// ParseOT parses an ot tracestate value ("th:c;rv:0123456789abcd;k:v")
// field by field, as the specification's rules for invalid values go: a
// member that breaks the grammar (sub-key [a-z][a-z0-9]*, value
// [a-zA-Z0-9._-]*), repeats an earlier sub-key, or holds an invalid th or
// rv is left out, and the rest is kept, so one bad field does not lose a
// valid explicit randomness (which must be passed on unchanged). The error
// (nil when everything was valid) names each part left out; the OT
// returned holds the valid parts either way, and its String is the value
// to pass on.
func ParseOT(s string) (OT, error) {
	var ot OT
	var errs []error
	if len(s) > maxOTLen {
		errs = append(errs, fmt.Errorf("%w: %d characters, at most %d", ErrOTValue, len(s), maxOTLen))
	}
	if s == "" {
		return ot, nil
	}
	var seenBuf [8]string
	seen := seenBuf[:0]
	for member := range strings.SplitSeq(s, ";") {
		k, v, ok := strings.Cut(member, ":")
		if !ok || !validOTKey(k) || !validOTValue(v) {
			errs = append(errs, fmt.Errorf("%w: member %q", ErrOTValue, member))
			continue
		}
		if slices.Contains(seen, k) {
			errs = append(errs, fmt.Errorf("%w: sub-key %q repeated", ErrOTValue, k))
			continue
		}
		seen = append(seen, k)
		switch k {
		case "th":
			t, err := ParseThreshold(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: %q", err, v))
				continue
			}
			ot.TH, ot.HasTH = t, true
		case "rv":
			r, err := ParseRandomness(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%w: %q", err, v))
				continue
			}
			ot.RV, ot.HasRV, ot.rv = r, true, v
		default:
			ot.Other = append(ot.Other, member)
		}
	}
	return ot, errors.Join(errs...)
}

func validOTKey(k string) bool {
	if k == "" || !(k[0] >= 'a' && k[0] <= 'z') {
		return false
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func validOTValue(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// String encodes ot with th first, then rv (as received, when parsed),
// then the other sub-keys, leaving out other sub-keys from the end when
// the value would exceed the specification's 256 characters.
func (ot OT) String() string {
	var b strings.Builder
	if ot.HasTH {
		b.WriteString("th:")
		b.WriteString(ot.TH.String())
	}
	if ot.HasRV {
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		if rv, err := ParseRandomness(ot.rv); err == nil && rv == ot.RV {
			b.WriteString("rv:" + ot.rv)
		} else {
			fmt.Fprintf(&b, "rv:%014x", ot.RV)
		}
	}
	for _, m := range ot.Other {
		n := len(m)
		if b.Len() > 0 {
			n++
		}
		if b.Len()+n > maxOTLen {
			break
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(m)
	}
	return b.String()
}
