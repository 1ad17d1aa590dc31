package sharedlimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/goauthkit/auth"
)

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Timing
		want Timing
		ok   bool
	}{
		{"zero", Timing{}, Timing{DefaultLease, DefaultPollInterval, DefaultMaxPollInterval, DefaultSettleTimeout}, true},
		{"long poll raises the max", Timing{PollInterval: time.Second}, Timing{DefaultLease, time.Second, time.Second, DefaultSettleTimeout}, true},
		{"kept", Timing{1, 2, 3, 4}, Timing{1, 2, 3, 4}, true},
		{"negative lease", Timing{Lease: -1}, Timing{}, false},
		{"negative poll", Timing{PollInterval: -1}, Timing{}, false},
		{"negative max", Timing{MaxPollInterval: -1}, Timing{}, false},
		{"negative settle", Timing{SettleTimeout: -1}, Timing{}, false},
		{"max below poll", Timing{PollInterval: time.Second, MaxPollInterval: time.Millisecond}, Timing{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.WithDefaults("test")
			if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
				t.Fatalf("WithDefaults(%+v) = %+v, %v; want %+v, ok %v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestMicros(t *testing.T) {
	tests := []struct {
		burst    int
		interval time.Duration
		iv, cap  int64
	}{
		{5, time.Minute, 60_000_000, 300_000_000},
		{1, time.Nanosecond, 1, 1},                     // rounded up
		{3, 1500 * time.Nanosecond, 2, 6},              // rounded up
		{1, 1 << 62, MaxMicros, MaxMicros},             // saturated
		{1 << 40, time.Hour, 3_600_000_000, MaxMicros}, // Burst × Interval saturated
	}
	for _, tt := range tests {
		k := auth.LimitKey{Burst: tt.burst, Interval: tt.interval}
		if iv, c := Interval(k), Capacity(k); iv != tt.iv || c != tt.cap {
			t.Errorf("{%d, %v}: interval %d, capacity %d; want %d, %d", tt.burst, tt.interval, iv, c, tt.iv, tt.cap)
		}
	}
	if err := CheckKeys([]auth.LimitKey{{Burst: 1, Interval: 1}, {Burst: 0, Interval: 1}}); !errors.Is(err, ErrBadKey) {
		t.Errorf("CheckKeys of a zero Burst = %v", err)
	}
	if err := CheckKeys([]auth.LimitKey{{Burst: 1, Interval: 1}}); err != nil {
		t.Errorf("CheckKeys of a good key = %v", err)
	}
}

// TestReserve drives the loop with scripted answers of the store.
func TestReserve(t *testing.T) {
	type reply struct {
		a     Answer
		retry time.Duration
		err   error
	}
	down := errors.New("down")
	tests := []struct {
		name    string
		replies []reply
		cancel  bool // the context ends before the first call
		check   func(error) bool
		calls   int
	}{
		{"granted", []reply{{Granted, 0, nil}}, false, func(err error) bool { return err == nil }, 1},
		{"held, then granted", []reply{{Held, 0, nil}, {Held, 0, nil}, {Granted, 0, nil}}, false, func(err error) bool { return err == nil }, 3},
		{"spent", []reply{{Spent, 7 * time.Second, nil}}, false, func(err error) bool {
			var rl *auth.RateLimitError
			return errors.As(err, &rl) && rl.RetryAfter == 7*time.Second
		}, 1},
		{"held, then spent", []reply{{Held, 0, nil}, {Spent, time.Second, nil}}, false, func(err error) bool {
			return errors.Is(err, auth.ErrTooManyAttempts)
		}, 2},
		{"store fails", []reply{{0, 0, down}}, false, func(err error) bool { return errors.Is(err, down) }, 1},
		{"unknown answer", []reply{{9, 0, nil}}, false, func(err error) bool { return errors.Is(err, auth.ErrStoreUnavailable) }, 1},
		{"context ended", []reply{{0, 0, down}}, true, func(err error) bool {
			return errors.Is(err, auth.ErrBusy) && errors.Is(err, context.Canceled) && !errors.Is(err, down)
		}, 1},
	}
	timing, _ := Timing{PollInterval: time.Millisecond, MaxPollInterval: 2 * time.Millisecond}.WithDefaults("test")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				cancel()
			}
			calls := 0
			err := timing.Reserve(ctx, "test", func(context.Context) (Answer, time.Duration, error) {
				r := tt.replies[min(calls, len(tt.replies)-1)]
				calls++
				return r.a, r.retry, r.err
			})
			if !tt.check(err) || calls != tt.calls {
				t.Fatalf("Reserve = %v after %d calls; want %d calls", err, calls, tt.calls)
			}
		})
	}

	t.Run("held until the context ends", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		calls := 0
		err := timing.Reserve(ctx, "test", func(context.Context) (Answer, time.Duration, error) {
			calls++
			return Held, 0, nil
		})
		if !errors.Is(err, auth.ErrBusy) || !errors.Is(err, context.DeadlineExceeded) || calls < 2 {
			t.Fatalf("Reserve = %v after %d calls; want ErrBusy and DeadlineExceeded after several", err, calls)
		}
	})
}

func TestOutcomeCode(t *testing.T) {
	for o, want := range map[auth.Outcome]string{auth.AttemptFailed: "f", auth.AttemptSucceeded: "s", auth.AttemptCancelled: "c", 42: "c"} {
		if got := OutcomeCode(o); got != want {
			t.Errorf("OutcomeCode(%d) = %q, want %q", o, got, want)
		}
	}
}
