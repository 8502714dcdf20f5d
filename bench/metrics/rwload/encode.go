package main

import (
	"encoding/binary"
	"math"
)

// Remote write 1.0 is prometheus.WriteRequest (prompb): repeated TimeSeries
// (field 1), each with repeated Label (field 1: name 1, value 2) and repeated
// Sample (field 2: value 1 as double, timestamp 2 as int64). The encoder
// writes it by hand so that the labels of a series are encoded once and a
// batch costs a copy; encode_test.go checks the bytes against prompb.

// encodeLabels returns the labels of one TimeSeries, encoded.
func encodeLabels(ls []label) []byte {
	var b []byte
	for _, l := range ls {
		n := 1 + varintLen(uint64(len(l.name))) + len(l.name) + 1 + varintLen(uint64(len(l.value))) + len(l.value)
		b = append(b, 0x0a)
		b = binary.AppendUvarint(b, uint64(n))
		b = append(b, 0x0a)
		b = binary.AppendUvarint(b, uint64(len(l.name)))
		b = append(b, l.name...)
		b = append(b, 0x12)
		b = binary.AppendUvarint(b, uint64(len(l.value)))
		b = append(b, l.value...)
	}
	return b
}

// appendSeries appends one TimeSeries with one sample to a WriteRequest.
func appendSeries(b, encLabels []byte, ts int64, v float64) []byte {
	sampleLen := 1 + 8 + 1 + varintLen(uint64(ts))
	tsLen := len(encLabels) + 1 + varintLen(uint64(sampleLen)) + sampleLen
	b = append(b, 0x0a)
	b = binary.AppendUvarint(b, uint64(tsLen))
	b = append(b, encLabels...)
	b = append(b, 0x12)
	b = binary.AppendUvarint(b, uint64(sampleLen))
	b = append(b, 0x09)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	b = append(b, 0x10)
	b = binary.AppendUvarint(b, uint64(ts))
	return b
}

func varintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
