package authhttp

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type ctxKey struct{}

// isDone reports whether ch is closed, waiting up to wait for it.
func isDone(ch <-chan struct{}, wait time.Duration) bool {
	if wait == 0 {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	select {
	case <-ch:
		return true
	case <-time.After(wait):
		return false
	}
}

// TestLazyDeadline checks that withLazyDeadline ends as context.WithDeadline
// does, whichever of its methods is called first, and that it arms no timer
// while nothing needs one.
func TestLazyDeadline(t *testing.T) {
	const short = 30 * time.Millisecond
	for _, tc := range []struct {
		name    string
		timeout time.Duration
		run     func(t *testing.T, ctx context.Context, cancelParent, stop context.CancelFunc)
		wantErr error // after run
		armed   bool  // whether run must have armed the timer
	}{
		{"live: Err answers without arming", time.Hour, func(t *testing.T, ctx context.Context, _, _ context.CancelFunc) {
			for range 3 {
				if err := ctx.Err(); err != nil {
					t.Fatalf("Err = %v", err)
				}
			}
			if v := ctx.Value(ctxKey{}); v != "v" {
				t.Errorf("Value = %v", v)
			}
			if d, ok := ctx.Deadline(); !ok || time.Until(d) < 59*time.Minute {
				t.Errorf("Deadline = %v, %v", d, ok)
			}
		}, nil, false},
		{"deadline seen through Done", short, func(t *testing.T, ctx context.Context, _, _ context.CancelFunc) {
			if isDone(ctx.Done(), 0) {
				t.Fatal("done before the deadline")
			}
			if !isDone(ctx.Done(), 5*time.Second) {
				t.Fatal("Done not closed after the deadline")
			}
		}, context.DeadlineExceeded, true},
		{"deadline seen through Err alone", short, func(t *testing.T, ctx context.Context, _, _ context.CancelFunc) {
			time.Sleep(2 * short)
			if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Err after the deadline = %v", err)
			}
			if !isDone(ctx.Done(), 0) {
				t.Fatal("Err reported the deadline but Done is open")
			}
		}, context.DeadlineExceeded, true},
		{"parent canceled, seen through Done", time.Hour, func(t *testing.T, ctx context.Context, cancelParent, _ context.CancelFunc) {
			done := ctx.Done()
			cancelParent()
			if !isDone(done, 5*time.Second) {
				t.Fatal("Done not closed after the parent was canceled")
			}
		}, context.Canceled, true},
		{"parent canceled, seen through Err alone", time.Hour, func(t *testing.T, ctx context.Context, cancelParent, _ context.CancelFunc) {
			cancelParent()
			if err := ctx.Err(); !errors.Is(err, context.Canceled) {
				t.Fatalf("Err = %v", err)
			}
			if !isDone(ctx.Done(), 0) {
				t.Fatal("Err reported the cancel but Done is open")
			}
		}, context.Canceled, true},
		{"stopped before anything armed it", time.Hour, func(t *testing.T, ctx context.Context, _, stop context.CancelFunc) {
			stop()
			if !isDone(ctx.Done(), 0) {
				t.Fatal("Done open after stop")
			}
			if v := ctx.Value(ctxKey{}); v != "v" {
				t.Errorf("Value after stop = %v", v)
			}
		}, context.Canceled, true},
		{"stopped after Done", time.Hour, func(t *testing.T, ctx context.Context, _, stop context.CancelFunc) {
			done := ctx.Done()
			stop()
			if !isDone(done, 0) {
				t.Fatal("Done open after stop")
			}
		}, context.Canceled, true},
		{"stopped after the deadline passed unseen", short, func(t *testing.T, ctx context.Context, _, stop context.CancelFunc) {
			time.Sleep(2 * short)
			stop()
		}, context.DeadlineExceeded, true},
		{"a child ends at the deadline", short, func(t *testing.T, ctx context.Context, _, _ context.CancelFunc) {
			child, cancel := context.WithCancel(ctx)
			defer cancel()
			if !isDone(child.Done(), 5*time.Second) {
				t.Fatal("child not done after the deadline")
			}
			if err := child.Err(); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("child Err = %v", err)
			}
		}, context.DeadlineExceeded, true},
		{"a child ends with the parent", time.Hour, func(t *testing.T, ctx context.Context, cancelParent, _ context.CancelFunc) {
			child, cancel := context.WithTimeout(ctx, time.Hour)
			defer cancel()
			cancelParent()
			if !isDone(child.Done(), 5*time.Second) {
				t.Fatal("child not done after the parent was canceled")
			}
		}, context.Canceled, true},
		{"AfterFunc runs at the deadline", short, func(t *testing.T, ctx context.Context, _, _ context.CancelFunc) {
			ran := make(chan struct{})
			context.AfterFunc(ctx, func() { close(ran) })
			if !isDone(ran, 5*time.Second) {
				t.Fatal("AfterFunc did not run")
			}
		}, context.DeadlineExceeded, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent, cancelParent := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
			defer cancelParent()
			ctx, stop := withLazyDeadline(parent, time.Now().Add(tc.timeout))
			defer stop()
			tc.run(t, ctx, cancelParent, stop)
			if armed := ctx.(*deadlineContext).armed.Load(); armed != tc.armed {
				t.Errorf("armed = %v, want %v", armed, tc.armed)
			}
			if err := ctx.Err(); !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("Err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// TestLazyDeadlineParentEarlier keeps the parent's deadline when it comes
// first, as context.WithDeadline does.
func TestLazyDeadlineParentEarlier(t *testing.T) {
	parent, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	pd, _ := parent.Deadline()
	ctx, stop := withLazyDeadline(parent, time.Now().Add(time.Hour))
	defer stop()
	if d, _ := ctx.Deadline(); !d.Equal(pd) {
		t.Errorf("Deadline = %v, want the parent's %v", d, pd)
	}
	if !isDone(ctx.Done(), 5*time.Second) || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("after the parent's deadline: Err = %v", ctx.Err())
	}
}

// TestLazyDeadlineConcurrent calls every method from several goroutines
// while the deadline passes and the context is stopped (run with -race).
func TestLazyDeadlineConcurrent(t *testing.T) {
	for range 50 {
		ctx, stop := withLazyDeadline(context.Background(), time.Now().Add(time.Millisecond))
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 50 {
					switch (g + i) % 3 {
					case 0:
						_ = ctx.Err()
					case 1:
						_ = isDone(ctx.Done(), 0)
					case 2:
						_ = ctx.Value(ctxKey{})
					}
				}
			})
		}
		wg.Go(stop)
		wg.Wait()
		if ctx.Err() == nil || !isDone(ctx.Done(), 0) {
			t.Fatalf("after stop: Err = %v", ctx.Err())
		}
	}
}

func BenchmarkRequestDeadline(b *testing.B) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.Run("context.WithTimeout", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ctx, stop := context.WithTimeout(parent, 15*time.Second)
			_ = ctx.Err()
			stop()
		}
	})
	b.Run("withLazyDeadline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ctx, stop := withLazyDeadline(parent, time.Now().Add(15*time.Second))
			_ = ctx.Err()
			stop()
		}
	})
}
