package health

import (
	"context"
	"fmt"

	"github.com/sony/gobreaker/v2"
)

// BreakerState is what the breaker check reads; *gobreaker.CircuitBreaker[T]
// and *gobreaker.TwoStepCircuitBreaker[T] satisfy it.
type BreakerState interface {
	Name() string
	State() gobreaker.State
	Counts() gobreaker.Counts
}

// Breaker turns a circuit breaker's state into a check: closed is Up,
// half-open is Warn, open is Down (which a NonCritical registration turns
// into Warn for the aggregate).
func Breaker(cb BreakerState) Check {
	return func(context.Context) Result {
		c := cb.Counts()
		r := Result{Status: Up, ComponentType: "component", Observations: []Observation{
			{Measure: "consecutiveFailures", Value: c.ConsecutiveFailures},
			{Measure: "requests", Value: c.Requests},
		}}
		switch st := cb.State(); st {
		case gobreaker.StateOpen:
			r.Status, r.Output = Down, fmt.Sprintf("circuit breaker %q is open", cb.Name())
		case gobreaker.StateHalfOpen:
			r.Status, r.Output = Warn, fmt.Sprintf("circuit breaker %q is half-open", cb.Name())
		}
		return r
	}
}

// NewBreaker creates a gobreaker circuit breaker for a dependency and
// registers its state as a check under the breaker's name. Pass
// NonCritical() for a dependency the service can live without.
func NewBreaker[T any](h *Checks, st gobreaker.Settings, opts ...Option) (*gobreaker.CircuitBreaker[T], error) {
	cb := gobreaker.NewCircuitBreaker[T](st)
	if err := h.Register(cb.Name(), Breaker(cb), opts...); err != nil {
		return nil, err
	}
	return cb, nil
}
