package main

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"
)

// The server's argon2id parameters: the zero auth.Argon2id, which is what
// auth.New uses by default and the example server does not change
// (OWASP's minimum: m=19 MiB, t=2, p=1, 32-byte key).
const (
	argonMemoryKiB = 19 * 1024
	argonTime      = 2
	argonThreads   = 1
	argonKeyLen    = 32
)

// hashCost is the measured cost of one argon2id hash at the server's
// parameters.
type hashCost struct {
	iters      int
	cpuPerHash time.Duration // CPU time of one hash: the median of iters, one at a time
	cpuMin     time.Duration
	cpuMax     time.Duration
	wallHash   time.Duration // wall time of one hash, median
	procs      int           // GOMAXPROCS: the server's cores and hash slots
	bound      float64       // procs ÷ cpuPerHash: hashes (logins) per second

	parallel        float64       // hashes/s measured with procs goroutines hashing at once
	parallelTime    time.Duration // how long that ran
	parallelCPUHash time.Duration // CPU time per hash then
}

func hashOnce(password, salt []byte) {
	_ = argon2.IDKey(password, salt, argonTime, argonMemoryKiB, argonThreads, argonKeyLen)
}

// measureHash times iters sequential hashes in this process (after two
// unmeasured ones), each on its own: the process's CPU time (getrusage,
// user + system: x/crypto/argon2 hashes on goroutines of its own, so the
// thread's time would miss it) and wall time; the median resists the
// outliers a shared machine causes. Then procs goroutines hash at once for
// parallel, for context.
func measureHash(iters int, parallel time.Duration) hashCost {
	password := []byte("correct horse battery staple")
	salt := []byte("0123456789abcdef")
	hashOnce(password, salt)
	hashOnce(password, salt)
	cpus := make([]time.Duration, iters)
	walls := make([]time.Duration, iters)
	for i := range iters {
		c0, t0 := selfCPU(), time.Now()
		hashOnce(password, salt)
		cpus[i], walls[i] = selfCPU()-c0, time.Since(t0)
	}
	slices.Sort(cpus)
	slices.Sort(walls)
	h := hashCost{
		iters:      iters,
		cpuPerHash: median(cpus),
		cpuMin:     cpus[0],
		cpuMax:     cpus[iters-1],
		wallHash:   median(walls),
		procs:      runtime.GOMAXPROCS(0),
	}
	h.bound = float64(h.procs) / h.cpuPerHash.Seconds()

	if parallel > 0 {
		var n atomic.Int64
		var wg sync.WaitGroup
		c0, t0 := selfCPU(), time.Now()
		deadline := t0.Add(parallel)
		for range h.procs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					hashOnce(password, salt)
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		h.parallelTime = time.Since(t0)
		h.parallel = float64(n.Load()) / h.parallelTime.Seconds()
		h.parallelCPUHash = (selfCPU() - c0) / time.Duration(max(1, n.Load()))
	}
	runtime.GC()
	return h
}

// median of sorted durations.
func median(sorted []time.Duration) time.Duration {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
