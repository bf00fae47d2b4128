package reactor_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/reactor"
)

// pollerKind is one Poller configuration this platform has.
type pollerKind struct {
	name string
	cfg  reactor.Config
}

func pollerKinds(t *testing.T) []pollerKind {
	all := []pollerKind{
		{"epoll-runtime", reactor.Config{Backend: reactor.Epoll, Park: reactor.ParkRuntime}},
		{"epoll-thread", reactor.Config{Backend: reactor.Epoll, Park: reactor.ParkThread}},
		{"poll", reactor.Config{Backend: reactor.Poll}},
		{"select", reactor.Config{Backend: reactor.Select}},
	}
	var out []pollerKind
	for _, k := range all {
		p, err := reactor.NewPoller(k.cfg)
		if errors.Is(err, reactor.ErrUnsupported) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Close()
		out = append(out, k)
	}
	return out
}

func newPoller(t *testing.T, c reactor.Config) *reactor.Poller {
	t.Helper()
	p, err := reactor.NewPoller(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// harvest returns what p reports as ready now, without blocking: a
// Notify makes the Wait a non-blocking harvest (Wait's contract), so the
// test never sleeps to learn that nothing is ready.
func harvest(t *testing.T, p *reactor.Poller) []reactor.Event {
	t.Helper()
	if err := p.Notify(); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	evs := make([]reactor.Event, 64)
	n, err := p.Wait(context.Background(), evs)
	if err != nil {
		t.Fatalf("Wait after Notify = %d, %v", n, err)
	}
	return evs[:n]
}

// only asserts that evs is exactly want.
func only(t *testing.T, what string, evs []reactor.Event, want ...reactor.Event) {
	t.Helper()
	sort.Slice(evs, func(i, j int) bool { return evs[i].Key < evs[j].Key })
	if fmt.Sprint(evs) != fmt.Sprint(want) {
		t.Fatalf("%s: events %+v, want %+v", what, evs, want)
	}
}

// none asserts that nothing is ready.
func none(t *testing.T, what string, p *reactor.Poller) {
	t.Helper()
	only(t, what, harvest(t, p))
}

func mustWrite(t *testing.T, fd int, s string) {
	t.Helper()
	if _, err := unix.Write(fd, []byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// blockedWait starts a Wait in another goroutine and returns once that
// Wait is about to block (the Poller's test hook says so).
func blockedWait(t *testing.T, p *reactor.Poller, ctx context.Context) <-chan waitResult {
	t.Helper()
	blocked := make(chan struct{}, 1)
	reactor.SetTestHookWait(func(q *reactor.Poller) {
		if q == p {
			select {
			case blocked <- struct{}{}:
			default:
			}
		}
	})
	t.Cleanup(func() { reactor.SetTestHookWait(nil) })
	res := make(chan waitResult, 1)
	go func() {
		evs := make([]reactor.Event, 8)
		n, err := p.Wait(ctx, evs)
		res <- waitResult{evs[:n], err}
	}()
	select {
	case <-blocked:
	case r := <-res:
		t.Fatalf("Wait returned %+v, %v instead of blocking", r.evs, r.err)
	case <-time.After(hang):
		t.Fatal("Wait never blocked")
	}
	reactor.SetTestHookWait(nil)
	return res
}

type waitResult struct {
	evs []reactor.Event
	err error
}

func recv(t *testing.T, c <-chan waitResult) waitResult {
	t.Helper()
	select {
	case r := <-c:
		return r
	case <-time.After(hang):
		t.Fatal("Wait did not return")
		return waitResult{}
	}
}

// The conformance table: every case on every backend. A case a backend
// cannot do (Edge and EdgeOneshot on poll and select) checks that it is
// refused with ErrModeUnsupported, as the package documentation's table
// says.
func TestPollerConformance(t *testing.T) {
	cases := []struct {
		name string
		f    func(t *testing.T, p *reactor.Poller, k pollerKind)
	}{
		{"oneshot fires once until Modify", conformOneshot},
		{"level fires while readable", conformLevel},
		{"edge fires once per edge", conformEdge},
		{"edge-oneshot fires once until Modify", conformEdgeOneshot},
		{"priority is its own interest", conformPriorityInterest},
		{"Add and Delete while Wait is blocked", conformChangeWhileBlocked},
		{"Notify from another goroutine wakes Wait", conformNotify},
		{"ctx cancels Wait", conformCtx},
		{"Delete then fd reuse never delivers the old key", conformDeleteReuse},
		{"hang-up and error are reported", conformHangupError},
		{"10,000 fds", conformManyFds},
		{"no allocations", conformAllocs},
	}
	for _, k := range pollerKinds(t) {
		for _, c := range cases {
			t.Run(k.name+"/"+c.name, func(t *testing.T) {
				c.f(t, newPoller(t, k.cfg), k)
			})
		}
	}
}

func conformOneshot(t *testing.T, p *reactor.Poller, _ pollerKind) {
	r, w := pipe(t)
	if err := p.Add(r, 1, reactor.Readable, reactor.Oneshot); err != nil {
		t.Fatal(err)
	}
	none(t, "empty pipe", p)
	mustWrite(t, w, "x")
	only(t, "after a write", harvest(t, p), reactor.Event{Key: 1, Ready: reactor.Readable})
	none(t, "still readable, oneshot fired", p)
	mustWrite(t, w, "y")
	none(t, "another write, not re-armed", p)
	if err := p.Modify(r, 2, reactor.Readable, reactor.Oneshot); err != nil {
		t.Fatal(err)
	}
	// A blocking Wait, this time, gets the re-armed fd under its new key.
	evs := make([]reactor.Event, 4)
	n, err := p.Wait(context.Background(), evs)
	if err != nil {
		t.Fatal(err)
	}
	only(t, "after Modify", evs[:n], reactor.Event{Key: 2, Ready: reactor.Readable})
	none(t, "oneshot fired again", p)
}

func conformLevel(t *testing.T, p *reactor.Poller, _ pollerKind) {
	r, w := pipe(t)
	if err := p.Add(r, 7, reactor.Readable, reactor.Level); err != nil {
		t.Fatal(err)
	}
	none(t, "empty pipe", p)
	mustWrite(t, w, "x")
	for i := 0; i < 3; i++ {
		only(t, fmt.Sprintf("harvest %d while readable", i), harvest(t, p), reactor.Event{Key: 7, Ready: reactor.Readable})
	}
	drain(r)
	none(t, "drained", p)
}

func conformEdge(t *testing.T, p *reactor.Poller, k pollerKind) {
	r, w := pipe(t)
	err := p.Add(r, 3, reactor.Readable, reactor.Edge)
	if !p.Supports(reactor.Edge) {
		if !errors.Is(err, reactor.ErrModeUnsupported) || !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("%s: Add(Edge) = %v, want ErrModeUnsupported", k.name, err)
		}
		if err := p.Add(r, 3, reactor.Readable, reactor.Level); err != nil {
			t.Fatalf("Add after a refused mode = %v: the refusal left something behind", err)
		}
		if err := p.Modify(r, 3, reactor.Readable, reactor.Edge); !errors.Is(err, reactor.ErrModeUnsupported) {
			t.Fatalf("%s: Modify(Edge) = %v, want ErrModeUnsupported", k.name, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	none(t, "empty pipe", p)
	for i := 0; i < 3; i++ {
		mustWrite(t, w, "x")
		only(t, fmt.Sprintf("edge %d", i), harvest(t, p), reactor.Event{Key: 3, Ready: reactor.Readable})
		none(t, fmt.Sprintf("no new edge after edge %d (data still unread)", i), p)
	}
}

func conformEdgeOneshot(t *testing.T, p *reactor.Poller, k pollerKind) {
	r, w := pipe(t)
	err := p.Add(r, 4, reactor.Readable, reactor.EdgeOneshot)
	if !p.Supports(reactor.EdgeOneshot) {
		if !errors.Is(err, reactor.ErrModeUnsupported) {
			t.Fatalf("%s: Add(EdgeOneshot) = %v, want ErrModeUnsupported", k.name, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "x")
	only(t, "first edge", harvest(t, p), reactor.Event{Key: 4, Ready: reactor.Readable})
	mustWrite(t, w, "y")
	none(t, "second edge, not re-armed", p)
	if err := p.Modify(r, 5, reactor.Readable, reactor.EdgeOneshot); err != nil {
		t.Fatal(err)
	}
	only(t, "re-armed while readable", harvest(t, p), reactor.Event{Key: 5, Ready: reactor.Readable})
	mustWrite(t, w, "z")
	none(t, "fired again", p)
}

// Priority is a separate interest: an fd readable but without an
// exceptional condition is not reported for it, and an fd with both
// interests reports only what is true. (A Priority event itself needs a
// file whose poll reports one: TestPollerPriorityMounts.)
func conformPriorityInterest(t *testing.T, p *reactor.Poller, _ pollerKind) {
	r, w := pipe(t)
	if err := p.Add(r, 1, reactor.Priority, reactor.Level); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "x")
	none(t, "readable pipe, Priority interest", p)
	if err := p.Modify(r, 1, reactor.Readable|reactor.Priority, reactor.Level); err != nil {
		t.Fatal(err)
	}
	only(t, "readable pipe, Readable|Priority interest", harvest(t, p), reactor.Event{Key: 1, Ready: reactor.Readable})
}

// The table changes under a blocked Wait, which then reports what was
// added and stops reporting what was deleted. Adding a Priority entry
// moves an epoll Poller parked on the runtime poller to its Priority set
// and a thread, and deleting it moves it back: both while blocked.
func conformChangeWhileBlocked(t *testing.T, p *reactor.Poller, _ pollerKind) {
	ra, wa := pipe(t)
	rb, wb := pipe(t)
	if err := p.Add(ra, 1, reactor.Readable, reactor.Level); err != nil {
		t.Fatal(err)
	}
	res := blockedWait(t, p, context.Background())
	if err := p.Add(rb, 2, reactor.Readable|reactor.Priority, reactor.Level); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, wb, "b")
	if got := recv(t, res); got.err != nil || fmt.Sprint(got.evs) != fmt.Sprint([]reactor.Event{{Key: 2, Ready: reactor.Readable}}) {
		t.Fatalf("Wait blocked across an Add = %+v, %v; want key 2 readable", got.evs, got.err)
	}
	drain(rb)
	res = blockedWait(t, p, context.Background())
	mustWrite(t, wa, "a")
	if got := recv(t, res); got.err != nil || fmt.Sprint(got.evs) != fmt.Sprint([]reactor.Event{{Key: 1, Ready: reactor.Readable}}) {
		t.Fatalf("Wait with a Priority entry, the other fd written = %+v, %v; want key 1 readable", got.evs, got.err)
	}
	mustWrite(t, wb, "b")
	only(t, "both readable", harvest(t, p), reactor.Event{Key: 1, Ready: reactor.Readable}, reactor.Event{Key: 2, Ready: reactor.Readable})
	drain(ra)
	drain(rb)
	res = blockedWait(t, p, context.Background())
	if err := p.Delete(rb); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, wb, "b") // deleted: not reported
	mustWrite(t, wa, "a")
	if got := recv(t, res); got.err != nil || fmt.Sprint(got.evs) != fmt.Sprint([]reactor.Event{{Key: 1, Ready: reactor.Readable}}) {
		t.Fatalf("Wait blocked across a Delete = %+v, %v; want key 1 only", got.evs, got.err)
	}
}

func conformNotify(t *testing.T, p *reactor.Poller, _ pollerKind) {
	r, _ := pipe(t)
	if err := p.Add(r, 1, reactor.Readable, reactor.Level); err != nil {
		t.Fatal(err)
	}
	res := blockedWait(t, p, context.Background())
	if err := p.Notify(); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, res); len(got.evs) != 0 || got.err != nil {
		t.Fatalf("notified Wait = %+v, %v; want 0, nil", got.evs, got.err)
	}
	// Notifies before a Wait: the next Wait returns at once, and they
	// are answered together: the Wait after that blocks again.
	for i := 0; i < 3; i++ {
		p.Notify()
	}
	evs := make([]reactor.Event, 4)
	if n, err := p.Wait(context.Background(), evs); n != 0 || err != nil {
		t.Fatalf("Wait after Notify = %d, %v; want 0, nil", n, err)
	}
	res = blockedWait(t, p, context.Background())
	p.Notify()
	if got := recv(t, res); len(got.evs) != 0 || got.err != nil {
		t.Fatalf("second notified Wait = %+v, %v", got.evs, got.err)
	}
}

func conformCtx(t *testing.T, p *reactor.Poller, _ pollerKind) {
	r, w := pipe(t)
	if err := p.Add(r, 1, reactor.Readable, reactor.Level); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	res := blockedWait(t, p, ctx)
	cancel()
	if got := recv(t, res); len(got.evs) != 0 || got.err != context.Canceled {
		t.Fatalf("cancelled Wait = %+v, %v; want 0, context.Canceled", got.evs, got.err)
	}
	tctx, tcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer tcancel()
	res = blockedWait(t, p, tctx)
	if got := recv(t, res); len(got.evs) != 0 || got.err != context.DeadlineExceeded {
		t.Fatalf("timed-out Wait = %+v, %v; want 0, context.DeadlineExceeded", got.evs, got.err)
	}
	// A done ctx makes Wait a non-blocking harvest: what is ready is
	// returned (never dropped), and with nothing ready, ctx.Err().
	evs := make([]reactor.Event, 4)
	if n, err := p.Wait(ctx, evs); n != 0 || err != context.Canceled {
		t.Fatalf("Wait with a done ctx, nothing ready = %d, %v", n, err)
	}
	mustWrite(t, w, "x")
	n, err := p.Wait(ctx, evs)
	if err != nil {
		t.Fatalf("Wait with a done ctx, fd ready = %d, %v; want the event", n, err)
	}
	only(t, "done ctx, fd ready", evs[:n], reactor.Event{Key: 1, Ready: reactor.Readable})
}

func conformDeleteReuse(t *testing.T, p *reactor.Poller, _ pollerKind) {
	for round := 0; round < 20; round++ {
		fds, err := rawPipe()
		if err != nil {
			t.Fatal(err)
		}
		old := fds[0]
		if err := p.Add(old, 100, reactor.Readable, reactor.Level); err != nil {
			t.Fatal(err)
		}
		// The fd is ready: the kernel has queued (epoll) or will report
		// (poll, select) an event for key 100.
		mustWrite(t, fds[1], "x")
		if err := p.Delete(old); err != nil {
			t.Fatal(err)
		}
		unix.Close(fds[0])
		unix.Close(fds[1])
		// A new, empty pipe takes the old number.
		nfds, err := rawPipe()
		if err != nil {
			t.Fatal(err)
		}
		if nfds[0] != old {
			if err := unix.Dup2(nfds[0], old); err != nil {
				t.Fatal(err)
			}
			unix.CloseOnExec(old)
			unix.Close(nfds[0])
			nfds[0] = old
		}
		if err := p.Add(old, 200, reactor.Readable, reactor.Level); err != nil {
			t.Fatalf("Add of the reused number = %v", err)
		}
		none(t, "the reused number, empty", p)
		mustWrite(t, nfds[1], "y")
		only(t, "the reused number, readable", harvest(t, p), reactor.Event{Key: 200, Ready: reactor.Readable})
		if err := p.Delete(old); err != nil {
			t.Fatal(err)
		}
		unix.Close(nfds[0])
		unix.Close(nfds[1])
	}
}

func conformHangupError(t *testing.T, p *reactor.Poller, k pollerKind) {
	// Hang-up: the read end after the writer is gone.
	fds, err := rawPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	if err := p.Add(fds[0], 1, reactor.Readable, reactor.Oneshot); err != nil {
		t.Fatal(err)
	}
	unix.Close(fds[1])
	want := reactor.Event{Key: 1, Ready: reactor.Readable, HangUp: true}
	if k.cfg.Backend == reactor.Select {
		want.HangUp = false // select reports a hang-up as readiness only
	}
	only(t, "writer gone", harvest(t, p), want)

	// Error: the write end after the reader is gone.
	fds2, err := rawPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds2[1])
	if err := p.Add(fds2[1], 2, reactor.Writable, reactor.Oneshot); err != nil {
		t.Fatal(err)
	}
	only(t, "empty pipe's writer", harvest(t, p), reactor.Event{Key: 2, Ready: reactor.Writable})
	unix.Close(fds2[0])
	if err := p.Modify(fds2[1], 2, reactor.Writable, reactor.Oneshot); err != nil {
		t.Fatal(err)
	}
	want = reactor.Event{Key: 2, Ready: reactor.Writable, Err: true}
	if k.cfg.Backend == reactor.Select {
		want.Err = false
	}
	only(t, "reader gone", harvest(t, p), want)

	if k.cfg.Backend == reactor.Epoll {
		return // epoll drops a closed fd silently (a documented limit)
	}
	// An fd closed while added, on a level backend: reported once with
	// Err, then not again (no spinning), even in Level mode.
	fds3, err := rawPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds3[1])
	victim, err := unix.FcntlInt(uintptr(fds3[0]), unix.F_DUPFD_CLOEXEC, 900)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fds3[0])
	if err := p.Add(victim, 3, reactor.Readable, reactor.Level); err != nil {
		t.Fatal(err)
	}
	unix.Close(victim)
	only(t, "fd closed while added", harvest(t, p), reactor.Event{Key: 3, Ready: reactor.Readable, Err: true})
	none(t, "fd closed while added, again", p)
	if err := p.Delete(victim); err != nil {
		t.Fatalf("Delete of an fd closed while added = %v", err)
	}
}

func conformManyFds(t *testing.T, p *reactor.Poller, k pollerKind) {
	if k.cfg.Backend == reactor.Select {
		fds, err := rawPipe()
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fds[0])
		defer unix.Close(fds[1])
		big, err := unix.FcntlInt(uintptr(fds[0]), unix.F_DUPFD_CLOEXEC, 1024)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(big)
		if err := p.Add(big, 1, reactor.Readable, reactor.Level); !errors.Is(err, reactor.ErrFDSetSize) {
			t.Fatalf("select Add(fd %d) = %v, want ErrFDSetSize", big, err)
		}
		if err := p.Delete(big); !errors.Is(err, unix.ENOENT) {
			t.Fatalf("Delete of the refused fd = %v, want ENOENT", err)
		}
		return
	}
	if k.name == "epoll-thread" && testing.Short() {
		t.Skip("-short: epoll-runtime covers epoll")
	}
	const pipes = 5000 // 10,000 fds, both ends added
	need := uint64(2*pipes + 500)
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if uint64(rl.Cur) < need {
		if uint64(rl.Max) < need {
			t.Skipf("RLIMIT_NOFILE hard limit %d is below the %d descriptors this test needs", rl.Max, need)
		}
		old := rl.Cur
		rl.Cur = rl.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rl.Cur = old; unix.Setrlimit(unix.RLIMIT_NOFILE, &rl) })
	}
	type pair struct{ r, w int }
	ps := make([]pair, 0, pipes)
	defer func() {
		for _, x := range ps {
			unix.Close(x.r)
			unix.Close(x.w)
		}
	}()
	maxFd := 0
	for i := 0; i < pipes; i++ {
		fds, err := rawPipe()
		if err != nil {
			t.Fatalf("pipe %d: %v", i, err)
		}
		ps = append(ps, pair{fds[0], fds[1]})
		if err := p.Add(fds[0], uint64(i), reactor.Readable, reactor.Oneshot); err != nil {
			t.Fatalf("Add(read end %d) = %v", fds[0], err)
		}
		if err := p.Add(fds[1], uint64(pipes+i), reactor.Writable, reactor.Oneshot); err != nil {
			t.Fatalf("Add(write end %d) = %v", fds[1], err)
		}
		maxFd = max(maxFd, fds[1])
	}
	if maxFd < 2*pipes {
		t.Fatalf("highest fd %d: the test did not reach high numbers", maxFd)
	}
	for _, x := range ps {
		mustWrite(t, x.w, "x")
	}
	seen := make([]bool, 2*pipes)
	left := 2 * pipes
	evs := make([]reactor.Event, 1024)
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	for left > 0 {
		n, err := p.Wait(ctx, evs)
		if err != nil {
			t.Fatalf("Wait with %d of %d keys still to come: %v", left, 2*pipes, err)
		}
		for _, ev := range evs[:n] {
			if ev.Key >= uint64(len(seen)) || seen[ev.Key] {
				t.Fatalf("event %+v: unknown key, or a oneshot fd reported twice", ev)
			}
			want := reactor.Readable
			if ev.Key >= pipes {
				want = reactor.Writable
			}
			if ev.Ready != want {
				t.Fatalf("event %+v: want Ready %v", ev, want)
			}
			seen[ev.Key] = true
			left--
		}
	}
	for _, x := range ps {
		if err := p.Delete(x.r); err != nil {
			t.Fatal(err)
		}
		if err := p.Delete(x.w); err != nil {
			t.Fatal(err)
		}
	}
}

func conformAllocs(t *testing.T, p *reactor.Poller, _ pollerKind) {
	r, w := pipe(t)
	r2, _ := pipe(t)
	if err := p.Add(r2, 2, reactor.Readable, reactor.Level); err != nil {
		t.Fatal(err) // the table holds more than the fd under test
	}
	add := testing.AllocsPerRun(200, func() {
		if err := p.Add(r, 1, reactor.Readable, reactor.Oneshot); err != nil {
			t.Fatal(err)
		}
		if err := p.Delete(r); err != nil {
			t.Fatal(err)
		}
	})
	if err := p.Add(r, 1, reactor.Readable, reactor.Oneshot); err != nil {
		t.Fatal(err)
	}
	modify := testing.AllocsPerRun(200, func() {
		if err := p.Modify(r, 1, reactor.Readable, reactor.Oneshot); err != nil {
			t.Fatal(err)
		}
	})
	evs := make([]reactor.Event, 16)
	var buf [1]byte
	cycle := func(ctx context.Context) func() {
		return func() {
			if _, err := unix.Write(w, buf[:]); err != nil {
				t.Fatal(err)
			}
			n, err := p.Wait(ctx, evs)
			if err != nil || n != 1 || evs[0].Key != 1 {
				t.Fatalf("Wait = %d %+v, %v", n, evs[:n], err)
			}
			if _, err := unix.Read(r, buf[:]); err != nil {
				t.Fatal(err)
			}
			if err := p.Modify(r, 1, reactor.Readable, reactor.Oneshot); err != nil {
				t.Fatal(err)
			}
		}
	}
	background := testing.AllocsPerRun(200, cycle(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sameCtx := testing.AllocsPerRun(200, cycle(ctx))
	for name, got := range map[string]float64{
		"Add+Delete": add, "Modify": modify,
		"Wait+Modify cycle (Background ctx)":          background,
		"Wait+Modify cycle (the previous Wait's ctx)": sameCtx,
	} {
		if got != 0 {
			t.Errorf("%s: %.2f allocations, want 0", name, got)
		}
	}
}

// Bad input: every misuse is a clear error, never a panic or a hang.
func TestPollerBadInput(t *testing.T) {
	for _, k := range pollerKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			p := newPoller(t, k.cfg)
			r, _ := pipe(t)
			closed, err := unix.FcntlInt(uintptr(r), unix.F_DUPFD_CLOEXEC, 700)
			if err != nil {
				t.Fatal(err)
			}
			unix.Close(closed)
			evs := make([]reactor.Event, 4)
			for _, c := range []struct {
				name string
				err  error
				want error
			}{
				{"Add(-1)", p.Add(-1, 0, reactor.Readable, reactor.Oneshot), unix.EBADF},
				{"Add(closed fd)", p.Add(closed, 0, reactor.Readable, reactor.Oneshot), unix.EBADF},
				{"Modify(-1)", p.Modify(-1, 0, reactor.Readable, reactor.Oneshot), unix.EBADF},
				{"Delete(-1)", p.Delete(-1), unix.EBADF},
				{"Modify(never added)", p.Modify(r, 0, reactor.Readable, reactor.Oneshot), unix.ENOENT},
				{"Delete(never added)", p.Delete(r), unix.ENOENT},
				{"Add(unknown mode)", p.Add(r, 0, reactor.Readable, reactor.Mode(9)), os.ErrInvalid},
				{"Add(unknown interest)", p.Add(r, 0, reactor.Interest(64), reactor.Oneshot), os.ErrInvalid},
				{"Wait(empty events)", second(p.Wait(context.Background(), nil)), reactor.ErrNoEvents},
				//lint:ignore SA1012 a nil ctx is the bad input under test
				{"Wait(nil ctx)", second(p.Wait(nil, evs)), reactor.ErrNilContext}, //nolint:staticcheck
			} {
				if !errors.Is(c.err, c.want) {
					t.Errorf("%s = %v, want an error wrapping %v", c.name, c.err, c.want)
				}
			}
			if err := p.Add(r, 1, reactor.Readable, reactor.Oneshot); err != nil {
				t.Fatal(err)
			}
			if err := p.Add(r, 2, reactor.Readable, reactor.Oneshot); !errors.Is(err, unix.EEXIST) {
				t.Errorf("Add of an fd twice = %v, want EEXIST", err)
			}
			if err := p.Modify(r, 1, reactor.Readable, reactor.Mode(9)); !errors.Is(err, os.ErrInvalid) {
				t.Errorf("Modify(unknown mode) = %v, want os.ErrInvalid", err)
			}
			if err := p.Close(); err != nil {
				t.Fatalf("Close = %v", err)
			}
			for _, c := range []struct {
				name string
				err  error
			}{
				{"Add", p.Add(r, 3, reactor.Readable, reactor.Oneshot)},
				{"Modify", p.Modify(r, 3, reactor.Readable, reactor.Oneshot)},
				{"Delete", p.Delete(r)},
				{"Wait", second(p.Wait(context.Background(), evs))},
				{"Notify", p.Notify()},
				{"second Close", p.Close()},
			} {
				if !errors.Is(c.err, os.ErrClosed) {
					t.Errorf("%s after Close = %v, want os.ErrClosed", c.name, c.err)
				}
			}
		})
	}
	for _, c := range []struct {
		name string
		cfg  reactor.Config
	}{
		{"Runtime", reactor.Config{Backend: reactor.Runtime}},
		{"unknown backend", reactor.Config{Backend: 99}},
		{"unknown park", reactor.Config{Park: 99}},
	} {
		if p, err := reactor.NewPoller(c.cfg); err == nil {
			p.Close()
			t.Errorf("NewPoller(%s) = nil error", c.name)
		}
	}
	for _, p := range []*reactor.Poller{nil, {}} {
		evs := make([]reactor.Event, 1)
		for name, err := range map[string]error{
			"Add":    p.Add(0, 0, reactor.Readable, reactor.Oneshot),
			"Modify": p.Modify(0, 0, reactor.Readable, reactor.Oneshot),
			"Delete": p.Delete(0),
			"Wait":   second(p.Wait(context.Background(), evs)),
			"Notify": p.Notify(),
			"Close":  p.Close(),
		} {
			if !errors.Is(err, os.ErrInvalid) {
				t.Errorf("%s on a Poller not made by NewPoller (%v) = %v, want os.ErrInvalid", name, p == nil, err)
			}
		}
	}
}

func second(_ int, err error) error { return err }

// Close while a Wait is blocked: the Wait returns os.ErrClosed, Close
// returns once it has, and the Poller's descriptors are gone.
func TestPollerCloseWakesWait(t *testing.T) {
	for _, k := range pollerKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			p, err := reactor.NewPoller(k.cfg)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := pipe(t)
			if err := p.Add(r, 1, reactor.Readable, reactor.Oneshot); err != nil {
				t.Fatal(err)
			}
			res := blockedWait(t, p, context.Background())
			if err := p.Close(); err != nil {
				t.Fatalf("Close = %v", err)
			}
			if got := recv(t, res); len(got.evs) != 0 || !errors.Is(got.err, os.ErrClosed) {
				t.Fatalf("Wait during Close = %+v, %v; want os.ErrClosed", got.evs, got.err)
			}
		})
	}
}

// Concurrency: one goroutine runs the event loop while others add fds,
// write to them, wait for their event and delete them, and another keeps
// calling Notify; fd numbers are reused all the time. Every fd's event
// arrives under its own key, and no Wait that began after a key's Delete
// returned ever reports that key.
func TestPollerConcurrentUse(t *testing.T) {
	for _, k := range pollerKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			p := newPoller(t, k.cfg)
			const owners, rounds = 6, 150
			var (
				mu       sync.Mutex
				waiting  = map[uint64]chan struct{}{} // key -> its owner
				deadAt   = map[uint64]uint64{}        // key -> deletes count once deleted
				deletes  atomic.Uint64
				failures = make(chan string, 16)
			)
			fail := func(format string, args ...any) {
				select {
				case failures <- fmt.Sprintf(format, args...):
				default:
				}
			}
			loopDone := make(chan struct{})
			go func() {
				defer close(loopDone)
				evs := make([]reactor.Event, 32)
				for {
					start := deletes.Load()
					n, err := p.Wait(context.Background(), evs)
					if errors.Is(err, os.ErrClosed) {
						return
					}
					if err != nil {
						fail("Wait: %v", err)
						return
					}
					mu.Lock()
					for _, ev := range evs[:n] {
						if d, ok := deadAt[ev.Key]; ok && d <= start {
							fail("key %d reported by a Wait that began after its Delete returned", ev.Key)
						}
						if c, ok := waiting[ev.Key]; ok {
							delete(waiting, ev.Key)
							close(c)
						}
					}
					mu.Unlock()
				}
			}()
			stopNotify := make(chan struct{})
			notifyDone := make(chan struct{})
			go func() {
				defer close(notifyDone)
				for {
					select {
					case <-stopNotify:
						return
					default:
					}
					p.Notify()
					time.Sleep(50 * time.Microsecond)
				}
			}()
			var wg sync.WaitGroup
			for o := 0; o < owners; o++ {
				wg.Add(1)
				go func(o int) {
					defer wg.Done()
					for i := 0; i < rounds; i++ {
						key := uint64(o*rounds + i)
						fds, err := rawPipe()
						if err != nil {
							fail("pipe: %v", err)
							return
						}
						c := make(chan struct{})
						mu.Lock()
						waiting[key] = c
						mu.Unlock()
						if err := p.Add(fds[0], key, reactor.Readable, reactor.Oneshot); err != nil {
							fail("Add: %v", err)
							return
						}
						unix.Write(fds[1], []byte("x"))
						select {
						case <-c:
						case <-time.After(hang):
							fail("key %d: no event", key)
							return
						}
						if err := p.Delete(fds[0]); err != nil {
							fail("Delete: %v", err)
						}
						mu.Lock()
						deadAt[key] = deletes.Add(1)
						mu.Unlock()
						unix.Close(fds[0])
						unix.Close(fds[1])
					}
				}(o)
			}
			wg.Wait()
			close(stopNotify)
			<-notifyDone
			p.Close()
			<-loopDone
			close(failures)
			for f := range failures {
				t.Error(f)
			}
		})
	}
}
