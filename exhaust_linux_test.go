//go:build linux

package fdstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
	"github.com/fdstream/fdstream/internal/fdtest"
	"github.com/fdstream/fdstream/reactor"
)

const exhaustHelper = "TestFdExhaustionHelperProcess"

// exhaustReport is one line the child reports, as JSON after "exhaust ".
type exhaustReport struct {
	Part    string `json:"part"` // "streams", "reactor", "done"
	Reactor string `json:"reactor,omitempty"`
	Kind    string `json:"kind,omitempty"`
	Free    int    `json:"free"` // descriptors left free before the first call

	// "streams": library calls that succeeded before one failed (or the
	// supply ran out, for NewStream of pre-made sockets).
	Made int `json:"made"`
	// The failed call's error, its chain (see errChain), whether it is
	// EMFILE, and a panic if there was one.
	Err    string   `json:"err,omitempty"`
	Chain  []string `json:"chain,omitempty"`
	EMFILE bool     `json:"emfile"`
	Panic  string   `json:"panic,omitempty"`
	// Descriptors the failed call left open (Leaked) or closed (Lost).
	Leaked []int `json:"leaked,omitempty"`
	Lost   []int `json:"lost,omitempty"`
	// Loops and registrations of the reactor right after the failure.
	Loops int `json:"loops"`
	Regs  int `json:"regs"`

	// "reactor": whether the call succeeded; whether the caller's fd (for
	// Register and NewStream) is open and blocking as it was; for
	// NewStream, what a read that had to wait for the loop returned.
	OK         bool   `json:"ok"`
	FdBlocking bool   `json:"fdblocking"`
	Readback   string `json:"readback,omitempty"`

	// Once everything was closed: close errors, descriptors that differ
	// from before the scenario, loops and registrations left.
	CloseErrs  []string `json:"closeerrs,omitempty"`
	Leftover   []int    `json:"leftover,omitempty"`
	LoopsAfter int      `json:"loopsafter"`
	RegsAfter  int      `json:"regsafter"`

	// "done": goleak's verdict, and descriptors that differ from when the
	// child started.
	Goroutines string `json:"goroutines,omitempty"`
}

// errChain describes err and what it wraps, outermost first:
// "PathError op=pipe path=|0", "SyscallError syscall=epoll_create1",
// "Errno EMFILE".
func errChain(err error) []string {
	var chain []string
	for ; err != nil; err = errors.Unwrap(err) {
		switch e := err.(type) {
		case *os.PathError:
			chain = append(chain, fmt.Sprintf("PathError op=%s path=%s", e.Op, e.Path))
		case *os.SyscallError:
			chain = append(chain, "SyscallError syscall="+e.Syscall)
		case syscall.Errno:
			chain = append(chain, "Errno "+unix.ErrnoName(e))
		default:
			chain = append(chain, fmt.Sprintf("%T", err))
		}
	}
	return chain
}

// fdSet reports which descriptors below limit are open, without opening
// one (it must work with none free).
func fdSet(limit int) []int {
	var fds []int
	for fd := 0; fd < limit; fd++ {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
			fds = append(fds, fd)
		}
	}
	return fds
}

// fdDiff returns the descriptors in b and not in a.
func fdDiff(a, b []int) []int {
	var d []int
	for _, fd := range b {
		if !slices.Contains(a, fd) {
			d = append(d, fd)
		}
	}
	return d
}

// exhaustKind is one way of making Streams. setup runs with descriptors
// to spare and returns make, which makes one unit with one library call,
// and teardown.
type exhaustKind struct {
	name  string
	setup func(opt fdstream.Option) (make func() ([]io.Closer, error), teardown func(), err error)
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func streams(ss ...*fdstream.Stream) []io.Closer {
	cs := make([]io.Closer, len(ss))
	for i, s := range ss {
		cs[i] = s
	}
	return cs
}

// exhaustSockets is how many fds NewStream is offered per scenario.
const exhaustSockets = 8

func exhaustKinds(dir string, ptsPath string, pipeSrc, sockSrc *os.File) []exhaustKind {
	fifo := filepath.Join(dir, "fifo")
	none := func() {}
	return []exhaustKind{
		{"Pipe", func(opt fdstream.Option) (func() ([]io.Closer, error), func(), error) {
			return func() ([]io.Closer, error) {
				r, w, err := fdstream.Pipe(opt)
				if err != nil {
					return nil, err
				}
				return streams(r, w), nil
			}, none, nil
		}},
		{"Open(FIFO)", func(opt fdstream.Option) (func() ([]io.Closer, error), func(), error) {
			if _, err := os.Stat(fifo); err != nil {
				if err := unix.Mkfifo(fifo, 0o600); err != nil {
					return nil, nil, err
				}
			}
			n := 0
			return func() ([]io.Closer, error) {
				flag := os.O_RDONLY // first a reader, so that writers can open
				if n%2 == 1 {
					flag = os.O_WRONLY
				}
				s, err := fdstream.Open(fifo, flag, opt)
				if err != nil {
					return nil, err
				}
				n++
				return streams(s), nil
			}, none, nil
		}},
		{"Open(/dev/null)", func(opt fdstream.Option) (func() ([]io.Closer, error), func(), error) {
			return func() ([]io.Closer, error) {
				s, err := fdstream.Open(os.DevNull, os.O_RDWR, opt)
				if err != nil {
					return nil, err
				}
				return streams(s), nil
			}, none, nil
		}},
		{"Open(pty slave)", func(opt fdstream.Option) (func() ([]io.Closer, error), func(), error) {
			return func() ([]io.Closer, error) {
				s, err := fdstream.Open(ptsPath, os.O_RDWR, opt)
				if err != nil {
					return nil, err
				}
				return streams(s), nil
			}, none, nil
		}},
		{"NewStream(socketpair)", func(opt fdstream.Option) (func() ([]io.Closer, error), func(), error) {
			// The sockets are the test's, made before the descriptors run
			// out; only NewStream itself can fail.
			var fds []int
			for len(fds) < exhaustSockets {
				sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					for _, fd := range fds {
						unix.Close(fd)
					}
					return nil, nil, err
				}
				fds = append(fds, sp[:]...)
			}
			next := 0
			return func() ([]io.Closer, error) {
					if next == len(fds) {
						return nil, nil // supply exhausted
					}
					s, err := fdstream.NewStream(fds[next], "sock"+strconv.Itoa(next), opt)
					if err != nil {
						return nil, err // fds[next] is still ours
					}
					next++
					return streams(s), nil
				}, func() {
					for _, fd := range fds[next:] {
						unix.Close(fd)
					}
				}, nil
		}},
		{"FromFile(pipe)", func(opt fdstream.Option) (func() ([]io.Closer, error), func(), error) {
			return func() ([]io.Closer, error) {
				s, err := fdstream.FromFile(pipeSrc, opt)
				if err != nil {
					return nil, err
				}
				return streams(s), nil
			}, none, nil
		}},
		{"FromFile(socket)", func(opt fdstream.Option) (func() ([]io.Closer, error), func(), error) {
			return func() ([]io.Closer, error) {
				s, err := fdstream.FromFile(sockSrc, opt)
				if err != nil {
					return nil, err
				}
				return streams(s), nil
			}, none, nil
		}},
		{"adapters.OpenPTY", func(opt fdstream.Option) (func() ([]io.Closer, error), func(), error) {
			return func() ([]io.Closer, error) {
				m, s, err := adapters.OpenPTY(opt)
				if err != nil {
					return nil, err
				}
				return streams(m, s), nil
			}, none, nil
		}},
	}
}

// fillFds takes every free descriptor below the limit but free of them,
// with dups of fd; release gives them back.
func fillFds(fd, free int) (release func(), err error) {
	var fillers []int
	release = func() {
		for _, f := range fillers {
			unix.Close(f)
		}
	}
	for {
		nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err == unix.EMFILE {
			break
		}
		if err != nil {
			release()
			return nil, err
		}
		fillers = append(fillers, nfd)
	}
	if free > len(fillers) {
		release()
		return nil, fmt.Errorf("only %d descriptors were free, want %d", len(fillers), free)
	}
	for _, f := range fillers[len(fillers)-free:] {
		unix.Close(f)
	}
	fillers = fillers[:len(fillers)-free]
	return release, nil
}

// guarded runs f, turning a panic into an error string.
func guarded(f func()) (panicked string) {
	defer func() {
		if p := recover(); p != nil {
			panicked = fmt.Sprint(p)
		}
	}()
	f()
	return ""
}

// TestFdExhaustionHelperProcess is the child of TestFdExhaustion: it lowers
// RLIMIT_NOFILE, runs out of descriptors in every way the library can, and
// reports each outcome as a line "exhaust {json}".
func TestFdExhaustionHelperProcess(t *testing.T) {
	fdtest.HelperMode(t, exhaustHelper, "TestFdExhaustion")
	emit := func(r exhaustReport) {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("exhaust %s\n", b)
	}
	dir := t.TempDir()
	devNull, err := unix.Open(os.DevNull, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(devNull)
	ptmx, ptsPath, err := fdtest.RawPTY(0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ptmx)
	pipeSrc, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeSrc.Close()
	defer pipeW.Close()
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	sockSrc := os.NewFile(uintptr(sp[0]), "sock")
	defer sockSrc.Close()
	defer unix.Close(sp[1])
	def, err := fdstream.DefaultReactor()
	if err != nil {
		t.Fatal(err)
	}
	type namedR struct {
		name string
		r    *reactor.Reactor
	}
	newR := func(name string, c reactor.Config) namedR {
		r, err := reactor.New(c)
		if err != nil {
			t.Fatal(err)
		}
		return namedR{name, r}
	}
	kinds := []namedR{
		{"default", def},
		newR("epoll-runtime", reactor.Config{Backend: reactor.Epoll, Park: reactor.ParkRuntime}),
		newR("epoll-thread", reactor.Config{Backend: reactor.Epoll, Park: reactor.ParkThread}),
		newR("select", reactor.Config{Backend: reactor.Select}),
	}

	// Lower the soft limit to a few dozen above the highest open fd.
	var maxFd int
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > maxFd {
			maxFd = fd
		}
	}
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	limit := maxFd + 1 + 48
	rl.Cur = uint64(limit)
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	base := fdSet(limit)
	baseG := goleak.IgnoreCurrent()

	// Part 1: make Streams of each kind, on each reactor, until a call
	// fails, starting from 0 to 6 free descriptors so that the failure
	// falls on every step of a constructor (its own open, the reactor
	// loop's descriptors, the second end).
	for _, nr := range kinds {
		opt := fdstream.WithReactor(nr.r)
		for _, k := range exhaustKinds(dir, ptsPath, pipeSrc, sockSrc) {
			for free := 0; free <= 6; free++ {
				rep := exhaustReport{Part: "streams", Reactor: nr.name, Kind: k.name, Free: free}
				start := fdSet(limit)
				unit, teardown, err := k.setup(opt)
				if err != nil {
					t.Fatalf("%s: setup: %v", k.name, err)
				}
				release, err := fillFds(devNull, free)
				if err != nil {
					t.Fatalf("%s/%s/%d: %v", nr.name, k.name, free, err)
				}
				var made []io.Closer
				for i := 0; i < 64; i++ {
					before := fdSet(limit)
					var cs []io.Closer
					var err error
					rep.Panic = guarded(func() { cs, err = unit() })
					if rep.Panic != "" {
						break
					}
					if err != nil {
						after := fdSet(limit)
						rep.Err, rep.Chain, rep.EMFILE = err.Error(), errChain(err), errors.Is(err, unix.EMFILE)
						rep.Leaked, rep.Lost = fdDiff(before, after), fdDiff(after, before)
						rep.Loops, rep.Regs = nr.r.Loops(), nr.r.Registrations()
						break
					}
					if cs == nil {
						break // the supply ran out
					}
					made = append(made, cs...)
					rep.Made++
				}
				for i := len(made) - 1; i >= 0; i-- {
					if err := made[i].Close(); err != nil {
						rep.CloseErrs = append(rep.CloseErrs, err.Error())
					}
				}
				release()
				teardown()
				end := fdSet(limit)
				rep.Leftover = append(fdDiff(start, end), fdDiff(end, start)...)
				rep.LoopsAfter, rep.RegsAfter = nr.r.Loops(), nr.r.Registrations()
				emit(rep)
			}
		}
	}

	// Part 2: a fresh one-shard reactor of each kind, whose first Register
	// must open the loop's descriptors, under each call that registers,
	// with 0, 1, 2... descriptors free until the call succeeds: the call's
	// own open fails first, then each of the loop's (epoll_create1,
	// eventfd, pipe2), clearly and leaving nothing behind, the caller's fd
	// open and blocking as it was; then the same reactor works.
	blocked := blockSignal(t)
	for _, c := range []struct {
		name string
		cfg  reactor.Config
	}{
		{"epoll-runtime", reactor.Config{Backend: reactor.Epoll, Park: reactor.ParkRuntime, Shards: 1}},
		{"epoll-thread", reactor.Config{Backend: reactor.Epoll, Park: reactor.ParkThread, Shards: 1}},
		{"select", reactor.Config{Backend: reactor.Select, Shards: 1}},
	} {
		for _, call := range []string{"Register", "NewStream", "Open(pty slave)", "FromFile(pipe)", "Pipe", "adapters.OpenPTY"} {
			r, err := reactor.New(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			opt := fdstream.WithReactor(r)
			for free := 0; free <= 8; free++ {
				rep := exhaustReport{Part: "reactor", Reactor: c.name, Kind: call, Free: free}
				start := fdSet(limit)
				var p [2]int // the caller's fd for Register and NewStream: blocking
				if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
					t.Fatal(err)
				}
				release, err := fillFds(devNull, free)
				if err != nil {
					t.Fatalf("%s/%s/%d: %v", c.name, call, free, err)
				}
				var made []io.Closer
				var s *fdstream.Stream
				before := fdSet(limit)
				rep.Panic = guarded(func() {
					var ss []*fdstream.Stream
					switch call {
					case "Register":
						var reg *reactor.Registration
						if reg, err = r.Register(p[0]); err == nil {
							made = append(made, closerFunc(reg.Deregister))
						}
					case "NewStream":
						if s, err = fdstream.NewStream(p[0], "pipe-r", opt); err == nil {
							ss = append(ss, s)
						}
					case "Open(pty slave)":
						var st *fdstream.Stream
						if st, err = fdstream.Open(ptsPath, os.O_RDWR, opt); err == nil {
							ss = append(ss, st)
						}
					case "FromFile(pipe)":
						var st *fdstream.Stream
						if st, err = fdstream.FromFile(pipeSrc, opt); err == nil {
							ss = append(ss, st)
						}
					case "Pipe":
						var pr, pw *fdstream.Stream
						if pr, pw, err = fdstream.Pipe(opt); err == nil {
							ss = append(ss, pr, pw)
						}
					case "adapters.OpenPTY":
						var m, sl *fdstream.Stream
						if m, sl, err = adapters.OpenPTY(opt); err == nil {
							ss = append(ss, m, sl)
						}
					}
					made = append(made, streams(ss...)...)
				})
				after := fdSet(limit)
				if err != nil {
					rep.Err, rep.Chain, rep.EMFILE = err.Error(), errChain(err), errors.Is(err, unix.EMFILE)
					rep.Leaked, rep.Lost = fdDiff(before, after), fdDiff(after, before)
				} else if rep.Panic == "" {
					rep.OK = true
				}
				rep.Loops, rep.Regs = r.Loops(), r.Registrations()
				if fl, err := unix.FcntlInt(uintptr(p[0]), unix.F_GETFL, 0); err == nil {
					rep.FdBlocking = fl&unix.O_NONBLOCK == 0
				}
				if s != nil {
					// A read that has to wait for the loop, and a write
					// once it is blocked: the loop delivers readiness.
					for len(blocked) > 0 {
						<-blocked
					}
					ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
					done := make(chan string, 1)
					go func() {
						buf := make([]byte, 8)
						n, err := s.ReadContext(ctx, buf)
						done <- fmt.Sprintf("%q %v", buf[:n], err)
					}()
					select {
					case <-blocked:
						unix.Write(p[1], []byte("x"))
						rep.Readback = <-done
					case rep.Readback = <-done:
					case <-time.After(fdtest.Hang):
						rep.Readback = "the read never blocked"
					}
					cancel()
				}
				for i := len(made) - 1; i >= 0; i-- {
					if err := made[i].Close(); err != nil {
						rep.CloseErrs = append(rep.CloseErrs, err.Error())
					}
				}
				release()
				if s == nil {
					unix.Close(p[0]) // not adopted: still the caller's
				}
				unix.Close(p[1])
				end := fdSet(limit)
				rep.Leftover = append(fdDiff(start, end), fdDiff(end, start)...)
				rep.LoopsAfter, rep.RegsAfter = r.Loops(), r.Registrations()
				emit(rep)
				if rep.OK || rep.Panic != "" {
					break
				}
			}
		}
	}
	done := exhaustReport{Part: "done"}
	if err := goleak.Find(baseG); err != nil {
		done.Goroutines = err.Error()
	}
	end := fdSet(limit)
	done.Leftover = append(fdDiff(base, end), fdDiff(end, base)...)
	emit(done)
}

// Running out of descriptors (EMFILE) is an error, never a panic or a
// leak. A child process lowers RLIMIT_NOFILE and, on the default reactor
// and on each reactor kind, makes Streams of every kind (Pipe, Open of a
// FIFO, /dev/null and a pty slave, NewStream of sockets, FromFile of a
// pipe and of a socket, adapters.OpenPTY) until a call fails, starting
// from 0 to 6 free descriptors so that the failure falls on every step of
// each constructor. Each failure wraps EMFILE in an *os.PathError whose Op
// is the call, naming the syscall (an *os.SyscallError) when the reactor's
// own setup failed; the failed call leaves no descriptor behind and closes
// none it does not own; closing what was made gives every descriptor back
// and stops every loop. Then, on a fresh one-shard reactor of each kind,
// too few descriptors for its loop (epoll_create1, eventfd, the wake
// pipe2) make Register and NewStream fail clearly with no loop left, the
// caller's fd open and blocking; with enough, the same reactor registers
// and its loop delivers readiness. At the end the child has no extra
// goroutine (goleak) and no extra descriptor.
func TestFdExhaustion(t *testing.T) {
	cmd, stderr := fdtest.HelperCommand(t, exhaustHelper, "")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr)
	}
	var reps []exhaustReport
	for _, l := range helperLines(out, "exhaust ") {
		var r exhaustReport
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("child line %q: %v", l, err)
		}
		reps = append(reps, r)
	}
	if len(reps) == 0 || reps[len(reps)-1].Part != "done" {
		t.Fatalf("the child did not finish:\n%s", out)
	}

	setupSyscalls := []string{"epoll_create1", "eventfd", "pipe2"}
	// wrapped checks one failed call's error: EMFILE, in a *os.PathError
	// whose Op is one of ops; a bare errno only from a call's own open
	// (bare says which), anything else naming the syscall that failed.
	wrapped := func(what, errStr string, chain []string, emfile bool, ops []string, bare func(op, path string) bool) (syscall string) {
		t.Helper()
		if !emfile {
			t.Errorf("%s: error %q (%v) does not wrap EMFILE", what, errStr, chain)
			return ""
		}
		var op, path string
		if len(chain) == 0 || !strings.HasPrefix(chain[0], "PathError ") {
			t.Errorf("%s: error %q (%v) is not an *os.PathError", what, errStr, chain)
			return ""
		}
		fmt.Sscanf(chain[0], "PathError op=%s path=%s", &op, &path)
		if !slices.Contains(ops, op) || path == "" {
			t.Errorf("%s: error %q (%v): want Op one of %v and a Path", what, errStr, chain, ops)
		}
		for _, c := range chain {
			if s, ok := strings.CutPrefix(c, "SyscallError syscall="); ok {
				if !slices.Contains(setupSyscalls, s) {
					t.Errorf("%s: error %q names syscall %q, want one of %v", what, errStr, s, setupSyscalls)
				}
				return s
			}
		}
		if len(chain) != 2 || !bare(op, path) {
			t.Errorf("%s: error %q (%v) does not name the syscall that failed", what, errStr, chain)
		}
		return ""
	}
	ownOpen := func(op, path string) bool { return op == "open" || op == "fromfile" || (op == "pipe" && path == "|") }
	ops := map[string][]string{
		"Pipe":                  {"pipe"},
		"Open(FIFO)":            {"open"},
		"Open(/dev/null)":       {"open"},
		"Open(pty slave)":       {"open"},
		"NewStream(socketpair)": {"newstream"},
		"FromFile(pipe)":        {"fromfile"},
		"FromFile(socket)":      {"fromfile"},
		"adapters.OpenPTY":      {"open", "newstream"},
	}
	seen := map[string]map[string]bool{} // reactor -> setup syscalls seen failing
	streamLines, reactorLines := 0, map[string]int{}
	madeSome := map[string]bool{} // reactor+kind: some scenario made Streams before one failed
	for _, r := range reps {
		what := fmt.Sprintf("%s on %s reactor, %d free", r.Kind, r.Reactor, r.Free)
		if r.Part == "reactor" {
			what = fmt.Sprintf("fresh %s reactor, %d free", r.Reactor, r.Free)
		}
		if r.Panic != "" {
			t.Errorf("%s: panic: %s", what, r.Panic)
		}
		if len(r.CloseErrs) > 0 {
			t.Errorf("%s: Close: %v", what, r.CloseErrs)
		}
		if len(r.Leftover) > 0 {
			t.Errorf("%s: once everything was closed, descriptors %v differ from before", what, r.Leftover)
		}
		if r.LoopsAfter != 0 || r.RegsAfter != 0 {
			t.Errorf("%s: once everything was closed, %d loops and %d registrations are left", what, r.LoopsAfter, r.RegsAfter)
		}
		switch r.Part {
		case "streams":
			streamLines++
			if r.Made > 0 {
				madeSome[r.Reactor+" "+r.Kind] = true
			}
			if r.Err == "" {
				if r.Kind != "NewStream(socketpair)" || r.Made != exhaustSockets {
					t.Errorf("%s: nothing failed after %d calls", what, r.Made)
				}
				continue
			}
			bare := ownOpen
			if r.Kind == "adapters.OpenPTY" {
				bare = func(op, path string) bool { return op == "open" }
			}
			if s := wrapped(what, r.Err, r.Chain, r.EMFILE, ops[r.Kind], bare); s != "" {
				if seen[r.Reactor] == nil {
					seen[r.Reactor] = map[string]bool{}
				}
				seen[r.Reactor][s] = true
			}
			if len(r.Leaked) > 0 || len(r.Lost) > 0 {
				t.Errorf("%s: the failed call (%s) left descriptors %v open and closed %v", what, r.Err, r.Leaked, r.Lost)
			}
		case "reactor":
			reactorLines[r.Reactor]++
			checkFreshReactor(t, what, r)
		case "done":
			if r.Goroutines != "" {
				t.Errorf("goroutines left in the child: %s", r.Goroutines)
			}
		}
	}
	if want := 4 * len(ops) * 7; streamLines != want {
		t.Errorf("the child reported %d Stream scenarios, want %d", streamLines, want)
	}
	for _, name := range []string{"default", "epoll-runtime", "epoll-thread", "select"} {
		for kind := range ops {
			if !madeSome[name+" "+kind] {
				t.Errorf("%s on %s reactor: no scenario made a Stream before running out", kind, name)
			}
		}
	}
	for name, needs := range freshNeeds {
		// For each call, one line per free count up to its success.
		want := 0
		for _, c := range freshCalls {
			want += c.own + len(needs) + c.after + 1
		}
		if reactorLines[name] != want {
			t.Errorf("the child reported %d attempts on a fresh %s reactor, want %d", reactorLines[name], name, want)
		}
	}
	for name, want := range map[string][]string{
		"epoll-runtime": {"epoll_create1"},
		"epoll-thread":  {"epoll_create1", "eventfd"},
		"select":        {"pipe2"},
	} {
		for _, s := range want {
			if !seen[name][s] {
				t.Errorf("%s reactor: no Stream scenario failed in %s (saw %v)", name, s, seen[name])
			}
		}
	}
}

// freshNeeds is, for each reactor kind, the syscalls that open a one-shard
// loop's descriptors, one per descriptor, in order.
var freshNeeds = map[string][]string{
	"epoll-runtime": {"epoll_create1"},
	"epoll-thread":  {"epoll_create1", "eventfd"},
	"select":        {"pipe2", "pipe2"},
}

// freshCalls are the calls the child makes on a fresh reactor: own is how
// many descriptors the call opens before it registers (failing bare, as
// "op ownPath"), after how many it opens once registered (failing bare,
// as "op afterPath"); a registration that cannot start the loop fails as
// "op regPath" wrapping the loop's syscall. A path ending in * is a prefix.
type freshCall struct {
	name                        string
	own, after                  int
	op                          string
	ownPath, regPath, afterPath string
}

var freshCalls = []freshCall{
	{name: "Register"},
	{name: "NewStream", op: "newstream", regPath: "pipe-r"},
	{name: "Open(pty slave)", own: 1, op: "open", ownPath: "/dev/pts/*", regPath: "/dev/pts/*"},
	{name: "FromFile(pipe)", own: 1, op: "fromfile", ownPath: "|0", regPath: "|0"},
	{name: "Pipe", own: 2, op: "pipe", ownPath: "|", regPath: "|0"},
	{name: "adapters.OpenPTY", own: 1, after: 1, op: "open", ownPath: "/dev/ptmx", regPath: "/dev/ptmx", afterPath: "/dev/pts/*"},
}

// checkFreshReactor checks one call on a fresh one-shard reactor with
// r.Free descriptors free: which error it must fail with, or that it
// succeeded and the loop works.
func checkFreshReactor(t *testing.T, what string, r exhaustReport) {
	t.Helper()
	needs := freshNeeds[r.Reactor]
	i := slices.IndexFunc(freshCalls, func(c freshCall) bool { return c.name == r.Kind })
	if needs == nil || i < 0 {
		t.Errorf("%s: unknown reactor or call", what)
		return
	}
	c := freshCalls[i]
	pathErr := func(path string) string { return "PathError op=" + c.op + " path=" + path }
	var want []string // the error chain; nil: success
	switch free := r.Free; {
	case free < c.own:
		want = []string{pathErr(c.ownPath), "Errno EMFILE"}
	case free < c.own+len(needs):
		want = []string{"SyscallError syscall=" + needs[free-c.own], "Errno EMFILE"}
		if c.op != "" {
			want = append([]string{pathErr(c.regPath)}, want...)
		}
	case free < c.own+len(needs)+c.after:
		want = []string{pathErr(c.afterPath), "Errno EMFILE"}
	}
	if want == nil {
		if !r.OK {
			t.Errorf("%s: want %s to succeed, got %q (%v)", what, c.name, r.Err, r.Chain)
			return
		}
		if r.Loops != 1 || r.Regs < 1 {
			t.Errorf("%s: %d loops, %d registrations after %s succeeded, want 1 loop", what, r.Loops, r.Regs, c.name)
		}
		if c.name == "NewStream" && r.Readback != `"x" <nil>` {
			t.Errorf("%s: a read woken by the loop returned %s, want \"x\" <nil>", what, r.Readback)
		}
		return
	}
	match := len(r.Chain) == len(want) && r.EMFILE
	for j := 0; match && j < len(want); j++ {
		if p, ok := strings.CutSuffix(want[j], "*"); ok {
			match = strings.HasPrefix(r.Chain[j], p)
		} else {
			match = r.Chain[j] == want[j]
		}
	}
	if r.OK || !match {
		t.Errorf("%s: %s: got %q (%v), want an error %v", what, c.name, r.Err, r.Chain, want)
	}
	if r.Loops != 0 || r.Regs != 0 {
		t.Errorf("%s: after %s failed, %d loops and %d registrations, want none", what, c.name, r.Loops, r.Regs)
	}
	if len(r.Leaked) > 0 || len(r.Lost) > 0 {
		t.Errorf("%s: the failed %s left descriptors %v open and closed %v", what, c.name, r.Leaked, r.Lost)
	}
	if !r.FdBlocking {
		t.Errorf("%s: after the failed %s the caller's fd is closed or left non-blocking", what, c.name)
	}
}
