package loki

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

type jsonPush struct {
	Streams []jsonStream `json:"streams"`
}

type jsonStream struct {
	Stream map[string]string `json:"stream"`
	Values []json.RawMessage `json:"values"`
}

// DecodeJSON decodes a JSON push body:
//
//	{"streams":[{"stream":{"app":"api"},"values":[["<unix ns>","line",{"trace_id":"..."}]]}]}
func DecodeJSON(b []byte) (*PushRequest, error) {
	var in jsonPush
	d := json.NewDecoder(bytes.NewReader(b))
	if err := d.Decode(&in); err != nil {
		return nil, fmt.Errorf("malformed JSON: %w", err)
	}
	if d.More() {
		return nil, errors.New("malformed JSON: unexpected data after the push object")
	}
	req := &PushRequest{Streams: make([]Stream, 0, len(in.Streams))}
	for i, js := range in.Streams {
		ls := make([]Label, 0, len(js.Stream))
		for k, v := range js.Stream {
			if !ValidLabelName(k) {
				return nil, fmt.Errorf("stream %d: label name %q is not valid: want [a-zA-Z_][a-zA-Z0-9_]*", i, truncate(k, 100))
			}
			ls = append(ls, Label{Name: k, Value: v})
		}
		ls, err := normalize(ls)
		if err != nil {
			return nil, fmt.Errorf("stream %d: %w", i, err)
		}
		s := Stream{Labels: ls, Entries: make([]Entry, 0, len(js.Values))}
		for j, raw := range js.Values {
			e, err := decodeJSONEntry(raw)
			if err != nil {
				return nil, fmt.Errorf("stream %d value %d: %w", i, j, err)
			}
			s.Entries = append(s.Entries, e)
		}
		req.Streams = append(req.Streams, s)
	}
	return req, nil
}

func decodeJSONEntry(raw json.RawMessage) (Entry, error) {
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil {
		return Entry{}, errors.New(`want an array ["<unix ns>", "line"] or ["<unix ns>", "line", {metadata}]`)
	}
	if len(parts) != 2 && len(parts) != 3 {
		return Entry{}, fmt.Errorf(`want 2 or 3 elements ["<unix ns>", "line", {metadata}], got %d`, len(parts))
	}
	var e Entry
	var ts string
	if err := json.Unmarshal(parts[0], &ts); err != nil {
		return e, errors.New("timestamp must be a string of Unix nanoseconds")
	}
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return e, fmt.Errorf("timestamp %q is not an integer of Unix nanoseconds", truncate(ts, 40))
	}
	e.Timestamp = n
	if err := json.Unmarshal(parts[1], &e.Line); err != nil {
		return e, errors.New("line must be a string")
	}
	if len(parts) == 3 {
		var md map[string]string
		if err := json.Unmarshal(parts[2], &md); err != nil {
			return e, errors.New("structured metadata must be an object of strings")
		}
		for k, v := range md {
			e.Metadata = append(e.Metadata, Label{Name: k, Value: v})
		}
		sortLabels(e.Metadata)
	}
	return e, validateEntry(&e)
}
