package loki

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers of Loki's push.proto:
//
//	PushRequest      { repeated StreamAdapter streams = 1; }
//	StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//	EntryAdapter     { Timestamp timestamp = 1; string line = 2; repeated LabelPairAdapter structuredMetadata = 3; }
//	LabelPairAdapter { string name = 1; string value = 2; }
//	Timestamp        { int64 seconds = 1; int32 nanos = 2; }
const (
	fieldStreams = 1

	fieldStreamLabels  = 1
	fieldStreamEntries = 2

	fieldEntryTimestamp = 1
	fieldEntryLine      = 2
	fieldEntryMetadata  = 3

	fieldPairName  = 1
	fieldPairValue = 2

	fieldTSSeconds = 1
	fieldTSNanos   = 2
)

// DecodeProto decodes an uncompressed logproto.PushRequest.
func DecodeProto(b []byte) (*PushRequest, error) {
	req := &PushRequest{}
	err := forEachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != fieldStreams {
			return nil
		}
		if typ != protowire.BytesType {
			return fmt.Errorf("streams: wrong wire type %d", typ)
		}
		s, err := decodeStream(v)
		if err != nil {
			return fmt.Errorf("stream %d: %w", len(req.Streams), err)
		}
		req.Streams = append(req.Streams, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return req, nil
}

func decodeStream(b []byte) (Stream, error) {
	var s Stream
	var labels string
	haveLabels := false
	err := forEachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case fieldStreamLabels:
			if typ != protowire.BytesType {
				return fmt.Errorf("labels: wrong wire type %d", typ)
			}
			labels, haveLabels = string(v), true
		case fieldStreamEntries:
			if typ != protowire.BytesType {
				return fmt.Errorf("entries: wrong wire type %d", typ)
			}
			e, err := decodeEntry(v)
			if err != nil {
				return fmt.Errorf("entry %d: %w", len(s.Entries), err)
			}
			s.Entries = append(s.Entries, e)
		}
		return nil
	})
	if err != nil {
		return s, err
	}
	if !haveLabels {
		return s, errors.New("missing labels")
	}
	ls, err := ParseLabels(labels)
	if err != nil {
		return s, err
	}
	s.Labels = ls
	return s, nil
}

func decodeEntry(b []byte) (Entry, error) {
	var e Entry
	var sec, nsec int64
	err := forEachField(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch num {
		case fieldEntryTimestamp:
			if typ != protowire.BytesType {
				return fmt.Errorf("timestamp: wrong wire type %d", typ)
			}
			return forEachField(v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
				if num != fieldTSSeconds && num != fieldTSNanos {
					return nil
				}
				if typ != protowire.VarintType {
					return fmt.Errorf("timestamp: wrong wire type %d", typ)
				}
				if num == fieldTSSeconds {
					sec = int64(x)
				} else {
					nsec = int64(int32(x))
				}
				return nil
			})
		case fieldEntryLine:
			if typ != protowire.BytesType {
				return fmt.Errorf("line: wrong wire type %d", typ)
			}
			e.Line = string(v)
		case fieldEntryMetadata:
			if typ != protowire.BytesType {
				return fmt.Errorf("structuredMetadata: wrong wire type %d", typ)
			}
			var l Label
			err := forEachField(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if num != fieldPairName && num != fieldPairValue {
					return nil
				}
				if typ != protowire.BytesType {
					return fmt.Errorf("structuredMetadata: wrong wire type %d", typ)
				}
				if num == fieldPairName {
					l.Name = string(v)
				} else {
					l.Value = string(v)
				}
				return nil
			})
			if err != nil {
				return err
			}
			e.Metadata = append(e.Metadata, l)
		}
		return nil
	})
	if err != nil {
		return e, err
	}
	if nsec < 0 || nsec >= 1e9 {
		return e, fmt.Errorf("timestamp nanos %d out of range [0, 999999999]", nsec)
	}
	// Unix nanoseconds in int64 cover the years 1678 to 2262.
	if sec < -9223372036 || sec > 9223372035 {
		return e, fmt.Errorf("timestamp seconds %d out of range", sec)
	}
	e.Timestamp = sec*1e9 + nsec
	return e, validateEntry(&e)
}

// validateEntry checks what both decoders require of an entry.
func validateEntry(e *Entry) error {
	if e.Timestamp <= 0 {
		return fmt.Errorf("timestamp %d is not after 1970-01-01", e.Timestamp)
	}
	if !utf8.ValidString(e.Line) {
		return errors.New("line is not valid UTF-8")
	}
	for _, m := range e.Metadata {
		if !ValidLabelName(m.Name) {
			return fmt.Errorf("structured metadata name %q is not a valid label name", truncate(m.Name, 100))
		}
		if !utf8.ValidString(m.Value) {
			return fmt.Errorf("structured metadata %q is not valid UTF-8", m.Name)
		}
	}
	return nil
}

// forEachField walks the fields of one protobuf message. For bytes fields v
// is the payload; for varint fields x is the value; other types are skipped.
func forEachField(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("malformed protobuf: %w", protowire.ParseError(n))
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return fmt.Errorf("malformed protobuf: %w", protowire.ParseError(n))
		}
		b = b[n:]
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}
