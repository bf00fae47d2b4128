package fdstream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
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

// The stress test's knobs. A short run is part of every `go test`; a long
// one is asked for through the environment:
//
//	FDSTREAM_STRESS=10m            run each reactor kind for 10 minutes
//	FDSTREAM_STRESS_SEED=12345     replay a seed printed by a failed run
//	FDSTREAM_STRESS_CHANNELS=64    connected pairs alive at once
const (
	stressEnv         = "FDSTREAM_STRESS"
	stressSeedEnv     = "FDSTREAM_STRESS_SEED"
	stressChannelsEnv = "FDSTREAM_STRESS_CHANNELS"
)

// stressStats are the figures a run reports.
type stressStats struct {
	channels, ops, bytesWritten, bytesRead   atomic.Int64
	cancels, timeouts, closedErrs, brokenErr atomic.Int64
	closes, eofs, zeroReads, controls        atomic.Int64
	closedInFlight                           atomic.Int64
	deadlineSets                             atomic.Int64
}

// covered reports whether the run took every path it is meant to: EOF,
// Close during calls, ctx cancellation and deadline expiry.
func (s *stressStats) covered() bool {
	return s.eofs.Load() > 0 && s.closedInFlight.Load() > 0 && s.cancels.Load() > 0 && s.timeouts.Load() > 0
}

func (s *stressStats) String() string {
	return fmt.Sprintf("channels %d, ops %d (ctx cancels %d, deadline timeouts %d, ErrClosed %d (of which in flight at the Close %d), EPIPE/EIO %d, zero-length reads %d, Control calls %d, deadline changes %d), Close calls %d, EOFs %d, bytes written %d, read %d",
		s.channels.Load(), s.ops.Load(), s.cancels.Load(), s.timeouts.Load(), s.closedErrs.Load(), s.closedInFlight.Load(), s.brokenErr.Load(),
		s.zeroReads.Load(), s.controls.Load(), s.deadlineSets.Load(), s.closes.Load(), s.eofs.Load(), s.bytesWritten.Load(), s.bytesRead.Load())
}

// stressWriters is how many goroutines write to one Stream at once. The
// top bit of every byte names its writer, so the reader can take the
// interleaved stream apart and check each writer's sequence.
const stressWriters = 2

// stressByte is byte k of writer w's sequence on a channel: the writer in
// the top bit, seven pseudo-random bits from (seed, w, k) below, so a lost,
// repeated or reordered run of bytes is caught at its first byte.
func stressByte(seed uint64, w int, k int64) byte {
	x := seed ^ uint64(w)<<62 ^ uint64(k)*0x9e3779b97f4a7c15
	x ^= x >> 31
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 29
	return byte(w)<<7 | byte(x)&0x7f
}

// stressChannel is one connected pair: writers write into w, readers read
// from r, a control goroutine changes deadlines and calls Control and
// zero-length reads on both, and a closer closes one end or both at a
// random moment, usually while calls are blocked.
type stressChannel struct {
	t      *testing.T
	kind   string
	seed   uint64 // of the run; the channel's is chanSeed
	id     int
	r, w   *fdstream.Stream
	stats  *stressStats
	failed atomic.Bool

	written [stressWriters]atomic.Int64 // bytes each writer got into the fd
	read    [stressWriters]int64        // bytes of each writer verified by the reader
	readOps sync.Mutex                  // turns between the readers, so their chunks are verified in read order
	sawEOF  bool                        // under readOps
	rdone   bool                        // under readOps: a reader saw EOF or ErrClosed

	closeStart atomic.Int64 // time.Now().UnixNano() of the first Close
}

func (c *stressChannel) chanSeed() uint64 { return c.seed*1000003 + uint64(c.id) }

func (c *stressChannel) fail(format string, args ...any) {
	c.failed.Store(true)
	c.t.Errorf("seed %d (replay with %s=%d), channel %d (%s): %s",
		c.seed, stressSeedEnv, c.seed, c.id, c.kind, fmt.Sprintf(format, args...))
}

// newStressChannel makes the pair: a pipe, a socketpair, or a pty whose
// slave writes (in raw mode) and whose master reads.
func newStressChannel(kind string, r *reactor.Reactor) (rd, wr *fdstream.Stream, err error) {
	opt := fdstream.WithReactor(r)
	switch kind {
	case "pipe":
		return fdstream.Pipe(opt)
	case "socketpair":
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return nil, nil, err
		}
		a, err := fdstream.NewStream(fds[0], "socketpair-r", opt)
		if err != nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
			return nil, nil, err
		}
		b, err := fdstream.NewStream(fds[1], "socketpair-w", opt)
		if err != nil {
			a.Close()
			unix.Close(fds[1])
			return nil, nil, err
		}
		return a, b, nil
	case "pty":
		m, s, err := adapters.OpenPTY(opt)
		if err != nil {
			return nil, nil, err
		}
		if _, err := adapters.MakeRaw(s); err != nil {
			m.Close()
			s.Close()
			return nil, nil, err
		}
		return m, s, nil
	}
	panic("unknown kind " + kind)
}

// stressTimeout draws a call's ctx: already cancelled, microseconds,
// milliseconds, or none at all.
func stressTimeout(rng *rand.Rand) (context.Context, context.CancelFunc, time.Duration) {
	switch p := rng.IntN(100); {
	case p < 5:
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx, cancel, 0
	case p < 35:
		d := time.Duration(1+rng.IntN(200)) * time.Microsecond
		ctx, cancel := context.WithTimeout(context.Background(), d)
		return ctx, cancel, d
	case p < 70:
		d := time.Duration(200+rng.IntN(5000)) * time.Microsecond
		ctx, cancel := context.WithTimeout(context.Background(), d)
		return ctx, cancel, d
	default:
		return context.Background(), func() {}, -1
	}
}

// stressSize draws a buffer size, mostly small, sometimes large.
func stressSize(rng *rand.Rand) int {
	switch p := rng.IntN(100); {
	case p < 40:
		return 1 + rng.IntN(16)
	case p < 80:
		return 1 + rng.IntN(4096)
	default:
		return 1 + rng.IntN(128<<10)
	}
}

// checkBound fails the call if it outlived its ctx by more than hang: no
// operation may stay blocked past its bound. A call without a ctx bound
// is bounded by the channel's Close, checked by the caller's final wait.
func (c *stressChannel) checkBound(op string, start time.Time, d time.Duration) {
	if d < 0 {
		return
	}
	if el := time.Since(start); el > d+fdtest.Hang {
		c.fail("%s with a %v ctx returned after %v", op, d, el)
	}
}

// classify counts an error and reports whether it is one the model
// allows: ctx, deadline, closed, or the peer gone (EPIPE; EIO on a pty
// slave whose master closed).
func (c *stressChannel) classify(op string, err error, ctx context.Context, start time.Time) bool {
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Op != op {
		c.fail("%s: error %v (%T) is not an *os.PathError with Op %q", op, err, err, op)
		return false
	}
	switch {
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		c.stats.cancels.Add(1)
	case errors.Is(err, os.ErrDeadlineExceeded):
		if !isTimeout(err) {
			c.fail("%s: deadline error %v without Timeout()", op, err)
		}
		c.stats.timeouts.Add(1)
	case errors.Is(err, os.ErrClosed):
		c.stats.closedErrs.Add(1)
		if cs := c.closeStart.Load(); cs != 0 && start.UnixNano() < cs {
			c.stats.closedInFlight.Add(1)
		}
	case op == "write" && (errors.Is(err, syscall.EPIPE) || c.kind == "pty" && errors.Is(err, syscall.EIO)):
		c.stats.brokenErr.Add(1)
	default:
		c.fail("%s: unexpected error %v", op, err)
		return false
	}
	return true
}

// writer writes writer w's sequence with random sizes, ctxs and timeouts,
// until its Stream is closed or the reader is gone.
func (c *stressChannel) writer(w int, rng *rand.Rand) {
	buf := make([]byte, 128<<10)
	for !c.failed.Load() {
		k := c.written[w].Load()
		p := buf[:stressSize(rng)]
		for i := range p {
			p[i] = stressByte(c.chanSeed(), w, k+int64(i))
		}
		ctx, cancel, d := stressTimeout(rng)
		start := time.Now()
		n, err := c.w.WriteContext(ctx, p)
		c.checkBound("write", start, d)
		c.stats.ops.Add(1)
		if n < 0 || n > len(p) || n < len(p) && err == nil {
			c.fail("write returned n=%d of %d, err %v", n, len(p), err)
		}
		c.written[w].Add(int64(n))
		c.stats.bytesWritten.Add(int64(n))
		if err != nil {
			ok := c.classify("write", err, ctx, start)
			cancel()
			if !ok || errors.Is(err, os.ErrClosed) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.EIO) {
				return
			}
			continue
		}
		cancel()
	}
}

// reader reads with random sizes, ctxs and timeouts and checks every byte
// against the writers' sequences, until EOF or its Stream is closed. The
// readers of a channel take turns (readOps), so that chunks are checked in
// the order they were read.
func (c *stressChannel) reader(rng *rand.Rand) {
	buf := make([]byte, 128<<10)
	for !c.failed.Load() {
		p := buf[:stressSize(rng)]
		ctx, cancel, d := stressTimeout(rng)
		c.readOps.Lock()
		if c.rdone {
			c.readOps.Unlock()
			cancel()
			return
		}
		start := time.Now()
		n, err := c.r.ReadContext(ctx, p)
		c.checkBound("read", start, d)
		c.stats.ops.Add(1)
		if n < 0 || n > len(p) || n > 0 && err != nil || n == 0 && err == nil {
			c.fail("read returned n=%d of %d, err %v", n, len(p), err)
		}
		for i, b := range p[:n] {
			w := int(b >> 7)
			k := c.read[w]
			if want := stressByte(c.chanSeed(), w, k); b != want {
				c.fail("writer %d's byte %d (chunk byte %d of %d) is %#02x, want %#02x: lost, repeated or reordered", w, k, i, n, b, want)
				break
			}
			c.read[w]++
		}
		c.stats.bytesRead.Add(int64(n))
		done := false
		switch {
		case err == io.EOF:
			c.stats.eofs.Add(1)
			c.sawEOF, done = true, true
		case err != nil:
			ok := c.classify("read", err, ctx, start)
			done = !ok || errors.Is(err, os.ErrClosed)
		}
		c.rdone = c.rdone || done
		c.readOps.Unlock()
		cancel()
		if done {
			return
		}
	}
}

// control races deadline changes, Control and zero-length reads with the
// I/O until stop is closed, then clears the deadlines so the reader can
// drain to EOF.
func (c *stressChannel) control(rng *rand.Rand, stop <-chan struct{}) {
	both := []*fdstream.Stream{c.r, c.w}
	allowed := func(op string, err error) {
		if err != nil && !errors.Is(err, os.ErrClosed) {
			c.fail("%s: %v", op, err)
		}
	}
	for {
		select {
		case <-stop:
			for _, s := range both {
				allowed("SetDeadline", ignoreClosed(s.SetDeadline(time.Time{})))
			}
			return
		default:
		}
		s := both[rng.IntN(2)]
		var t time.Time
		switch rng.IntN(8) {
		case 0, 1, 2: // none
		case 3:
			t = time.Now().Add(-time.Second)
		default:
			t = time.Now().Add(time.Duration(1+rng.IntN(3000)) * time.Microsecond)
		}
		switch rng.IntN(6) {
		case 0:
			allowed("SetReadDeadline", s.SetReadDeadline(t))
			c.stats.deadlineSets.Add(1)
		case 1:
			allowed("SetWriteDeadline", s.SetWriteDeadline(t))
			c.stats.deadlineSets.Add(1)
		case 2:
			allowed("SetDeadline", s.SetDeadline(t))
			c.stats.deadlineSets.Add(1)
		case 3:
			rc, err := s.SyscallConn()
			allowed("SyscallConn", err)
			if err == nil {
				var st unix.Stat_t
				var serr error
				allowed("Control", rc.Control(func(fd uintptr) { serr = unix.Fstat(int(fd), &st) }))
				if serr != nil {
					c.fail("fstat inside Control: %v", serr)
				}
				c.stats.controls.Add(1)
			}
		case 4:
			if n, err := s.Read(nil); n != 0 || err != nil && !errors.Is(err, os.ErrClosed) {
				c.fail("zero-length read: %d, %v", n, err)
			}
			c.stats.zeroReads.Add(1)
		case 5:
		}
		// Let the I/O run for a while with the deadlines as they are.
		time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
	}
}

func ignoreClosed(err error) error {
	if errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}

// run drives the channel for about life and checks its invariants.
func (c *stressChannel) run(rng *rand.Rand, life time.Duration) {
	var ops sync.WaitGroup
	for w := 0; w < stressWriters; w++ {
		wr := rand.New(rand.NewPCG(c.chanSeed(), uint64(10+w)))
		ops.Add(1)
		go func() { defer ops.Done(); c.writer(w, wr) }()
	}
	for i := 0; i < 2; i++ {
		rr := rand.New(rand.NewPCG(c.chanSeed(), uint64(20+i)))
		ops.Add(1)
		go func() { defer ops.Done(); c.reader(rr) }()
	}
	stop := make(chan struct{})
	ctlDone := make(chan struct{})
	cr := rand.New(rand.NewPCG(c.chanSeed(), 30))
	go func() { defer close(ctlDone); c.control(cr, stop) }()

	time.Sleep(time.Duration(rng.Int64N(int64(life))))
	// Close while calls are blocked or running: the writer side (the
	// readers must then drain every byte and see EOF), the reader side
	// (writers get EPIPE, EIO or ErrClosed), or both at once.
	closeOne := func(s *fdstream.Stream, name string) {
		c.closeStart.CompareAndSwap(0, time.Now().UnixNano())
		c.stats.closes.Add(1)
		if err := s.Close(); err != nil {
			c.fail("Close of the %s: %v", name, err)
		}
	}
	action := rng.IntN(3)
	switch action {
	case 0:
		closeOne(c.w, "writer")
	case 1:
		closeOne(c.r, "reader")
	case 2:
		var both sync.WaitGroup
		both.Add(2)
		go func() { defer both.Done(); closeOne(c.w, "writer") }()
		go func() { defer both.Done(); closeOne(c.r, "reader") }()
		both.Wait()
	}
	close(stop)
	<-ctlDone
	c.waitOrDump(&ops, "readers and writers")
	switch action {
	case 0:
		if !c.sawEOF && !c.failed.Load() {
			c.fail("the writer side closed but the readers did not reach EOF")
		}
		closeOne(c.r, "reader")
	case 1:
		closeOne(c.w, "writer")
	}
	for w := range c.read {
		got, want := c.read[w], c.written[w].Load()
		if got > want {
			c.fail("read %d bytes of writer %d, which wrote %d", got, w, want)
		}
		if c.sawEOF && got != want {
			c.fail("EOF after %d of writer %d's %d bytes: bytes lost", got, w, want)
		}
	}
	for _, s := range []*fdstream.Stream{c.r, c.w} {
		if err := s.Close(); !errors.Is(err, os.ErrClosed) {
			c.fail("second Close: %v, want ErrClosed", err)
		}
	}
}

// waitOrDump waits for wg; if it is still waiting after hang, it fails
// with every goroutine's stack.
func (c *stressChannel) waitOrDump(wg *sync.WaitGroup, what string) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(fdtest.Hang):
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		c.fail("%s still running %v after Close:\n%s", what, fdtest.Hang, buf)
		<-done
	}
}

func stressSettings(t *testing.T) (per time.Duration, seed uint64, channels int) {
	per, channels = time.Second, 12
	if v := os.Getenv(stressEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", stressEnv, v, err)
		}
		per, channels = d, 48
	}
	if v := os.Getenv(stressChannelsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", stressChannelsEnv, v)
		}
		channels = n
	}
	seed = uint64(time.Now().UnixNano())
	if v := os.Getenv(stressSeedEnv); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", stressSeedEnv, v, err)
		}
		seed = n
	}
	return per, seed, channels
}

// TestStress runs many pipes, socketpairs and ptys at once on every
// reactor kind, each with two writers, two readers, a goroutine changing
// deadlines and calling Control, and a Close at a random moment; every
// call draws a random size and a random ctx (cancelled, microseconds,
// milliseconds, none). At the end of every channel: each byte written
// before the Close and read before EOF arrived exactly once and in order
// (after EOF, every written byte); every error was one the model allows;
// no call outlived its ctx by more than the hang bound. At the end of the
// run: no registration, no loop, no fd and no goroutine left.
//
// The choices are seeded; a failure prints the seed, and
// FDSTREAM_STRESS_SEED replays the same choices (the interleaving is the
// scheduler's). FDSTREAM_STRESS=10m makes a long run.
func TestStress(t *testing.T) {
	per, seed, channels := stressSettings(t)
	t.Logf("seed %d (replay with %s=%d), %v per reactor kind, %d channels at once", seed, stressSeedEnv, seed, per, channels)
	fds := fdtest.OpenFDs(t)
	kinds := []string{"pipe", "socketpair", "pty"}
	for _, nr := range testReactors(t) {
		t.Run(nr.name, func(t *testing.T) {
			var stats stressStats
			start := time.Now()
			end := start.Add(per)
			var wg sync.WaitGroup
			var next atomic.Int64
			for slot := 0; slot < channels; slot++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Run for the time asked, and on until every
					// path was taken at least once (a loaded machine
					// may need longer), within the hang bound.
					for (time.Now().Before(end) || !stats.covered()) && time.Now().Before(end.Add(fdtest.Hang)) && !t.Failed() {
						id := int(next.Add(1))
						rng := rand.New(rand.NewPCG(seed, uint64(id)))
						kind := kinds[rng.IntN(len(kinds))]
						rd, wr, err := newStressChannel(kind, nr.r)
						if err != nil {
							t.Errorf("seed %d: making a %s: %v", seed, kind, err)
							return
						}
						stats.channels.Add(1)
						c := &stressChannel{t: t, kind: kind, seed: seed, id: id, r: rd, w: wr, stats: &stats}
						life := 20 * time.Millisecond
						if per > 10*time.Second {
							life = 200 * time.Millisecond
						}
						c.run(rng, life)
					}
				}()
			}
			wg.Wait()
			if n := nr.r.Registrations(); n != 0 {
				t.Errorf("%d registrations left in the reactor", n)
			}
			if n := nr.r.Loops(); n != 0 {
				t.Errorf("%d loops left running", n)
			}
			t.Logf("%s: %v: %s", nr.name, time.Since(start).Round(time.Millisecond), &stats)
			if !stats.covered() {
				t.Errorf("the run did not exercise every path: %s", &stats)
			}
		})
	}
	if n := fdtest.OpenFDs(t); n != fds {
		t.Errorf("%d fds open after the run, %d before", n, fds)
	}
	goleak.VerifyNone(t)
}
