package authtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goauthkit/auth"
)

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	c := NewClock(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("Now() = %v, want %v", got, t0)
	}
	if got := c.Now(); !got.Equal(t0) {
		t.Fatalf("Now() moved by itself: %v, want %v", got, t0)
	}
	c.Advance(90 * time.Second)
	c.Advance(-30 * time.Second)
	if got, want := c.Now(), t0.Add(time.Minute); !got.Equal(want) {
		t.Fatalf("after Advance, Now() = %v, want %v", got, want)
	}
	// Concurrent readers and writers (run under -race).
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		})
	}
	wg.Wait()
	if got, want := c.Now(), t0.Add(time.Minute+400*time.Second); !got.Equal(want) {
		t.Fatalf("after concurrent Advance, Now() = %v, want %v", got, want)
	}
}

func TestPlainHasher(t *testing.T) {
	var h auth.Hasher = PlainHasher{}
	enc, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	// The SHA-256 of "correct horse", computed apart.
	const want = PlainHashPrefix + "4104d36f8da2c254349f85836793ebe029e0c957063a34c91c2e9203187b5631"
	if enc != want {
		t.Fatalf("Hash = %q, want %q", enc, want)
	}
	if err := h.Verify("correct horse", enc); err != nil {
		t.Fatalf("Verify of the right password: %v", err)
	}
	for _, c := range []struct{ p, enc string }{
		{"correct horsE", enc},
		{"", enc},
		{"correct horse", enc[:len(enc)-1]},
		{"correct horse", enc + "0"},
		{"correct horse", strings.TrimPrefix(enc, PlainHashPrefix)},
		{"correct horse", ""},
	} {
		if err := h.Verify(c.p, c.enc); !errors.Is(err, auth.ErrPasswordMismatch) {
			t.Errorf("Verify(%q, %q) = %v, want ErrPasswordMismatch", c.p, c.enc, err)
		}
	}
	if h.NeedsRehash(enc) {
		t.Error("NeedsRehash = true")
	}
}

func TestEvents(t *testing.T) {
	var l Events // the zero Events is ready
	ctx := context.Background()
	if n := l.Count(auth.EventLoginSucceeded); n != 0 {
		t.Fatalf("Count on an empty Events = %d", n)
	}
	if e := l.Last(auth.EventLoginSucceeded); e.Type != "" {
		t.Fatalf("Last on an empty Events = %+v", e)
	}
	l.Add(ctx, auth.Event{Type: auth.EventLoginSucceeded, UserID: "u1", Email: "a@example.com"})
	l.Add(ctx, auth.Event{Type: auth.EventLoginFailed, UserID: "u2"})
	l.Add(ctx, auth.Event{Type: auth.EventLoginSucceeded, UserID: "u3", Email: "b@example.com"})
	if n := l.Count(auth.EventLoginSucceeded); n != 2 {
		t.Errorf("Count(login) = %d, want 2", n)
	}
	if n := l.Count(auth.EventLoginSucceeded, About("b@example.com")); n != 1 {
		t.Errorf("Count(login, About(b)) = %d, want 1", n)
	}
	if n := l.Count(auth.EventLoginSucceeded, About("b@example.com"), func(e auth.Event) bool { return e.UserID == "u1" }); n != 0 {
		t.Errorf("Count with two matches that no event meets both = %d, want 0", n)
	}
	if e := l.Last(auth.EventLoginSucceeded); e.UserID != "u3" {
		t.Errorf("Last(login) = %+v, want u3's", e)
	}
	if e := l.Last(auth.EventLoginSucceeded, About("a@example.com")); e.UserID != "u1" {
		t.Errorf("Last(login, About(a)) = %+v, want u1's", e)
	}
	if all := l.All(); len(all) != 3 || all[1].UserID != "u2" {
		t.Errorf("All() = %+v", all)
	}
	if got := l.Take(); len(got) != 3 || got[0].UserID != "u1" || got[2].UserID != "u3" {
		t.Errorf("Take() = %+v", got)
	}
	if got := l.Take(); len(got) != 0 {
		t.Errorf("second Take() = %+v, want none", got)
	}
	if n := l.Count(auth.EventLoginSucceeded); n != 0 {
		t.Errorf("Count after Take = %d, want 0", n)
	}
}

func TestEventsWait(t *testing.T) {
	var l Events
	ctx := context.Background()
	// An event recorded before Wait is found at once.
	l.Add(ctx, auth.Event{Type: auth.EventLoginSucceeded, Email: "a@example.com"})
	if e := l.Wait(t, auth.EventLoginSucceeded); e.Email != "a@example.com" {
		t.Fatalf("Wait = %+v", e)
	}
	// Events that other goroutines add later, some not the one awaited.
	go func() {
		for i := range 20 {
			time.Sleep(time.Millisecond)
			l.Add(ctx, auth.Event{Type: auth.EventLoginSucceeded, Email: fmt.Sprintf("%d@example.com", i)})
		}
	}()
	if e := l.Wait(t, auth.EventLoginSucceeded, About("19@example.com")); e.Email != "19@example.com" {
		t.Fatalf("Wait = %+v", e)
	}
}

// fatalTB records Fatalf instead of ending the goroutine.
type fatalTB struct {
	testing.TB
	failed string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestEventsWaitFails(t *testing.T) {
	defer func(d time.Duration) { waitFor = d }(waitFor)
	waitFor = 20 * time.Millisecond
	var l Events
	l.Add(context.Background(), auth.Event{Type: auth.EventLoginFailed})
	f := &fatalTB{TB: t}
	if e := l.Wait(f, auth.EventLoginSucceeded); e.Type != "" {
		t.Errorf("Wait without the event = %+v", e)
	}
	if !strings.Contains(f.failed, "no event") {
		t.Errorf("Wait without the event: Fatalf(%q), want a failure", f.failed)
	}
}
