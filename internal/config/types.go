package config

import (
	"fmt"
	"net"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Duration is a duration in Prometheus notation: "15s", "1h30m", "15d", "1w".
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	md, err := model.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q: want a number and a unit such as 30s, 5m, 12h, 15d or 1w", n.Line, s)
	}
	*d = Duration(md)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return model.Duration(d).String(), nil }

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return model.Duration(d).String() }

// ByteSize is a size with a binary unit: "512MiB", "10GB" (1GB = 1024MB, as
// in Prometheus), "1024" (bytes).
type ByteSize int64

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	var v int64
	if _, err := fmt.Sscanf(s, "%d", &v); err == nil && fmt.Sprint(v) == s {
		*b = ByteSize(v)
		return nil
	}
	u, err := units.ParseBase2Bytes(s)
	if err != nil {
		return fmt.Errorf("line %d: invalid size %q: want a number of bytes or a number and a unit such as 512KiB, 64MiB, 10GB", n.Line, s)
	}
	*b = ByteSize(u)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (b ByteSize) MarshalYAML() (any, error) { return units.Base2Bytes(b).String(), nil }

func (b ByteSize) String() string { return units.Base2Bytes(b).String() }

func checkAddr(a string) error {
	if a == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(a); err != nil {
		return fmt.Errorf("invalid listen address %q: want host:port, e.g. 127.0.0.1:9797", a)
	}
	return nil
}

func positive[T ~int | ~int64 | ~float64](field string, v T) []FieldError {
	if v < 0 {
		return []FieldError{{Field: field, Msg: fmt.Sprintf("must not be negative (0 means no limit), got %v", v)}}
	}
	return nil
}
