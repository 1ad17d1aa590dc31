package authhttp

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// deadlineContext is a context with a deadline, as context.WithDeadline
// makes, whose timer is armed only when something asks for Done.
//
// The handlers bound every request with a deadline (HandlerOptions.Timeout)
// so that a slow store or a long queue for a hashing slot cannot hold a
// request forever. A request served from memory (a token-cache hit, a
// user-cache or memory-store lookup) never waits on Done, yet
// context.WithTimeout costs it a timer and a registration with the
// request's own context, about 1.5 µs of a 40 µs request under load
// (BENCHMARKS.md). Here that cost is paid only by code that can block:
// anything that selects on Done (database/sql, pgx, the hashing queue)
// arms the real context.WithDeadline first and then waits on it, so the
// bound holds exactly as before.
//
// Err, which callers use to check a context before work, answers without
// arming while the parent is live and the deadline is ahead; once it would
// report an error it arms, so Err and Done always agree. Value reads through
// to the armed context once there is one, which keeps context.WithCancel
// and context.AfterFunc on their fast paths. One difference remains:
// context.Cause reports the deadline only after Done or Err has observed it.
type deadlineContext struct {
	parent   context.Context
	deadline time.Time

	once   sync.Once
	armed  atomic.Bool     // inner and cancel are final
	inner  context.Context // context.WithDeadline(parent, deadline); nil if stopped unarmed
	cancel context.CancelFunc
}

// closedChan is the Done of a context stopped before anything armed it.
var closedChan = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()

// withLazyDeadline returns a context that ends at d, when parent ends or
// when the returned cancel function is called, like context.WithDeadline.
func withLazyDeadline(parent context.Context, d time.Time) (context.Context, context.CancelFunc) {
	c := newLazyDeadline(parent, d)
	return c, c.stop
}

// newLazyDeadline is withLazyDeadline for a caller that calls stop itself
// (saving the allocation of a CancelFunc).
func newLazyDeadline(parent context.Context, d time.Time) *deadlineContext {
	if pd, ok := parent.Deadline(); ok && pd.Before(d) {
		d = pd
	}
	return &deadlineContext{parent: parent, deadline: d}
}

func (c *deadlineContext) arm() {
	if c.armed.Load() {
		return
	}
	c.once.Do(func() {
		c.inner, c.cancel = context.WithDeadline(c.parent, c.deadline)
		c.armed.Store(true)
	})
}

// stop is the CancelFunc. If nothing armed the context, it ends without a
// timer or a registration with parent ever having been made: Done is an
// already closed channel and Err is context.Canceled (or
// DeadlineExceeded, if the deadline had passed unseen).
func (c *deadlineContext) stop() {
	c.once.Do(func() {
		if !time.Now().Before(c.deadline) {
			c.inner, c.cancel = context.WithDeadline(c.parent, c.deadline)
		}
		c.armed.Store(true)
	})
	if c.cancel != nil {
		c.cancel()
	}
}

func (c *deadlineContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *deadlineContext) Done() <-chan struct{} {
	c.arm()
	if c.inner == nil {
		return closedChan
	}
	return c.inner.Done()
}

func (c *deadlineContext) Err() error {
	if !c.armed.Load() {
		if c.parent.Err() == nil && time.Now().Before(c.deadline) {
			return nil
		}
		c.arm()
	}
	if c.inner == nil {
		return context.Canceled
	}
	return c.inner.Err()
}

func (c *deadlineContext) Value(key any) any {
	if c.armed.Load() && c.inner != nil {
		return c.inner.Value(key)
	}
	return c.parent.Value(key)
}

func (c *deadlineContext) String() string { return "auth.withLazyDeadline" }
