// Package sharedlimit is what the limiters that keep their budgets in a
// shared store (redislimit, store/postgres) have in common: their timing
// settings, the conversion of LimitKeys to the integer microseconds their
// scripts compute with, and the loop of a Reserve that finds a budget held
// by attempts in flight and looks again until they settle.
//
// The store's side is one atomic call that either takes an attempt from
// every budget (Granted), takes nothing because a budget is spent by
// failures (Spent, with the wait until it has credit again), or takes
// nothing because a budget is held by attempts in flight (Held).
package sharedlimit

import (
	"context"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"time"

	"github.com/goauthkit/auth"
)

// Defaults of Timing.
const (
	DefaultLease           = 30 * time.Second
	DefaultPollInterval    = 10 * time.Millisecond
	DefaultMaxPollInterval = 200 * time.Millisecond
	DefaultSettleTimeout   = 2 * time.Second
)

// Timing is the timing of a shared limiter; its fields are documented on
// the public Config types that hold them.
type Timing struct {
	Lease, PollInterval, MaxPollInterval, SettleTimeout time.Duration
}

// WithDefaults returns t with its zero fields set to the defaults, or an
// error, prefixed with pkg ("redislimit: ..."), when a field is negative or
// MaxPollInterval is below PollInterval.
func (t Timing) WithDefaults(pkg string) (Timing, error) {
	if t.Lease < 0 || t.PollInterval < 0 || t.MaxPollInterval < 0 || t.SettleTimeout < 0 {
		return t, fmt.Errorf("%s: the limiter's durations must not be negative", pkg)
	}
	if t.Lease == 0 {
		t.Lease = DefaultLease
	}
	if t.PollInterval == 0 {
		t.PollInterval = DefaultPollInterval
	}
	if t.MaxPollInterval == 0 {
		t.MaxPollInterval = max(DefaultMaxPollInterval, t.PollInterval)
	}
	if t.MaxPollInterval < t.PollInterval {
		return t, fmt.Errorf("%s: the limiter's MaxPollInterval must not be below PollInterval", pkg)
	}
	if t.SettleTimeout == 0 {
		t.SettleTimeout = DefaultSettleTimeout
	}
	return t, nil
}

// MaxMicros bounds the durations the scripts handle (about 71 years), so
// that their sums with a server's time stay well inside a bigint and the
// integers a Lua number (a double) holds exactly.
const MaxMicros = 1 << 51

// Micros is d in microseconds, rounded up, at most MaxMicros.
func Micros(d time.Duration) int64 {
	us := int64(d / time.Microsecond)
	if d%time.Microsecond != 0 {
		us++
	}
	return min(us, MaxMicros)
}

// Interval and Capacity are k's in microseconds: the cost of an attempt,
// and Burst × Interval, the credit of a full budget (saturated at
// MaxMicros).
func Interval(k auth.LimitKey) int64 { return Micros(k.Interval) }

// Capacity: see Interval.
func Capacity(k auth.LimitKey) int64 {
	iv := Interval(k)
	if int64(k.Burst) > MaxMicros/iv {
		return MaxMicros
	}
	return int64(k.Burst) * iv
}

// ErrBadKey is returned for a LimitKey without a positive Burst and
// Interval.
var ErrBadKey = errors.New("auth: a LimitKey needs a positive Burst and Interval")

// CheckKeys returns ErrBadKey if a key lacks a positive Burst or Interval.
func CheckKeys(keys []auth.LimitKey) error {
	for _, k := range keys {
		if k.Burst <= 0 || k.Interval <= 0 {
			return ErrBadKey
		}
	}
	return nil
}

// Answer is what the store's reserve call did.
type Answer int

// Answers of a reserve call.
const (
	Granted Answer = iota // an attempt taken from every budget
	Spent                 // nothing taken: a budget is spent by failures
	Held                  // nothing taken: a budget is held by attempts in flight
)

// Reserve calls try until it grants or refuses, waiting between calls
// while it answers Held: PollInterval at first, doubling up to
// MaxPollInterval, each wait drawn at random between half of it and all of
// it so that waiters spread out. try returns the answer and, for Spent,
// the wait until the budget has credit again.
//
// The error is nil when granted; a *auth.RateLimitError when spent; one
// wrapping auth.ErrBusy and ctx's error when ctx ends first (also when try
// fails because ctx ended); otherwise try's error, which should wrap
// auth.ErrStoreUnavailable.
func (t Timing) Reserve(ctx context.Context, pkg string, try func(context.Context) (Answer, time.Duration, error)) error {
	delay := t.PollInterval
	for {
		a, retry, err := try(ctx)
		if err != nil {
			if cerr := ended(ctx); cerr != nil {
				return fmt.Errorf("%w: %s: %w", auth.ErrBusy, pkg, cerr)
			}
		}
		switch {
		case err != nil:
			return err
		case a == Granted:
			return nil
		case a == Spent:
			return &auth.RateLimitError{RetryAfter: retry}
		case a != Held:
			return fmt.Errorf("%w: %s: the limiter answered %d", auth.ErrStoreUnavailable, pkg, a)
		}
		wait := time.NewTimer(delay/2 + mathrand.N(delay/2+1))
		select {
		case <-wait.C:
		case <-ctx.Done():
			wait.Stop()
			return fmt.Errorf("%w: %s: waiting for earlier attempts: %w", auth.ErrBusy, pkg, ctx.Err())
		}
		delay = min(2*delay, t.MaxPollInterval)
	}
}

// ended is ctx's error, or DeadlineExceeded once its deadline has passed
// even if the timer that cancels it has not fired yet: a client that
// honours the deadline (a network read deadline) can fail a moment before
// ctx says it ended.
func ended(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return context.DeadlineExceeded
	}
	return nil
}

// OutcomeCode is o as the stores' settle calls take it: "f" failed, "s"
// succeeded, "c" cancelled (and any Outcome unknown here: given back).
func OutcomeCode(o auth.Outcome) string {
	switch o {
	case auth.AttemptFailed:
		return "f"
	case auth.AttemptSucceeded:
		return "s"
	}
	return "c"
}
