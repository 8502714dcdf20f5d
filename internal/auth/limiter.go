package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// LoginLimits bound password guessing. Failed logins of one user name
// draw from a bucket of MaxFailures that refills one attempt every
// Lockout/MaxFailures: after MaxFailures failures the name is locked, and
// it is free again Lockout after the last failure. Every attempt from one
// client address draws from a bucket of ClientBurst refilled at
// ClientPerMinute. Both apply whether or not the user exists, so the
// answers do not tell.
type LoginLimits struct {
	MaxFailures     int           // default 5
	Lockout         time.Duration // default 15m
	ClientBurst     int           // default 20
	ClientPerMinute float64       // default 10
}

func (l *LoginLimits) setDefaults() {
	if l.MaxFailures <= 0 {
		l.MaxFailures = 5
	}
	if l.Lockout <= 0 {
		l.Lockout = 15 * time.Minute
	}
	if l.ClientBurst <= 0 {
		l.ClientBurst = 20
	}
	if l.ClientPerMinute <= 0 {
		l.ClientPerMinute = 10
	}
}

// maxLimiterKeys bounds each limiter map; past it, entries whose bucket is
// full again (that is, which carry no state worth keeping) are dropped, and
// if none is, new keys share one overflow bucket.
const maxLimiterKeys = 10000

// loginLimiter applies LoginLimits with golang.org/x/time/rate buckets.
type loginLimiter struct {
	lim     LoginLimits
	mu      sync.Mutex
	users   map[string]*rate.Limiter
	clients map[string]*rate.Limiter
}

func newLoginLimiter(l LoginLimits) *loginLimiter {
	l.setDefaults()
	return &loginLimiter{lim: l, users: map[string]*rate.Limiter{}, clients: map[string]*rate.Limiter{}}
}

func (l *loginLimiter) get(m map[string]*rate.Limiter, key string, r rate.Limit, burst int, now time.Time) *rate.Limiter {
	lim, ok := m[key]
	if ok {
		return lim
	}
	if len(m) >= maxLimiterKeys {
		for k, v := range m {
			if v.TokensAt(now) >= float64(v.Burst()) {
				delete(m, k)
			}
		}
	}
	if len(m) >= maxLimiterKeys {
		// Full of names and addresses that are all being limited: every
		// new one shares one bucket, so flooding the map cannot give a
		// name attempts outside any limit.
		key = overflowKey
		if lim, ok := m[key]; ok {
			return lim
		}
	}
	lim = rate.NewLimiter(r, burst)
	m[key] = lim
	return lim
}

// overflowKey is the shared bucket of keys past maxLimiterKeys (no user
// name or address contains a NUL byte).
const overflowKey = "\x00overflow"

func (l *loginLimiter) userLimiter(user string, now time.Time) *rate.Limiter {
	every := l.lim.Lockout / time.Duration(l.lim.MaxFailures)
	return l.get(l.users, user, rate.Every(every), l.lim.MaxFailures, now)
}

// attempt reports whether a login for user from client may be tried now,
// and if not, how long until it may.
func (l *loginLimiter) attempt(user, client string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.userLimiter(user, now)
	if u.TokensAt(now) < 1 {
		r := u.ReserveN(now, 1)
		d := r.DelayFrom(now)
		r.CancelAt(now)
		return false, d
	}
	c := l.get(l.clients, client, rate.Limit(l.lim.ClientPerMinute/60), l.lim.ClientBurst, now)
	if !c.AllowN(now, 1) {
		r := c.ReserveN(now, 1)
		d := r.DelayFrom(now)
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// failed records a failed login for user.
func (l *loginLimiter) failed(user string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.userLimiter(user, now).AllowN(now, 1)
}

// succeeded forgets user's failures.
func (l *loginLimiter) succeeded(user string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.users, user)
}
