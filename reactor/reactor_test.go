package reactor_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/internal/fdtest"
	"github.com/fdstream/fdstream/reactor"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// hang only catches hangs: the bound every package's tests share.
const hang = fdtest.Hang

// configs are the reactor kinds this platform has; every test runs on all
// of them in one process.
func configs(t *testing.T) []reactor.Config {
	all := []reactor.Config{
		{Backend: reactor.Epoll, Park: reactor.ParkRuntime},
		{Backend: reactor.Epoll, Park: reactor.ParkThread},
		{Backend: reactor.Poll},
		{Backend: reactor.Select},
	}
	var out []reactor.Config
	for _, c := range all {
		if _, err := reactor.New(c); errors.Is(err, reactor.ErrUnsupported) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

func name(c reactor.Config) string {
	if c.Backend != reactor.Epoll {
		return c.Backend.String()
	}
	return c.Backend.String() + "-" + c.Park.String()
}

func each(t *testing.T, f func(t *testing.T, r *reactor.Reactor)) {
	for _, c := range configs(t) {
		t.Run(name(c), func(t *testing.T) {
			r, err := reactor.New(c)
			if err != nil {
				t.Fatal(err)
			}
			// Registered first, so it runs after the test's own cleanups.
			t.Cleanup(func() {
				if n := r.Registrations(); n != 0 {
					t.Errorf("%d registrations left", n)
				}
				if n := r.Loops(); n != 0 {
					t.Errorf("%d loops left", n)
				}
			})
			f(t, r)
		})
	}
}

func pipe(t *testing.T) (r, w int) {
	t.Helper()
	fds, err := rawPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

// rawPipe makes a non-blocking pipe with the calls every Unix has.
func rawPipe() ([]int, error) {
	fds := make([]int, 2)
	if err := unix.Pipe(fds); err != nil {
		return nil, err
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
			return nil, err
		}
	}
	return fds, nil
}

func register(t *testing.T, r *reactor.Reactor, fd int) *reactor.Registration {
	t.Helper()
	reg, err := r.Register(fd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Deregister() })
	return reg
}

func waitFor(reg *reactor.Registration, i reactor.Interest, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return reg.Wait(ctx, i, nil)
}

// drain reads fd until EAGAIN, as the edge-triggered contract asks.
func drain(fd int) {
	var buf [4096]byte
	for {
		if n, _ := unix.Read(fd, buf[:]); n <= 0 {
			return
		}
	}
}

func TestWaitReadable(t *testing.T) {
	each(t, func(t *testing.T, r *reactor.Reactor) {
		rfd, wfd := pipe(t)
		reg := register(t, r, rfd)
		if err := waitFor(reg, reactor.Readable, 20*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait on an empty pipe = %v, want context.DeadlineExceeded", err)
		}
		errc := make(chan error, 1)
		go func() { errc <- waitFor(reg, reactor.Readable, hang) }()
		unix.Write(wfd, []byte("x"))
		if err := <-errc; err != nil {
			t.Fatalf("Wait after a write = %v", err)
		}
		drain(rfd)
	})
}

// Guarantee 3: an edge between the caller's EAGAIN and its Wait is not
// lost: the registration remembers it.
func TestNoLostWakeup(t *testing.T) {
	each(t, func(t *testing.T, r *reactor.Reactor) {
		rfd, wfd := pipe(t)
		reg := register(t, r, rfd)
		for i := 0; i < 100; i++ {
			var b [1]byte
			if _, err := unix.Read(rfd, b[:]); err != unix.EAGAIN {
				t.Fatalf("read = %v, want EAGAIN", err)
			}
			unix.Write(wfd, []byte("x")) // the edge fires before Wait
			if err := waitFor(reg, reactor.Readable, hang); err != nil {
				t.Fatalf("round %d: Wait = %v", i, err)
			}
			drain(rfd)
		}
	})
}

func TestWaitWritableAndHangup(t *testing.T) {
	each(t, func(t *testing.T, r *reactor.Reactor) {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		unix.SetNonblock(fds[0], true)
		defer unix.Close(fds[0])
		reg := register(t, r, fds[0])
		if err := waitFor(reg, reactor.Writable, hang); err != nil {
			t.Fatalf("Wait(Writable) on an empty socket = %v", err)
		}
		// Fill the send buffer so that writability is gone.
		big := make([]byte, 1<<16)
		for {
			if _, err := unix.Write(fds[0], big); err == unix.EAGAIN {
				break
			}
		}
		drainSignals(reg)
		if err := waitFor(reg, reactor.Writable, 20*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait(Writable) on a full socket = %v, want timeout", err)
		}
		// The peer hangs up: both directions wake (guarantee 6).
		unix.Close(fds[1])
		if err := waitFor(reg, reactor.Readable, hang); err != nil {
			t.Fatalf("Wait(Readable) after hang-up = %v", err)
		}
		if err := waitFor(reg, reactor.Writable, hang); err != nil {
			t.Fatalf("Wait(Writable) after hang-up = %v", err)
		}
	})
}

// drainSignals consumes any readiness already remembered.
func drainSignals(reg *reactor.Registration) {
	for waitFor(reg, reactor.Readable|reactor.Writable, time.Millisecond) == nil {
	}
}

func TestWaitEnds(t *testing.T) {
	each(t, func(t *testing.T, r *reactor.Reactor) {
		rfd, _ := pipe(t)
		reg := register(t, r, rfd)

		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- reg.Wait(ctx, reactor.Readable, nil) }()
		cancel()
		if err := <-errc; err != context.Canceled {
			t.Errorf("cancelled Wait = %v, want context.Canceled", err)
		}

		expired := make(chan struct{})
		go func() { errc <- reg.Wait(context.Background(), reactor.Readable, expired) }()
		close(expired)
		if err := <-errc; err != os.ErrDeadlineExceeded {
			t.Errorf("expired Wait = %v, want os.ErrDeadlineExceeded", err)
		}

		//lint:ignore SA1012 a nil ctx is the bad input under test
		if err := reg.Wait(nil, reactor.Readable, nil); err != reactor.ErrNilContext { //nolint:staticcheck
			t.Errorf("Wait(nil ctx) = %v, want ErrNilContext", err)
		}
		if err := reg.Wait(context.Background(), 0, nil); err == nil {
			t.Error("Wait(empty interest) = nil, want an error")
		}

		go func() { errc <- reg.Wait(context.Background(), reactor.Readable, nil) }()
		reg.Evict()
		if err := <-errc; err != os.ErrClosed {
			t.Errorf("evicted Wait = %v, want os.ErrClosed", err)
		}
		if err := reg.Wait(context.Background(), reactor.Readable, nil); err != os.ErrClosed {
			t.Errorf("Wait after Evict = %v, want os.ErrClosed", err)
		}
		if err := reg.Deregister(); err != nil {
			t.Errorf("Deregister = %v", err)
		}
		if err := reg.Deregister(); err != os.ErrClosed {
			t.Errorf("second Deregister = %v, want os.ErrClosed", err)
		}
	})
}

func TestRegisterErrors(t *testing.T) {
	each(t, func(t *testing.T, r *reactor.Reactor) {
		if _, err := r.Register(-1); err != unix.EBADF {
			t.Errorf("Register(-1) = %v, want EBADF", err)
		}
		closed, err := unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, 900)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(closed)
		if _, err := r.Register(closed); err != unix.EBADF {
			t.Errorf("Register(closed fd) = %v, want EBADF", err)
		}
		f, err := os.Create(filepath.Join(t.TempDir(), "regular"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		reg, err := r.Register(int(f.Fd()))
		switch r.Backend() {
		case reactor.Epoll:
			if err != unix.EPERM {
				t.Errorf("epoll Register(regular file) = %v, want EPERM", err)
			}
		case reactor.Poll, reactor.Select:
			// poll(2) and select(2) take regular files and always
			// report them ready.
			if err != nil {
				t.Fatalf("%v Register(regular file) = %v", r.Backend(), err)
			}
			if err := waitFor(reg, reactor.Readable, hang); err != nil {
				t.Errorf("%v Wait(regular file) = %v", r.Backend(), err)
			}
			reg.Deregister()
		}
		rfd, _ := pipe(t)
		big, err := unix.FcntlInt(uintptr(rfd), unix.F_DUPFD_CLOEXEC, 1024)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(big)
		reg, err = r.Register(big)
		switch r.Backend() {
		case reactor.Select:
			if !errors.Is(err, reactor.ErrFDSetSize) {
				t.Errorf("select Register(%d) = %v, want ErrFDSetSize", big, err)
			}
		case reactor.Epoll, reactor.Poll:
			if err != nil {
				t.Errorf("%v Register(%d) = %v", r.Backend(), big, err)
			} else {
				reg.Deregister()
			}
		}
	})
}

func TestNewErrors(t *testing.T) {
	if _, err := reactor.New(reactor.Config{Backend: 99}); err == nil {
		t.Error("New(unknown backend) = nil error")
	}
	if _, err := reactor.New(reactor.Config{Park: 99}); err == nil {
		t.Error("New(unknown park) = nil error")
	}
	r, err := reactor.New(reactor.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Backend() == reactor.DefaultBackend || r.Shards() < 1 {
		t.Errorf("zero Config: backend %v, %d shards", r.Backend(), r.Shards())
	}
}

// Many fds spread over shards: each is woken for its own data only.
func TestManyRegistrations(t *testing.T) {
	each(t, func(t *testing.T, r *reactor.Reactor) {
		const n = 300
		type pair struct {
			rfd, wfd int
			reg      *reactor.Registration
		}
		ps := make([]pair, n)
		for i := range ps {
			ps[i].rfd, ps[i].wfd = pipe(t)
			ps[i].reg = register(t, r, ps[i].rfd)
		}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range ps {
			wg.Add(1)
			go func(p pair) {
				defer wg.Done()
				var b [1]byte
				for {
					if _, err := unix.Read(p.rfd, b[:]); err == nil {
						return
					}
					if err := waitFor(p.reg, reactor.Readable, hang); err != nil {
						errs <- err
						return
					}
				}
			}(ps[i])
		}
		for i := range ps {
			unix.Write(ps[i].wfd, []byte{byte(i)})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for i := range ps {
			ps[i].reg.Deregister()
		}
	})
}

// Registration and deregistration racing with waits and with the loops
// stopping and starting (guarantee 9).
func TestRegisterDeregisterRace(t *testing.T) {
	each(t, func(t *testing.T, r *reactor.Reactor) {
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 100; i++ {
					fds, err := rawPipe()
					if err != nil {
						t.Error(err)
						return
					}
					reg, err := r.Register(fds[0])
					if err != nil {
						t.Error(err)
						return
					}
					unix.Write(fds[1], []byte("x"))
					if err := waitFor(reg, reactor.Readable, hang); err != nil {
						t.Error(err)
					}
					if err := reg.Deregister(); err != nil {
						t.Error(err)
					}
					unix.Close(fds[0])
					unix.Close(fds[1])
				}
			}()
		}
		wg.Wait()
	})
}

// Guarantee 9: no registration, no goroutine.
func TestIdleReactorHasNoGoroutine(t *testing.T) {
	each(t, func(t *testing.T, r *reactor.Reactor) {
		rfd, _ := pipe(t)
		reg, err := r.Register(rfd)
		if err != nil {
			t.Fatal(err)
		}
		if r.Loops() != 1 {
			t.Fatalf("%d loops with one registration, want 1", r.Loops())
		}
		reg.Deregister()
		if r.Loops() != 0 {
			t.Fatalf("%d loops with no registration, want 0", r.Loops())
		}
		goleak.VerifyNone(t)
	})
}

// The select backend: an fd closed behind the reactor's back ends the
// wait on it, and the loop neither spins nor stops serving others. How
// the kernel says so depends on the moment: closed before a select(2)
// call starts, the call fails with EBADF (Stats.BadFds; the culprit is
// found and reported); closed while a call sleeps, the kernel says nothing
// until something else wakes the call, and then reports the closed fd as
// ready (POLLNVAL is in select's sets). Either way the waiter's own system
// call then says EBADF.
func TestSelectFdClosedBehindBack(t *testing.T) {
	r, err := reactor.New(reactor.Config{Backend: reactor.Select, Shards: 1})
	if err != nil {
		t.Fatal(err)
	}
	fds, err := rawPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	// Move the read end high so no other test reuses the number.
	victim, err := unix.FcntlInt(uintptr(fds[0]), unix.F_DUPFD_CLOEXEC, 800)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fds[0])
	reg, err := r.Register(victim)
	if err != nil {
		t.Fatal(err)
	}
	other, otherW := pipe(t)
	oreg := register(t, r, other)

	errc := make(chan error, 1)
	go func() { errc <- waitFor(reg, reactor.Readable, hang) }()
	// other is waited for too, so that the byte written to it below
	// wakes a call that already sleeps with victim in its set (README,
	// Limits: nothing else would).
	oerrc := make(chan error, 1)
	go func() { oerrc <- waitFor(oreg, reactor.Readable, hang) }()
	unix.Close(victim)
	unix.Write(otherW, []byte("x"))
	if err := <-errc; err != nil {
		t.Fatalf("Wait on an fd closed behind the back = %v, want nil (the retry sees EBADF)", err)
	}
	if _, err := unix.Read(victim, make([]byte, 1)); err != unix.EBADF {
		t.Fatalf("the woken waiter's read = %v, want EBADF", err)
	}
	if err := <-oerrc; err != nil {
		t.Fatalf("other registration after the close = %v", err)
	}
	// No spinning, and other still served: one more byte through other
	// takes a handful of loop wake-ups, not thousands.
	drain(other)
	before := r.Stats().Wakeups
	unix.Write(otherW, []byte("y"))
	if err := waitFor(oreg, reactor.Readable, hang); err != nil {
		t.Fatalf("other registration, second byte = %v", err)
	}
	if n := r.Stats().Wakeups - before; n > 10 {
		t.Fatalf("%d loop wake-ups for one byte: the loop spins on the closed fd", n)
	}
	reg.Deregister()
}

// Guarantee 4 on the select backend: once Deregister returns, the loop
// never names the fd in a select(2) again, even when a waiter had armed it
// and gave up: closing the fd right after Deregister causes no EBADF.
func TestSelectDeregisterThenCloseIsClean(t *testing.T) {
	r, err := reactor.New(reactor.Config{Backend: reactor.Select, Shards: 1})
	if err != nil {
		t.Fatal(err)
	}
	keepR, keepW := pipe(t)
	keep := register(t, r, keepR) // keeps the loop running throughout
	for i := 0; i < 200; i++ {
		fds, err := rawPipe()
		if err != nil {
			t.Fatal(err)
		}
		reg, err := r.Register(fds[0])
		if err != nil {
			t.Fatal(err)
		}
		// Arm, then give up: the fd stays in the loop's sets.
		if err := waitFor(reg, reactor.Readable, time.Microsecond); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait = %v", err)
		}
		if err := reg.Deregister(); err != nil {
			t.Fatal(err)
		}
		unix.Close(fds[0])
		unix.Close(fds[1])
		// Make the loop go round.
		unix.Write(keepW, []byte("x"))
		if err := waitFor(keep, reactor.Readable, hang); err != nil {
			t.Fatal(err)
		}
		drain(keepR)
	}
	if n := r.Stats().BadFds; n != 0 {
		t.Fatalf("select saw EBADF %d times: it named fds after Deregister returned", n)
	}
}

// Do runs the "system call first, wait on EAGAIN, retry" loop: it
// returns f's result, calls f again after each readiness, retries EINTR
// at once, passes any other error through, and ends on ctx or eviction.
func TestRegistrationDo(t *testing.T) {
	each(t, func(t *testing.T, r *reactor.Reactor) {
		rfd, wfd := pipe(t)
		reg := register(t, r, rfd)
		var buf [8]byte
		calls := 0
		// The byte arrives right after the first call's EAGAIN, before
		// Do waits: the edge must not be lost, and f must run again.
		read := func(fd int) error {
			calls++
			n, err := unix.Read(fd, buf[:])
			if err == unix.EAGAIN && calls == 1 {
				unix.Write(wfd, []byte("x"))
			}
			if err == nil && n == 0 {
				return errors.New("unexpected end of stream")
			}
			return err
		}
		if err := reg.Do(context.Background(), reactor.Readable, read); err != nil || buf[0] != 'x' {
			t.Fatalf("Do = %v (read %q)", err, buf[:1])
		}
		if calls != 2 {
			t.Fatalf("f ran %d times, want 2: EAGAIN, then the read after the wait", calls)
		}
		calls = 0
		eintr := func(fd int) error {
			calls++
			if calls < 3 {
				return unix.EINTR
			}
			return nil
		}
		if err := reg.Do(context.Background(), reactor.Readable, eintr); err != nil || calls != 3 {
			t.Fatalf("Do with EINTR = %v after %d calls, want nil after 3", err, calls)
		}
		boom := errors.New("boom")
		if err := reg.Do(context.Background(), reactor.Readable, func(int) error { return boom }); err != boom {
			t.Fatalf("Do passing an error through = %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := reg.Do(ctx, reactor.Readable, read); err != context.DeadlineExceeded {
			t.Fatalf("Do on an empty pipe with a timeout = %v", err)
		}
		reg.Evict()
		if err := reg.Do(context.Background(), reactor.Readable, read); err != os.ErrClosed {
			t.Fatalf("Do after Evict = %v, want os.ErrClosed", err)
		}
	})
}
