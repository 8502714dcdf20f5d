package sampling

import (
	"errors"
	"fmt"
	"math"
	"strconv"
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
	ErrThreshold  = errors.New("invalid th value: want 1 to 14 lowercase hex digits")
	ErrRandomness = errors.New("invalid rv value: want exactly 14 lowercase hex digits")
	ErrOTValue    = errors.New("invalid ot tracestate value")
)

// ParseThreshold decodes a th value. Digits left out are zeros, so "c"
// is 0xc0000000000000 (probability 1/4).
func ParseThreshold(s string) (Threshold, error) {
	if len(s) < 1 || len(s) > 14 || !lowerHex(s) {
		return 0, ErrThreshold
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, ErrThreshold
	}
	return Threshold(v << (4 * (14 - len(s)))), nil
}

// ParseRandomness decodes an rv value.
func ParseRandomness(s string) (uint64, error) {
	if len(s) != 14 || !lowerHex(s) {
		return 0, ErrRandomness
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, ErrRandomness
	}
	return v, nil
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
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
}

// ParseOT parses an ot tracestate value ("th:c;rv:0123456789abcd;k:v").
// It enforces the specification's grammar: sub-keys [a-z][a-z0-9]*, values
// [a-zA-Z0-9._-]*, unique keys, at most 256 characters.
func ParseOT(s string) (OT, error) {
	var ot OT
	if len(s) > 256 {
		return ot, fmt.Errorf("%w: %d characters, at most 256", ErrOTValue, len(s))
	}
	if s == "" {
		return ot, nil
	}
	seen := make(map[string]bool, 4)
	for member := range strings.SplitSeq(s, ";") {
		k, v, ok := strings.Cut(member, ":")
		if !ok || !validOTKey(k) || !validOTValue(v) {
			return OT{}, fmt.Errorf("%w: member %q", ErrOTValue, member)
		}
		if seen[k] {
			return OT{}, fmt.Errorf("%w: key %q repeated", ErrOTValue, k)
		}
		seen[k] = true
		switch k {
		case "th":
			t, err := ParseThreshold(v)
			if err != nil {
				return OT{}, err
			}
			ot.TH, ot.HasTH = t, true
		case "rv":
			r, err := ParseRandomness(v)
			if err != nil {
				return OT{}, err
			}
			ot.RV, ot.HasRV = r, true
		default:
			ot.Other = append(ot.Other, member)
		}
	}
	return ot, nil
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

// String encodes ot with th first, then rv, then the other sub-keys.
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
		fmt.Fprintf(&b, "rv:%014x", ot.RV)
	}
	for _, m := range ot.Other {
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(m)
	}
	return b.String()
}
