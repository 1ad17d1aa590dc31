package auth

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// servingWindow is how long after an access-path call (Authenticate, the
// middleware, Refresh) whose token verified the Authenticator counts as
// serving, and so keeps one hashing slot in reserve. Tokens that fail
// verification do not count: anyone can send those, and they would let
// anyone hold a slot back.
const servingWindow = 100 * time.Millisecond

// hashGate bounds how many password hashes run at once: at most max, and at
// most max-1 while the Authenticator is also serving requests.
//
// Why the reserve: a hash is about 20 ms of CPU-bound Go code that the Go
// scheduler preempts only every 10 ms or so, and while every P runs one,
// network events are not even polled. With as many hashes as GOMAXPROCS,
// a login flood therefore holds authenticated requests back for tens of
// milliseconds (41–47 ms p99 measured on 2 cores; see BENCHMARKS.md).
// Leaving one slot free while there is other traffic keeps a P for it,
// and when there is none (a burst of logins alone) every slot hashes.
type hashGate struct {
	main  chan struct{} // max-1 slots (max when max is 1)
	spare chan struct{} // the last slot, taken only when not serving; nil when max is 1

	epoch       time.Time    // monotonic origin of lastServing
	lastServing atomic.Int64 // nanoseconds since epoch of the last access-path call
	since       func(time.Time) time.Duration
}

func newHashGate(max int) *hashGate {
	g := &hashGate{epoch: time.Now(), since: time.Since}
	if max == 1 {
		g.main = make(chan struct{}, 1)
		return g
	}
	g.main = make(chan struct{}, max-1)
	g.spare = make(chan struct{}, 1)
	g.lastServing.Store(-int64(servingWindow)) // not serving at start
	return g
}

// serve records an access-path call. It writes the shared word at most once
// a millisecond, so that the hot path does not bounce a cache line between
// cores on every request.
func (g *hashGate) serve() {
	now := int64(g.since(g.epoch))
	if now-g.lastServing.Load() > int64(time.Millisecond) {
		g.lastServing.Store(now)
	}
}

func (g *hashGate) serving() bool {
	return int64(g.since(g.epoch))-g.lastServing.Load() < int64(servingWindow)
}

// acquire waits for a slot, or for ctx. The spare slot is taken only while
// the Authenticator is not serving; a waiter looks again every servingWindow
// in case serving has stopped.
func (g *hashGate) acquire(ctx context.Context) (release func(), err error) {
	var recheck *time.Timer
	for {
		select {
		case g.main <- struct{}{}:
			return g.releaseMain, nil
		default:
		}
		if g.spare != nil && !g.serving() {
			select {
			case g.spare <- struct{}{}:
				return g.releaseSpare, nil
			default:
			}
		}
		var tick <-chan time.Time
		if g.spare != nil {
			if recheck == nil {
				recheck = time.NewTimer(servingWindow)
				defer recheck.Stop()
			} else {
				recheck.Reset(servingWindow)
			}
			tick = recheck.C
		}
		select {
		case g.main <- struct{}{}:
			return g.releaseMain, nil
		case <-tick:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
		}
	}
}

func (g *hashGate) releaseMain()  { <-g.main }
func (g *hashGate) releaseSpare() { <-g.spare }
