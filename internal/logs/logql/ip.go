package logql

import (
	"fmt"
	"net/netip"
	"strings"
)

// ipMatcher matches one address, a range a-b, or a CIDR prefix.
type ipMatcher struct {
	prefix   netip.Prefix
	lo, hi   netip.Addr
	isPrefix bool
}

func parseIPMatcher(s string) (ipMatcher, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return ipMatcher{}, fmt.Errorf("invalid CIDR %q", s)
		}
		return ipMatcher{prefix: p.Masked(), isPrefix: true}, nil
	}
	if a, b, ok := strings.Cut(s, "-"); ok {
		lo, err1 := netip.ParseAddr(strings.TrimSpace(a))
		hi, err2 := netip.ParseAddr(strings.TrimSpace(b))
		if err1 != nil || err2 != nil || hi.Less(lo) {
			return ipMatcher{}, fmt.Errorf("invalid address range %q: want low-high", s)
		}
		return ipMatcher{lo: lo, hi: hi}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ipMatcher{}, fmt.Errorf("invalid address %q: want an address, a range a-b or a CIDR", s)
	}
	return ipMatcher{lo: a, hi: a}, nil
}

func (m ipMatcher) contains(a netip.Addr) bool {
	if m.isPrefix {
		return m.prefix.Contains(a)
	}
	return a.BitLen() == m.lo.BitLen() && !a.Less(m.lo) && !m.hi.Less(a)
}

func lineHasIP(line string, m ipMatcher) bool {
	isIPChar := func(c byte) bool {
		return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == '.' || c == ':'
	}
	for i := 0; i < len(line); {
		if !isIPChar(line[i]) {
			i++
			continue
		}
		j := i
		for j < len(line) && isIPChar(line[j]) {
			j++
		}
		if a, err := netip.ParseAddr(strings.Trim(line[i:j], ".:")); err == nil && m.contains(a) {
			return true
		}
		i = j
	}
	return false
}
