package sso

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Defaults of the per-client limit on failed attempts: generous enough for
// an office behind one address, tight enough to stop brute force.
const (
	DefaultFailureLimit  = 300
	DefaultFailureWindow = 10 * time.Minute
	// limiterMaxClients bounds the limiter's memory under a spoofed flood.
	limiterMaxClients = 10000
)

// failureLimiter counts failed attempts per client address in fixed
// windows. Safe for concurrent use.
type failureLimiter struct {
	limit  int
	window time.Duration
	mu     sync.Mutex
	m      map[string]*failureWindow
}

type failureWindow struct {
	start    time.Time
	count    int
	reported bool // the block was recorded once in this window
}

func newFailureLimiter(limit int, window time.Duration) *failureLimiter {
	return &failureLimiter{limit: limit, window: window, m: map[string]*failureWindow{}}
}

// blocked tells whether the client has used up its failures in the current
// window, and whether this is the first refusal of the window (to be
// recorded; later ones are not, so a flood cannot fill the attempt log).
func (l *failureLimiter) blocked(client string, now time.Time) (blocked, first bool, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[client]
	if w == nil || now.Sub(w.start) >= l.window {
		return false, false, 0
	}
	if w.count < l.limit {
		return false, false, 0
	}
	first = !w.reported
	w.reported = true
	return true, first, w.start.Add(l.window).Sub(now)
}

// fail counts one failed attempt of the client.
func (l *failureLimiter) fail(client string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.m[client]
	if w == nil || now.Sub(w.start) >= l.window {
		if len(l.m) >= limiterMaxClients {
			for k, old := range l.m {
				if now.Sub(old.start) >= l.window {
					delete(l.m, k)
				}
			}
			if len(l.m) >= limiterMaxClients {
				l.m = map[string]*failureWindow{}
			}
		}
		w = &failureWindow{start: now}
		l.m[client] = w
	}
	w.count++
}

// clientAddr is the client's IP address (the port varies per connection).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
