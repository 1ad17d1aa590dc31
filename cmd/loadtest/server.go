package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// buildServer builds ./examples/server into dir and returns the binary's
// path. It runs go build from the workspace root, found with go env GOWORK.
func buildServer(ctx context.Context, dir string) (string, error) {
	// GOFLAGS cleared: a -json in it (CI lists skipped tests that way)
	// would turn these commands' output into events.
	env := append(os.Environ(), "GOFLAGS=")
	// The example server is a module of the workspace (go.work) at the
	// repository's root, as this command's is.
	goEnv := exec.CommandContext(ctx, "go", "env", "GOWORK")
	goEnv.Env = env
	out, err := goEnv.Output()
	if err != nil {
		return "", fmt.Errorf("go env GOWORK: %w", err)
	}
	gowork := strings.TrimSpace(string(out))
	if gowork == "" || gowork == "off" {
		return "", errors.New("not inside the repository's workspace (go.work): run from the repository, or pass -server-bin")
	}
	bin := filepath.Join(dir, "server")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./examples/server")
	cmd.Dir = filepath.Dir(gowork)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./examples/server: %w\n%s", err, out)
	}
	return bin, nil
}

// serverOptions says how to start one example server.
type serverOptions struct {
	bin     string
	dataDir string
	db      string // "memory" or "sqlite"
	bare    bool   // AUTH_LOADTEST_BARE=1
	args    []string
}

// server is a running example server, a child process.
type server struct {
	cmd  *exec.Cmd
	pid  int
	addr string // HOST:PORT it bound
	base string // http://HOST:PORT

	tail     *tailBuffer   // the end of its log, for error messages
	exited   chan struct{} // closed when the process has ended
	logDone  chan struct{} // closed when its log has been read to the end
	waitErr  error
	stopOnce sync.Once
	stopCode int
	stopErr  error
}

// serverEnv is the environment of the server: ours without any AUTH_*
// variable (so a setting in the caller's shell cannot change what is
// measured), plus AUTH_LOADTEST_BARE=1 when asked.
func serverEnv(bare bool) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AUTH_") {
			env = append(env, kv)
		}
	}
	if bare {
		env = append(env, "AUTH_LOADTEST_BARE=1")
	}
	return env
}

// startServer starts the server on 127.0.0.1:0 and waits for the log line
// naming the address it bound.
func startServer(ctx context.Context, o serverOptions) (*server, error) {
	args := append([]string{"-addr", "127.0.0.1:0", "-data", o.dataDir, "-db", o.db}, o.args...)
	cmd := exec.Command(o.bin, args...)
	cmd.Env = serverEnv(o.bare)
	// If this program dies without stopping the server, the kernel stops it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	// A pipe of our own rather than StderrPipe: Wait does not close it, so
	// the log is read to its end, last lines included.
	stderr, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		stderr.Close()
		return nil, fmt.Errorf("starting the server: %w", err)
	}
	s := &server{cmd: cmd, pid: cmd.Process.Pid, tail: &tailBuffer{max: 8 << 10},
		exited: make(chan struct{}), logDone: make(chan struct{})}

	addrc := make(chan string, 1)
	go func() {
		defer close(s.logDone)
		defer stderr.Close()
		// Until the address is known, read lines; then just drain the log
		// (one line per request) into the tail buffer, so the server never
		// blocks on a full pipe.
		r := bufio.NewReaderSize(stderr, 64<<10)
		for {
			line, err := r.ReadString('\n')
			s.tail.Write([]byte(line))
			if a, ok := listeningAddr(line); ok {
				addrc <- a
				break
			}
			if err != nil {
				close(addrc)
				return
			}
		}
		_, _ = io.Copy(s.tail, r)
	}()
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()

	timer := time.NewTimer(60 * time.Second)
	defer timer.Stop()
	select {
	case a, ok := <-addrc:
		if ok {
			s.addr, s.base = a, "http://"+a
			return s, nil
		}
		<-s.exited
		return nil, fmt.Errorf("the server ended before listening (%v); its log:\n%s", s.waitErr, s.tail)
	case <-s.exited:
		<-s.logDone
		return nil, fmt.Errorf("the server ended before listening (%v); its log:\n%s", s.waitErr, s.tail)
	case <-timer.C:
		s.stop()
		return nil, fmt.Errorf("the server did not log its address within 60 s; its log:\n%s", s.tail)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// listeningAddr finds HOST:PORT in the line "... listening on http://HOST:PORT ...".
func listeningAddr(line string) (string, bool) {
	const marker = "listening on http://"
	i := strings.Index(line, marker)
	if i < 0 {
		return "", false
	}
	rest := line[i+len(marker):]
	if j := strings.IndexAny(rest, "\" \t\r\n"); j >= 0 {
		rest = rest[:j]
	}
	return rest, rest != ""
}

// stop sends SIGTERM and waits for the server to end (SIGKILL after 40 s,
// beyond its own 30 s shutdown deadline). It returns the exit code. Safe to
// call more than once.
func (s *server) stop() (int, error) {
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(40 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.exited
				s.stopErr = errors.New("the server did not stop within 40 s of SIGTERM: killed")
			}
		}
		select { // the last lines of the log
		case <-s.logDone:
		case <-time.After(2 * time.Second):
		}
		s.stopCode = s.cmd.ProcessState.ExitCode()
		if s.stopErr == nil && s.stopCode != 0 {
			s.stopErr = fmt.Errorf("the server exited with code %d; the end of its log:\n%s", s.stopCode, s.tail)
		}
	})
	return s.stopCode, s.stopErr
}

// memory returns the server's VmRSS and VmHWM (peak RSS) in KiB.
func (s *server) memory() (rss, hwm int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch k {
		case "VmRSS", "VmHWM":
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("/proc/%d/status %s: %q", s.pid, k, v)
			}
			if k == "VmRSS" {
				rss = n
			} else {
				hwm = n
			}
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("/proc/%d/status: no VmRSS or VmHWM", s.pid)
	}
	return rss, hwm, nil
}

// resetPeak resets the server's VmHWM to its current RSS (Linux ≥ 4.0,
// "echo 5 > /proc/PID/clear_refs"), so the next peak excludes start-up and
// set-up. It reports whether that worked.
func (s *server) resetPeak() bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.pid), []byte("5"), 0) == nil
}

// cpuTime returns the CPU time the server has used (user + system).
func (s *server) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted after its closing parenthesis (field 3 onwards).
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc/PID/stat")
	}
	// Clock ticks: USER_HZ, which is 100 on every Linux ABI Go supports.
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 2*t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.b
	if len(b) > t.max {
		b = b[len(b)-t.max:]
	}
	return string(b)
}
