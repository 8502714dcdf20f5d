package probes

import (
	"github.com/prometheus/prometheus/model/labels"

	"github.com/vigilhq/vigil/internal/probes/statuspage"
)

var _ statuspage.Source = (*Manager)(nil)

// Probe implements statuspage.Source: the probe's last result and the
// labels (job, instance) that select its series.
func (m *Manager) Probe(name string) (statuspage.Probe, bool) {
	s, ok := m.state(name)
	if !ok {
		return statuspage.Probe{}, false
	}
	p := statuspage.Probe{Name: name, Labels: labels.FromStrings("instance", s.Target.Labels.Get("instance"), "job", s.Target.Labels.Get("job"))}
	if s.Last != nil {
		p.Known, p.Up, p.LastRun, p.Duration = true, s.Last.Success, s.Last.Start, s.Last.Duration
	}
	return p, true
}

// Flush implements statuspage.Source: it commits the open batch of
// scheduled runs' samples.
func (m *Manager) Flush() { m.flushBatch(nil) }
