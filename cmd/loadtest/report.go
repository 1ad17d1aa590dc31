package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// machine describes where the test ran.
type machine struct {
	nproc, gomaxprocs int
	cpu               string
	kernel            string
	memTotal          string
	goVersion         string
	loadStart         string
	loadEnd           string
}

func readMachine() machine {
	m := machine{
		nproc:      runtime.NumCPU(),
		gomaxprocs: runtime.GOMAXPROCS(0),
		cpu:        "unknown",
		kernel:     "unknown",
		memTotal:   "unknown",
		goVersion:  runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		loadStart:  loadAvg(),
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				var kib int64
				fmt.Sscanf(strings.TrimSpace(v), "%d", &kib)
				m.memTotal = fmt.Sprintf("%.1f GiB", float64(kib)/(1<<20))
			}
		}
	}
	return m
}

// loadAvg is the 1-, 5- and 15-minute load average.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// report is everything one run measured.
type report struct {
	command  string
	settings string
	opts     options
	machine  machine
	hash     hashCost
	stores   []*storeResult
	floods   []*floodResult
}

func (r *report) write(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	m := r.machine
	o := r.opts
	p("## Load test of the example server (`cmd/loadtest`)")
	p("")
	p("- Command: `%s`", r.command)
	p("- Settings: `%s`", r.settings)
	p("- Machine: %d CPUs (GOMAXPROCS %d), %s, %s RAM, %s, %s", m.nproc, m.gomaxprocs, m.cpu, m.memTotal, m.kernel, m.goVersion)
	p("- Load average (1, 5, 15 min): %s at the start, %s at the end (other processes on the machine disturb the figures)", m.loadStart, m.loadEnd)
	p("- Server: `examples/server` from this checkout, on `127.0.0.1:0` with a fresh temporary `-data` directory, `AUTH_*` variables cleared, `AUTH_LOADTEST_BARE=1`; HS256, argon2id m=%d KiB t=%d p=%d (defaults), %d hash slots (MaxConcurrentHashes = GOMAXPROCS; one kept back while the server also authenticates requests), one log line per request", argonMemoryKiB, argonTime, argonThreads, m.gomaxprocs)
	p("- Method: closed loop over keep-alive connections (one per client goroutine), %s warm-up then %s measured per workload; `/users/me` and the bare handler alternate in %d rounds sharing those %s (later rounds warm up for 200 ms), so that other load on the machine falls on both alike. Latency from every answer in the window (sorted, nearest rank); any other status, or a failed request, is an error. The load generator runs on the same CPUs as the server: \"loadgen CPU\" is its share; \"other CPU\" is what every other process used (from /proc/stat, hypervisor steal included); \"server CPU/req\" is the server's CPU time (from /proc) per answered request.", o.warmup, o.duration, o.rounds, o.duration)
	p("")

	h := r.hash
	p("### Hashing bound")
	p("")
	p("One argon2id hash at the server's parameters, timed in this process before any server started: **%s CPU** (median of %d sequential hashes; %s to %s; %s wall). Bound = %d cores ÷ %s = **%.1f logins/s**. The machine's speed drifts over minutes, so each store's login row is compared with the hash timed again (%d hashes) just before it, as that row shows.",
		fmtDur(h.cpuPerHash), h.iters, fmtDur(h.cpuMin), fmtDur(h.cpuMax), fmtDur(h.wallHash), h.procs, fmtDur(h.cpuPerHash), h.bound, h.iters)
	if h.parallel > 0 {
		p("For context, %d goroutines hashing at once in this process for %s did %.1f hashes/s (%.2f of the bound; %s CPU per hash).",
			h.procs, fmtDur(h.parallelTime), h.parallel, h.parallel/h.bound, fmtDur(h.parallelCPUHash))
	}
	p("")

	p("### Throughput and latency")
	p("")
	p("| workload | store | conns | req/s | p50 | p99 | errors | server CPU/req | loadgen CPU | other CPU | goal | result |")
	p("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|")
	for _, st := range r.stores {
		p("%s", row(st.me, st.db, "", ""))
		p("%s", row(st.bare, st.db, "", ""))
		// The verdict is on the median of the rounds' ratios: each round
		// runs the two back to back, so a burst of other load on the
		// machine spoils one round's ratio, not the figure.
		rr := roundRatios(st.me, st.bare)
		ratio := medianOf(rr)
		spread := ""
		if len(rr) > 0 {
			spread = fmt.Sprintf(" (rounds %.3f–%.3f; whole windows %.3f)", rr[0], rr[len(rr)-1], st.me.rate()/st.bare.rate())
		}
		if st.db == "postgres" { // a query per request, on the same two cores: no goal
			p("| **/users/me ÷ bare**, median of %d rounds%s | %s | | **%.3f** | | | | | | | – | |", len(rr), spread, st.db, ratio)
			continue
		}
		p("| **/users/me ÷ bare**, median of %d rounds%s | %s | | **%.3f** | | | | | | | ≥ %.2f | %s |", len(rr), spread, st.db, ratio, goalMeRatio,
			verdict(ratio >= goalMeRatio, st.me.errors()+st.bare.errors()))
	}
	above := false
	for _, st := range r.stores {
		p("%s", row(st.login, st.db, "", ""))
		bound := st.loginHash.bound
		ratio := st.login.rate() / bound
		above = above || ratio > 1
		p("| **logins ÷ hashing bound (%.1f/s: %s CPU per hash, timed just before)** | %s | | **%.3f** | | | | | | | ≥ %.2f | %s |", bound, fmtDur(st.loginHash.cpuPerHash), st.db, ratio, goalLoginRatio,
			verdict(ratio >= goalLoginRatio, st.login.errors()))
	}
	p("")
	if above {
		p("A ratio above 1 means the server spent less CPU per login (its \"server CPU/req\", hash included) than the calibration measured per hash: the bound is that much too low (noise on this machine, or the calibration's colder memory), and the ratio reads as about 1.")
		p("")
	}

	if len(r.floods) > 0 {
		p("### Login flood (%s store)", o.floodDB)
		p("")
		p("Each flood goroutine logs in over its own connection, as fast as answers come, with the right password (wrong ones are soon answered 429 by the limiter, without hashing: that measures the limiter, not the hashing bound). The limiter also holds back correct logins while they are in flight (an attempt holds one unit of the username's burst of 5 and of the client address's burst of 20 until it succeeds), so each user serves at most 4 goroutines and the server runs with `-trusted-proxies 127.0.0.1` so that each goroutine has its own `X-Forwarded-For` address, as that many attackers would. Each flood runs %d times, on a fresh server each time; `/users/me` is measured by %d other connections (closed loop), alone, then during the flood. RSS: VmHWM from /proc (reset just before the flood: %s), VmRSS sampled every 20 ms.", o.floodRuns, o.probeConns, yesNo(r.allPeaksReset()))
		p("")
		p("| flood | /users/me req/s | p50 | p99 | errors | logins/s | login p50 | login p99 | login errors | server CPU/login | other CPU | RSS before | peak RSS (VmHWM) | max sampled VmRSS | goal: p99 < %s | result |", fmtDur(goalFloodP99))
		p("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|")
		for _, fl := range r.floods {
			if b := fl.baseline; b != nil {
				p("| none (same server, before the flood) | %s | %s | %s | %d | | | | | | %s | | | | | |",
					fmtRate(b.rate()), fmtDur(b.pct(0.5)), fmtDur(b.pct(0.99)), b.errors(), cores(b.otherCPU, b.window))
			}
			pr, lg := fl.probe, fl.logins
			perLogin := "–"
			if lg.ok > 0 {
				perLogin = fmtDur(lg.serverCPU / time.Duration(lg.ok))
			}
			p("| **%d logins**, run %d (%s) | %s | %s | **%s** | %d | %.1f | %s | %s | %d | %s | %s | %s | **%s** | %s | %s | %s |", fl.n, fl.run, plural(fl.users, "user"),
				fmtRate(pr.rate()), fmtDur(pr.pct(0.5)), fmtDur(pr.pct(0.99)), pr.errors(),
				lg.rate(), fmtDur(lg.pct(0.5)), fmtDur(lg.pct(0.99)), lg.errors(), perLogin, cores(lg.otherCPU, lg.window),
				fmtKiB(fl.rssBefore), fmtKiB(fl.hwm), fmtKiB(fl.maxRSS),
				"< "+fmtDur(goalFloodP99), verdict(pr.pct(0.99) < goalFloodP99, pr.errors()))
		}
		p("")
		p("What the server's Go runtime held (its GET /loadtest/runtime, read just before each flood and every 100 ms during it; the highest of each figure): \"heap live\" is what the last GC found reachable, argon2 buffers in use included; the GC lets the heap grow to its goal (twice that, with GOGC=100) before collecting, and finished hashes' 19 MiB buffers are the garbage that fills the room.")
		p("")
		p("| flood | samples | goroutines | heap live | heap goal | heap (live + unswept) | goroutine stacks | all Go memory | peak RSS (VmHWM) |")
		p("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
		mib := func(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
		for _, fl := range r.floods {
			b, m := fl.rtBefore, fl.rtMax
			p("| %d logins, run %d | %d | %d → %d | %s → %s | %s | %s | %s → %s | %s | %s |", fl.n, fl.run, fl.rtSamples,
				b.Goroutines, m.Goroutines, mib(b.HeapLive), mib(m.HeapLive), mib(m.HeapGoal), mib(m.Heap),
				mib(b.Stacks), mib(m.Stacks), mib(m.Total), fmtKiB(fl.hwm))
		}
		p("")
		// The peak of each flood size: the highest over its runs.
		peak := map[int]int64{}
		var sizes []int
		for _, fl := range r.floods {
			if _, ok := peak[fl.n]; !ok {
				sizes = append(sizes, fl.n)
			}
			peak[fl.n] = max(peak[fl.n], fl.hwm)
		}
		slices.Sort(sizes)
		hashMiB := float64(argonMemoryKiB) / 1024
		for _, n := range sizes {
			var growth []string
			var rate float64
			runs := 0
			for _, fl := range r.floods {
				if fl.n == n {
					growth = append(growth, fmt.Sprintf("%.1f", float64(fl.hwm-fl.rssBefore)/argonMemoryKiB))
					rate += fl.logins.rate()
					runs++
				}
			}
			p("- Flood of %d: peak RSS %s; peak − RSS before = %s × one hash's %.0f MiB (%d hash slots); logins/s during the flood = %.2f of the hashing bound.",
				n, fmtKiB(peak[n]), strings.Join(growth, ", "), hashMiB, m.gomaxprocs, rate/float64(runs)/h.bound)
		}
		if len(sizes) > 1 {
			lo, hi := sizes[0], sizes[len(sizes)-1]
			growth := peak[hi] - peak[lo]
			p("- **Goal: peak RSS set by the hashing bound, not by the attackers.** Peak RSS with %d attackers − with %d (highest of %d runs each) = **%s** (goal: less than one hash's %.0f MiB): %s.",
				hi, lo, o.floodRuns, fmtSignedKiB(growth), hashMiB, verdict(growth < goalRSSGrowthKiB, 0))
			p("- Per attacker above %d: %.0f KiB (a hash buffer is %.0f KiB; what each connection costs net/http, its in-flight request and the heap's GC headroom over them, is of this order).",
				lo, float64(growth)/float64(hi-lo), float64(argonMemoryKiB))
			rt := map[int]runtimeFigures{}
			for _, fl := range r.floods {
				rt[fl.n] = rt[fl.n].max(fl.rtMax)
			}
			if a, b := rt[lo], rt[hi]; a.Goroutines > 0 && b.Goroutines > 0 {
				per := func(x, y uint64) float64 { return (float64(y) - float64(x)) / 1024 / float64(hi-lo) }
				p("- Of which live, by the Go runtime's figures (highest of the runs, %d against %d attackers): %.1f KiB of heap and %.1f KiB of goroutine stacks per attacker (%.1f goroutines each); the GC goal, which counts both, is twice that.",
					hi, lo, per(a.HeapLive, b.HeapLive), per(a.Stacks, b.Stacks), (float64(b.Goroutines)-float64(a.Goroutines))/float64(hi-lo))
			}
		} else {
			p("- Goal on peak RSS against the number of attackers: not measured (one flood size; give -floods two).")
		}
		p("")
	}

	if probs := r.problems(); len(probs) > 0 {
		p("### Errors and problems")
		p("")
		for _, s := range probs {
			p("- %s", s)
		}
		p("")
	}
}

// problems lists every error seen: unexpected answers, a server that did
// not exit cleanly.
func (r *report) problems() []string {
	var out []string
	add := func(where string, res *result) {
		if res != nil && res.errors() > 0 {
			out = append(out, fmt.Sprintf("%s: %s", where, res.errSummary()))
		}
	}
	for _, st := range r.stores {
		add(st.db+" GET /users/me", st.me)
		add(st.db+" GET /loadtest/bare", st.bare)
		add(st.db+" POST /token", st.login)
		if st.serverStopEr != nil {
			out = append(out, fmt.Sprintf("%s server: %v", st.db, st.serverStopEr))
		}
	}
	for _, fl := range r.floods {
		where := fmt.Sprintf("flood of %d, run %d", fl.n, fl.run)
		add(where+": GET /users/me before", fl.baseline)
		add(where+": GET /users/me during", fl.probe)
		add(where+": POST /token", fl.logins)
		if fl.serverStopE != nil {
			out = append(out, fmt.Sprintf("%s: server: %v", where, fl.serverStopE))
		}
	}
	return out
}

func (r *report) allPeaksReset() bool {
	for _, fl := range r.floods {
		if !fl.peakReset {
			return false
		}
	}
	return true
}

func row(res *result, db, goal, verdict string) string {
	perReq := "–"
	if res.ok > 0 {
		perReq = fmtDur(res.serverCPU / time.Duration(res.ok))
	}
	return fmt.Sprintf("| %s | %s | %d | %s | %s | %s | %d | %s | %s | %s | %s | %s |",
		res.name, db, res.conns, fmtRate(res.rate()), fmtDur(res.pct(0.5)), fmtDur(res.pct(0.99)), res.errors(),
		perReq, cores(res.clientCPU, res.window), cores(res.otherCPU, res.window), goal, verdict)
}

// verdict is PASS or MISS; a figure obtained with errors never passes.
func verdict(met bool, errors int) string {
	switch {
	case errors > 0:
		return "**MISS** (errors)"
	case met:
		return "PASS"
	default:
		return "**MISS**"
	}
}

// cores is CPU time d over the window w, in cores.
func cores(d, w time.Duration) string {
	return fmt.Sprintf("%.2f cores", d.Seconds()/w.Seconds())
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no: peaks include the start-up and set-up"
}

func fmtRate(r float64) string {
	if r >= 1000 {
		n := int64(math.Round(r))
		s := fmt.Sprint(n)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	}
	return fmt.Sprintf("%.1f", r)
}

func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
}

func fmtKiB(k int64) string { return fmt.Sprintf("%.1f MiB", float64(k)/1024) }

func fmtSignedKiB(k int64) string {
	if k >= 0 {
		return "+" + fmtKiB(k)
	}
	return "−" + fmtKiB(-k)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
