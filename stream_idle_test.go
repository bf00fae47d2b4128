//go:build linux

package fdstream_test

// This file specifies what an idle or busy Stream costs: goroutines, fds the select backend takes, allocations.

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/reactor"
)

// Guarantees 8 and 9 through the Stream: the select backend refuses fds at
// or above FD_SETSIZE with a clear error and the fd stays the caller's;
// the epoll backend takes them.
func TestStreamSelectRefusesLargeFd(t *testing.T) {
	sel, err := reactor.New(reactor.Config{Backend: reactor.Select, Shards: 1})
	if err != nil {
		t.Fatal(err)
	}
	fds := make([]int, 2)
	if err := unix.Pipe2(fds, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	big, err := unix.FcntlInt(uintptr(fds[0]), unix.F_DUPFD_CLOEXEC, 1500)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fdstream.NewStream(big, "big", fdstream.WithReactor(sel))
	if !errors.Is(err, reactor.ErrFDSetSize) || !strings.Contains(err.Error(), "FD_SETSIZE") {
		unix.Close(big)
		t.Fatalf("select NewStream(fd %d) = %v, want ErrFDSetSize", big, err)
	}
	if _, err := unix.FcntlInt(uintptr(big), unix.F_GETFD, 0); err != nil {
		t.Fatalf("refused fd was closed: %v", err)
	}
	if runtime.GOOS != "linux" {
		unix.Close(big)
		return
	}
	ep, err := reactor.New(reactor.Config{Backend: reactor.Epoll})
	if err != nil {
		t.Fatal(err)
	}
	s, err := fdstream.NewStream(big, "big", fdstream.WithReactor(ep))
	if err != nil {
		unix.Close(big)
		t.Fatalf("epoll NewStream(fd %d) = %v", big, err)
	}
	unix.Write(fds[1], []byte("z"))
	if got := readN(t, s, 1); string(got) != "z" {
		t.Fatalf("read %q", got)
	}
	s.Close()
}

// Guarantee 9: a shard's loop runs only while it has registrations; after
// every Stream is closed no goroutine of the library is left, with no
// goleak ignore option.
func TestStreamIdleLeavesNoGoroutine(t *testing.T) {
	for _, c := range testReactors(t) {
		t.Run(c.name, func(t *testing.T) {
			if c.r.Loops() != 0 || c.r.Registrations() != 0 {
				t.Fatalf("fresh reactor: %d loops, %d registrations", c.r.Loops(), c.r.Registrations())
			}
			var streams []*fdstream.Stream
			for i := 0; i < 10; i++ {
				r, w, err := fdstream.Pipe(fdstream.WithReactor(c.r))
				if err != nil {
					t.Fatal(err)
				}
				streams = append(streams, r, w)
			}
			if c.r.Backend() == reactor.Runtime {
				// Pipes park on the Go runtime poller: the library
				// runs nothing of its own for them.
				if c.r.Loops() != 0 || c.r.Registrations() != 0 {
					t.Fatalf("with 20 streams on the runtime poller: %d loops, %d registrations", c.r.Loops(), c.r.Registrations())
				}
			} else if c.r.Loops() == 0 || c.r.Registrations() != 20 {
				t.Fatalf("with 20 streams: %d loops, %d registrations", c.r.Loops(), c.r.Registrations())
			}
			// A blocked and cancelled read leaves nothing behind either.
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			streams[0].ReadContext(ctx, make([]byte, 1))
			cancel()
			for _, s := range streams {
				s.Close()
			}
			if c.r.Loops() != 0 || c.r.Registrations() != 0 {
				t.Fatalf("after Close: %d loops, %d registrations", c.r.Loops(), c.r.Registrations())
			}
			goleak.VerifyNone(t)
		})
	}
}

type namedReactor struct {
	name string
	r    *reactor.Reactor
}

// testReactors returns one reactor of each kind this platform has, so a
// test can hold them side by side in one process.
func testReactors(t *testing.T) []namedReactor {
	var out []namedReactor
	for _, c := range []reactor.Config{
		{Backend: reactor.Runtime},
		{Backend: reactor.Epoll, Park: reactor.ParkRuntime},
		{Backend: reactor.Epoll, Park: reactor.ParkThread},
		{Backend: reactor.Select},
		{Backend: reactor.Poll},
	} {
		r, err := reactor.New(c)
		if errors.Is(err, reactor.ErrUnsupported) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		n := c.Backend.String()
		if c.Backend == reactor.Epoll {
			n += "-" + c.Park.String()
		}
		out = append(out, namedReactor{n, r})
	}
	return out
}

// Guarantee 10, allocations, on every backend:
// the ready path allocates nothing with any ctx (Background, a long-lived
// cancellable one, a fresh one per call); a wait allocates nothing with
// Background or with the ctx of the previous wait; a wait with a fresh
// cancellable ctx allocates no more than os.File's AfterFunc bridge does
// (measured here, in the same run).
func TestStreamZeroAllocs(t *testing.T) {
	const runs = 500
	// fresh returns n cancellable ctxs made before the measurement, so
	// that making them is not counted, and a function handing out the
	// next one.
	fresh := func(n int) (next func() context.Context, cancelAll func()) {
		ctxs := make([]context.Context, n)
		cancels := make([]context.CancelFunc, n)
		for i := range ctxs {
			ctxs[i], cancels[i] = context.WithCancel(context.Background())
		}
		k := 0
		return func() context.Context { c := ctxs[k%n]; k++; return c },
			func() {
				for _, c := range cancels {
					c()
				}
			}
	}
	// roundTrips measures one write to an echo goroutine and the read of
	// its answer, which waits, with ctxs from ctxOf.
	roundTrips := func(t *testing.T, mk func(t *testing.T) (ar, aw, br, bw ctxRW), ctxOf func() context.Context) float64 {
		ar, aw, br, bw := mk(t)
		echoCtx, stopEcho := context.WithCancel(context.Background())
		echoDone := make(chan struct{})
		go func() {
			defer close(echoDone)
			b := make([]byte, 1)
			for {
				if _, err := ar.ReadContext(echoCtx, b); err != nil {
					return
				}
				if _, err := bw.WriteContext(echoCtx, b); err != nil {
					return
				}
			}
		}()
		buf := make([]byte, 1)
		allocs := testing.AllocsPerRun(runs, func() {
			ctx := ctxOf()
			if _, err := aw.WriteContext(ctx, buf); err != nil {
				t.Fatal(err)
			}
			if _, err := br.ReadContext(ctx, buf); err != nil { // waits for the echo
				t.Fatal(err)
			}
		})
		stopEcho()
		<-echoDone
		return allocs
	}
	osPipes := func(t *testing.T) (ar, aw, br, bw ctxRW) {
		ar, aw, closeA := osPipe(t)
		br, bw, closeB := osPipe(t)
		t.Cleanup(func() { closeA(); closeB() })
		return ar, aw, br, bw
	}
	next, cancelOS := fresh(2 * (runs + 1))
	osBridge := roundTrips(t, osPipes, next)
	cancelOS()
	t.Logf("os.File with an AfterFunc bridge, a fresh ctx per round trip: %v allocs", osBridge)

	for _, c := range testReactors(t) {
		t.Run(c.name, func(t *testing.T) {
			streams := func(t *testing.T) (ar, aw, br, bw ctxRW) {
				ar1, aw1 := mustPipe(t, fdstream.WithReactor(c.r))
				br1, bw1 := mustPipe(t, fdstream.WithReactor(c.r))
				return ar1, aw1, br1, bw1
			}
			ar, aw := mustPipe(t, fdstream.WithReactor(c.r))
			long, cancelLong := context.WithCancel(context.Background())
			defer cancelLong()
			nextReady, cancelReady := fresh(runs + 1)
			defer cancelReady()
			buf := make([]byte, 1)
			for _, rc := range []struct {
				name string
				ctx  func() context.Context
			}{
				{"Background", context.Background},
				{"long-lived ctx", func() context.Context { return long }},
				{"fresh ctx per call", nextReady},
			} {
				ready := testing.AllocsPerRun(runs, func() {
					ctx := rc.ctx()
					aw.WriteContext(ctx, buf)
					ar.ReadContext(ctx, buf)
				})
				if ready != 0 {
					t.Errorf("ready path, %s: %v allocs per write+read, want 0", rc.name, ready)
				}
			}

			if got := roundTrips(t, streams, context.Background); got != 0 {
				t.Errorf("waiting path, Background: %v allocs per round trip, want 0", got)
			}
			if got := roundTrips(t, streams, func() context.Context { return long }); got != 0 {
				t.Errorf("waiting path, the ctx of the previous wait: %v allocs per round trip, want 0", got)
			}
			next, cancelAll := fresh(2 * (runs + 1))
			got := roundTrips(t, streams, next)
			cancelAll()
			t.Logf("waiting path, a fresh ctx per round trip: %v allocs (os.File's bridge: %v)", got, osBridge)
			if got > osBridge {
				t.Errorf("waiting path, a fresh ctx per round trip: %v allocs, more than os.File's bridge (%v)", got, osBridge)
			}
		})
	}
}
