package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// newClient returns a client with one keep-alive connection of its own:
// each worker of a workload has one, so a workload with N workers holds
// exactly N connections. No proxy from the environment, no compression.
func newClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        1,
			MaxIdleConnsPerHost: 1,
			MaxConnsPerHost:     1,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// closeClient closes the client's idle connection.
func closeClient(c *http.Client) { c.Transport.(*http.Transport).CloseIdleConnections() }

// call sends req and returns the status, reading the body to its end so
// the connection is reused.
func call(c *http.Client, req *http.Request) (int, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// workload is one closed-loop load: conns workers, each sending a request
// as soon as its previous answer is in.
type workload struct {
	name   string
	conns  int
	want   int                                                 // the expected status; anything else is an error
	newReq func(ctx context.Context, worker int) *http.Request // a new request for worker
}

// result is what one workload measured in its window (warm-up excluded).
type result struct {
	name      string
	conns     int
	window    time.Duration
	ok        int
	lat       []time.Duration // of the expected answers, sorted
	errs      map[string]int  // unexpected answers and failures, by kind
	serverCPU time.Duration   // CPU time the server used in the window
	clientCPU time.Duration   // CPU time this program used in the window
	otherCPU  time.Duration   // CPU time the rest of the machine used (steal included)
	rounds    []float64       // the rate of each round, when runRounds merged several
}

func (r *result) rate() float64 { return float64(r.ok) / r.window.Seconds() }

func (r *result) errors() int {
	n := 0
	for _, v := range r.errs {
		n += v
	}
	return n
}

// pct returns the p-quantile (0 < p ≤ 1) of the latencies, nearest rank.
func (r *result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(r.lat)))) - 1
	return r.lat[max(0, min(i, len(r.lat)-1))]
}

// errSummary lists the kinds of error, most frequent first.
func (r *result) errSummary() string {
	kinds := make([]string, 0, len(r.errs))
	for k := range r.errs {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return r.errs[kinds[i]] > r.errs[kinds[j]] })
	var b strings.Builder
	for i, k := range kinds {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s × %d", k, r.errs[k])
	}
	return b.String()
}

// window is the timing shared by the workloads run together: they start
// at start, are measured from from to to, and stop at to.
type window struct {
	start, from, to time.Time
}

func newWindow(warmup, duration time.Duration) window {
	now := time.Now()
	return window{start: now, from: now.Add(warmup), to: now.Add(warmup + duration)}
}

// run runs w until win.to and returns its figures for [win.from, win.to):
// a request counts in the window in which its answer arrived; requests
// still running at win.to are cancelled and not counted.
func (w workload) run(ctx context.Context, win window, srv *server) *result {
	ctx, cancel := context.WithDeadline(ctx, win.to)
	defer cancel()
	type workerResult struct {
		lat  []time.Duration
		errs map[string]int
	}
	results := make([]workerResult, w.conns)
	var wg sync.WaitGroup
	for i := range w.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient()
			defer closeClient(c)
			res := &results[i]
			res.errs = map[string]int{}
			for ctx.Err() == nil {
				req := w.newReq(ctx, i)
				t0 := time.Now()
				status, err := call(c, req)
				t1 := time.Now()
				if t1.Before(win.from) || !t1.Before(win.to) {
					continue
				}
				switch {
				case err != nil:
					res.errs[errKind(err)]++
				case status != w.want:
					res.errs[fmt.Sprintf("HTTP %d", status)]++
				default:
					res.lat = append(res.lat, t1.Sub(t0))
				}
			}
		}()
	}
	cpu := measureCPU(ctx, win, srv)
	wg.Wait()
	r := &result{name: w.name, conns: w.conns, window: win.to.Sub(win.from), errs: map[string]int{}}
	for _, res := range results {
		r.lat = append(r.lat, res.lat...)
		for k, v := range res.errs {
			r.errs[k] += v
		}
	}
	slices.Sort(r.lat)
	r.ok = len(r.lat)
	c := <-cpu
	r.serverCPU, r.clientCPU, r.otherCPU = c[0], c[1], c[2]
	return r
}

// measureCPU returns, once win.to has passed, the CPU time the server, this
// program and everything else on the machine used from win.from to win.to.
func measureCPU(ctx context.Context, win window, srv *server) <-chan [3]time.Duration {
	out := make(chan [3]time.Duration, 1)
	go func() {
		sleepUntil(ctx, win.from)
		s0, _ := srv.cpuTime()
		c0, m0 := selfCPU(), machineCPU()
		sleepUntil(ctx, win.to)
		s1, _ := srv.cpuTime()
		c1, m1 := selfCPU(), machineCPU()
		s, c := s1-s0, c1-c0
		out <- [3]time.Duration{s, c, max(0, m1-m0-s-c)}
	}()
	return out
}

// machineCPU is the CPU time the whole machine has been busy (user, nice,
// system, irq, softirq), plus steal: time a hypervisor gave to others.
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var ticks int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} { // user nice system (idle iowait) irq softirq steal
		n, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ = 100
}

func sleepUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// selfCPU is the CPU time (user + system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// errKind names a transport error briefly.
func errKind(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

// The HTTP calls of the set-up.

func getMe(ctx context.Context, base, token string) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

func getBare(ctx context.Context, base string) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/loadtest/bare", nil)
	return req
}

// postToken is a password-grant login; xff, if set, is sent as
// X-Forwarded-For (read only when the server trusts 127.0.0.1 as a proxy).
func postToken(ctx context.Context, base, username, password, xff string) *http.Request {
	form := url.Values{"grant_type": {"password"}, "username": {username}, "password": {password}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	return req
}

// signup registers username. xff, if set, is sent as X-Forwarded-For: the
// server limits signups per client address (20, then one per 6 s), so a
// flood server, which trusts 127.0.0.1 as a proxy, sees each user sign up
// from an address of its own.
func signup(ctx context.Context, c *http.Client, base, username, password, xff string) error {
	body, _ := json.Marshal(map[string]string{"username": username, "password": password})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/signup", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	status, err := call(c, req)
	if err != nil {
		return fmt.Errorf("signup %s: %w", username, err)
	}
	if status != http.StatusCreated {
		return fmt.Errorf("signup %s: HTTP %d, want 201", username, status)
	}
	return nil
}

// signupAll registers every username, two at a time.
func signupAll(ctx context.Context, base string, usernames []string, password string) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(usernames))
	next := make(chan int)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := newClient()
			defer closeClient(c)
			for i := range next {
				xff := fmt.Sprintf("198.19.%d.%d", i/250, i%250+1)
				if err := signup(ctx, c, base, usernames[i], password, xff); err != nil {
					errc <- err
				}
			}
		}()
	}
	for i := range usernames {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errc)
	return <-errc
}

// probeUser signs up the user "probe" and returns an access token of its.
func probeUser(ctx context.Context, c *http.Client, base string) (string, error) {
	if err := signup(ctx, c, base, "probe", password, "198.19.255.254"); err != nil {
		return "", err
	}
	return login(ctx, base, "probe", password)
}

// login logs username in and returns the access token.
func login(ctx context.Context, base, username, password string) (string, error) {
	c := newClient()
	defer closeClient(c)
	resp, err := c.Do(postToken(ctx, base, username, password, ""))
	if err != nil {
		return "", fmt.Errorf("login %s: %w", username, err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("login %s: HTTP %d, want 200", username, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		return "", fmt.Errorf("login %s: no access token in the answer (%v)", username, err)
	}
	return body.AccessToken, nil
}

// checkStatus sends one request and checks its status.
func checkStatus(req *http.Request, want int) error {
	c := newClient()
	defer closeClient(c)
	status, err := call(c, req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	if status != want {
		return fmt.Errorf("%s %s: HTTP %d, want %d", req.Method, req.URL.Path, status, want)
	}
	return nil
}

// add merges o, a later measurement of the same workload, into r.
func (r *result) add(o *result) {
	r.window += o.window
	r.ok += o.ok
	r.lat = append(r.lat, o.lat...)
	for k, v := range o.errs {
		r.errs[k] += v
	}
	r.serverCPU += o.serverCPU
	r.clientCPU += o.clientCPU
	r.otherCPU += o.otherCPU
}

// runRounds runs the workloads one after the other, in rounds rounds of
// duration/rounds each, in alternate order (A B, B A, A B, ...), so that
// whatever else the machine is doing falls on each alike; and merges each
// workload's rounds, keeping each round's rate. The first round of each workload warms up for warmup,
// later ones (new connections) for at most 200 ms, excluded too.
func runRounds(ctx context.Context, srv *server, ws []workload, rounds int, warmup, duration time.Duration) []*result {
	per := duration / time.Duration(rounds)
	out := make([]*result, len(ws))
	for round := range rounds {
		for k := range ws {
			i := k
			if round%2 == 1 {
				i = len(ws) - 1 - k
			}
			wu := warmup
			if round > 0 {
				wu = min(warmup, 200*time.Millisecond)
			}
			res := ws[i].run(ctx, newWindow(wu, per), srv)
			rate := res.rate()
			if out[i] == nil {
				out[i] = res
			} else {
				out[i].add(res)
			}
			out[i].rounds = append(out[i].rounds, rate)
			if ctx.Err() != nil {
				return out
			}
		}
	}
	for _, r := range out {
		slices.Sort(r.lat)
	}
	return out
}

// roundRatios returns a's rate ÷ b's rate in each round both ran (runRounds
// runs the two back to back in every round, so slow drift of the machine
// cancels in each ratio), sorted.
func roundRatios(a, b *result) []float64 {
	n := min(len(a.rounds), len(b.rounds))
	out := make([]float64, 0, n)
	for i := range n {
		if b.rounds[i] > 0 {
			out = append(out, a.rounds[i]/b.rounds[i])
		}
	}
	slices.Sort(out)
	return out
}

// medianOf returns the median of sorted values, or 0 for none.
func medianOf(sorted []float64) float64 {
	n := len(sorted)
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// runtimeFigures is what the server's GET /loadtest/runtime reports: its
// Go runtime's goroutines and memory, in bytes.
type runtimeFigures struct {
	Goroutines uint64 `json:"goroutines"`
	HeapLive   uint64 `json:"heap_live_bytes"` // marked live by the last GC
	HeapGoal   uint64 `json:"heap_goal_bytes"` // where the next GC is due
	Heap       uint64 `json:"heap_bytes"`      // live and not yet swept
	Stacks     uint64 `json:"stacks_bytes"`
	Total      uint64 `json:"runtime_bytes"` // all the memory the Go runtime maps
}

// max returns the highest of each figure of f and g.
func (f runtimeFigures) max(g runtimeFigures) runtimeFigures {
	return runtimeFigures{
		Goroutines: max(f.Goroutines, g.Goroutines),
		HeapLive:   max(f.HeapLive, g.HeapLive),
		HeapGoal:   max(f.HeapGoal, g.HeapGoal),
		Heap:       max(f.Heap, g.Heap),
		Stacks:     max(f.Stacks, g.Stacks),
		Total:      max(f.Total, g.Total),
	}
}

// readRuntime gets the server's GET /loadtest/runtime.
func readRuntime(ctx context.Context, c *http.Client, base string) (runtimeFigures, error) {
	var f runtimeFigures
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/loadtest/runtime", nil)
	if err != nil {
		return f, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return f, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return f, fmt.Errorf("GET /loadtest/runtime: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		return f, fmt.Errorf("GET /loadtest/runtime: %w", err)
	}
	return f, nil
}
