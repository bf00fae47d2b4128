// Package ctxiotest checks that a reader and a writer taking a
// context.Context keep the promises package fdstream keeps, as
// golang.org/x/net/nettest checks a net.Conn. It is for anyone who writes
// a ReadContext or a WriteContext, over a device, a pipe or a protocol,
// and wants to know that cancelling a call is safe:
//
//	func TestMyPipe(t *testing.T) {
//		ctxiotest.TestPipe(t, func() (fdstream.ContextReader, fdstream.ContextWriter, func(), error) {
//			r, w, err := mypkg.NewPipe()
//			if err != nil {
//				return nil, nil, nil, err
//			}
//			return r, w, func() { r.Close(); w.Close() }, nil
//		})
//	}
//
// TestPipe checks that
//   - a ctx already done at entry does no I/O: a read takes nothing, a
//     write puts nothing;
//   - a read cut short by its ctx consumes nothing it does not return;
//   - a write cut short by its ctx reports exactly the bytes that got
//     through;
//   - a zero-length read returns 0, nil at once, consuming nothing;
//   - a write never returns short without an error;
//   - concurrent writes are not interleaved;
//   - where the reader or writer has SetReadDeadline or SetWriteDeadline,
//     ctx and deadline compose: the earlier ends the call, with its own
//     error, and a ctx never changes the deadline;
//   - Close, where there is one, and stop unblock pending calls;
//   - no call leaves a goroutine behind once it has returned, and stop
//     leaves none of the pipe's.
//
// Optional capabilities are found by interface assertion, as nettest
// does: io.Closer, SetReadDeadline(time.Time) error, SetWriteDeadline,
// and the vectored calls of fdstream.Stream (WriteBuffersContext,
// ReadBuffersContext), which get the same checks. A check whose
// capability is missing is skipped, saying so.
//
// Some checks give a call time to block (tens of milliseconds) before
// they cancel it or close its pipe, so that they test a call that is
// waiting and not one that has not started; the verdict never depends on
// that time, only how much the check covers. A call that should return
// and does not fails its check after 10 seconds.
//
// Goroutines are counted with go.uber.org/goleak, which is already a
// requirement of fdstream's module (its own tests use it): importing
// ctxiotest adds it to your go.mod as an indirect requirement, and only
// test binaries link it. Because it counts every goroutine of the
// process, do not run TestPipe at the same time as parallel tests of the
// same binary (TestPipe itself never calls t.Parallel).
package ctxiotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/fdstream/fdstream"
)

// MakePipe makes a fresh pipe for one check: bytes written to w can be
// read from r. stop releases everything the pipe holds (goroutines, fds)
// and must unblock any call still pending on r or w; it is called once.
// r and w may be one object (a loopback) or the two ends of a pair.
type MakePipe func() (r fdstream.ContextReader, w fdstream.ContextWriter, stop func(), err error)

// TestPipe runs the checks, each as a subtest on a pipe of its own made
// by mp.
func TestPipe(t *testing.T, mp MakePipe) {
	run(stdT{t}, mp, 10*time.Second)
}

// T is the part of *testing.T the checks use; the package's own tests
// give it a recorder, to show that the checks fail a broken
// implementation.
type T interface {
	Helper()
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Cleanup(func())
	Failed() bool
	Run(name string, f func(T)) bool
}

type stdT struct{ *testing.T }

func (t stdT) Run(name string, f func(T)) bool {
	return t.T.Run(name, func(tt *testing.T) { f(stdT{tt}) })
}

// Optional capabilities.
type (
	readDeadliner  interface{ SetReadDeadline(time.Time) error }
	writeDeadliner interface{ SetWriteDeadline(time.Time) error }
	buffersWriter  interface {
		WriteBuffersContext(ctx context.Context, bufs [][]byte) (int64, error)
	}
	buffersReader interface {
		ReadBuffersContext(ctx context.Context, bufs [][]byte) (int64, error)
	}
)

// Times the checks use. grace is how long a call is given to block
// before it is cancelled or its pipe closed; short is a ctx timeout or
// deadline that must end a blocked call.
const (
	grace = 30 * time.Millisecond
	short = 50 * time.Millisecond
)

// run runs every check; bound is how long a call that should return may
// take before the check calls it hung.
func run(t T, mp MakePipe, bound time.Duration) {
	checks := []struct {
		name string
		f    func(t T, p *pipe)
	}{
		{"ContextDoneAtEntry", checkDoneAtEntry},
		{"ZeroLengthRead", checkZeroLengthRead},
		{"ReadCanceledConsumesNothing", checkReadCanceled},
		{"WriteCanceledReportsWritten", checkWriteCanceled},
		{"NoShortWrite", checkNoShortWrite},
		{"ConcurrentWritesDoNotInterleave", checkConcurrentWrites},
		{"ContextAndDeadlinesCompose", checkDeadlines},
		{"CloseUnblocksRead", checkCloseUnblocksRead},
		{"CloseUnblocksWrite", checkCloseUnblocksWrite},
		{"StopUnblocks", checkStopUnblocks},
		{"Vectored", checkVectored},
	}
	for _, c := range checks {
		t.Run(c.name, func(t T) {
			before := goleak.IgnoreCurrent()
			p := newPipe(t, mp, bound)
			defer p.finish(t, before)
			c.f(t, p)
		})
	}
}

// pipe is one check's pipe and the goroutines the check started on it.
type pipe struct {
	r     fdstream.ContextReader
	w     fdstream.ContextWriter
	stop  func()
	once  sync.Once
	bound time.Duration
	wg    sync.WaitGroup
}

func newPipe(t T, mp MakePipe, bound time.Duration) *pipe {
	t.Helper()
	r, w, stop, err := mp()
	if err != nil {
		t.Fatalf("MakePipe: %v", err)
	}
	if r == nil || w == nil || stop == nil {
		t.Fatalf("MakePipe returned a nil reader, writer or stop")
	}
	return &pipe{r: r, w: w, stop: stop, bound: bound}
}

// stopPipe calls stop, once.
func (p *pipe) stopPipe() { p.once.Do(p.stop) }

// finish stops the pipe, waits for the check's goroutines, and fails the
// check if any goroutine that was not there before the pipe was made is
// left.
func (p *pipe) finish(t T, before goleak.Option) {
	t.Helper()
	p.stopPipe()
	waited := make(chan struct{})
	go func() { p.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(p.bound):
		t.Errorf("a call was still blocked %v after stop", p.bound)
		return
	}
	if err := goleak.Find(before); err != nil {
		t.Errorf("goroutines left after stop: %v", err)
	}
}

// noLeak fails the check if a goroutine that was not there when base was
// taken (goleak.IgnoreCurrent) is still there: a call that returned must
// not leave one behind (it would go on reading or writing on the
// caller's behalf).
func (p *pipe) noLeak(t T, base goleak.Option, after string) {
	t.Helper()
	if err := goleak.Find(base); err != nil {
		t.Errorf("a goroutine is left behind after %s: %v", after, err)
	}
}

// ctx returns a ctx bounded by the hang limit.
func (p *pipe) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), p.bound)
}

type result struct {
	n   int
	err error
}

// async runs f in a goroutine the check waits for at its end.
func (p *pipe) async(f func() result) <-chan result {
	ch := make(chan result, 1)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		ch <- f()
	}()
	return ch
}

// await waits for a call started with async, failing the check if it
// does not return within the hang bound.
func (p *pipe) await(t T, ch <-chan result, what string) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(p.bound):
		t.Fatalf("%s did not return within %v", what, p.bound)
		return result{}
	}
}

// writeAsync writes b with a bounded ctx in a goroutine.
func (p *pipe) writeAsync(b []byte) <-chan result {
	return p.async(func() result {
		ctx, cancel := p.ctx()
		defer cancel()
		n, err := p.w.WriteContext(ctx, b)
		return result{n, err}
	})
}

// readFull reads exactly n bytes, failing the check on an error or a
// hang.
func (p *pipe) readFull(t T, n int, what string) []byte {
	t.Helper()
	ctx, cancel := p.ctx()
	defer cancel()
	buf := make([]byte, n)
	got := 0
	for got < n {
		m, err := p.r.ReadContext(ctx, buf[got:])
		if m < 0 || m > n-got {
			t.Fatalf("%s: ReadContext returned n = %d for a %d-byte buffer", what, m, n-got)
		}
		got += m
		if err != nil {
			t.Fatalf("%s: read %d of %d bytes, then %v", what, got, n, err)
		}
	}
	return buf
}

// expectNothing fails the check if r has a byte to give within short.
func (p *pipe) expectNothing(t T, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), short)
	defer cancel()
	var b [1]byte
	if n, err := p.r.ReadContext(ctx, b[:]); n > 0 || err == nil {
		t.Errorf("%s: read %d more bytes (%q), %v; want none", what, n, b[:max(n, 0)], err)
	}
}

// pattern returns n bytes in which any 8 in a row say where they are.
func pattern(n int) []byte {
	b := make([]byte, n)
	x := uint64(88172645463325252)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

func checkDoneAtEntry(t T, p *pipe) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	base := goleak.IgnoreCurrent()
	if n, err := p.w.WriteContext(done, []byte("lost")); n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("WriteContext(done ctx) = %d, %v; want 0 and an error wrapping context.Canceled", n, err)
	}
	p.noLeak(t, base, "a write with a done ctx")
	wr := p.writeAsync([]byte("ab"))
	select {
	case r := <-wr: // a buffered pipe took the bytes
		wr = p.async(func() result { return r })
	case <-time.After(grace): // a pipe whose writes wait for a reader
	}
	base = goleak.IgnoreCurrent()
	var b [2]byte
	if n, err := p.r.ReadContext(done, b[:]); n != 0 || !errors.Is(err, context.Canceled) {
		t.Errorf("ReadContext(done ctx) = %d, %v; want 0 and an error wrapping context.Canceled", n, err)
	}
	p.noLeak(t, base, "a read with a done ctx")
	if got := p.readFull(t, 2, "after calls with a done ctx"); string(got) != "ab" {
		t.Fatalf("after a write and a read with a done ctx, read %q; want %q (the done write put bytes, or the done read took some)", got, "ab")
	}
	if r := p.await(t, wr, "WriteContext"); r.n != 2 || r.err != nil {
		t.Fatalf("WriteContext = %d, %v; want 2, nil", r.n, r.err)
	}
}

func checkZeroLengthRead(t T, p *pipe) {
	ctx, cancel := p.ctx()
	defer cancel()
	for _, b := range [][]byte{nil, {}} {
		if n, err := p.r.ReadContext(ctx, b); n != 0 || err != nil {
			t.Fatalf("ReadContext of %d bytes with nothing to read = %d, %v; want 0, nil at once", len(b), n, err)
		}
	}
	wr := p.writeAsync([]byte("q"))
	if n, err := p.r.ReadContext(ctx, nil); n != 0 || err != nil {
		t.Fatalf("ReadContext of 0 bytes = %d, %v; want 0, nil", n, err)
	}
	if got := p.readFull(t, 1, "after a zero-length read"); string(got) != "q" {
		t.Fatalf("read %q after a zero-length read; want %q", got, "q")
	}
	if r := p.await(t, wr, "WriteContext"); r.n != 1 || r.err != nil {
		t.Fatalf("WriteContext = %d, %v; want 1, nil", r.n, r.err)
	}
}

func checkReadCanceled(t T, p *pipe) {
	base := goleak.IgnoreCurrent()
	var b [16]byte
	// A ctx that times out while the read waits.
	ctx, cancel := context.WithTimeout(context.Background(), short)
	rd := p.async(func() result {
		n, err := p.r.ReadContext(ctx, b[:])
		return result{n, err}
	})
	r := p.await(t, rd, "ReadContext with a ctx timing out")
	cancel()
	if r.n != 0 || !errors.Is(r.err, context.DeadlineExceeded) {
		t.Errorf("ReadContext with nothing to read and a ctx timing out = %d, %v; want 0 and an error wrapping context.DeadlineExceeded", r.n, r.err)
	}
	// A ctx cancelled while the read waits.
	ctx, cancel = context.WithCancel(context.Background())
	rd = p.async(func() result {
		n, err := p.r.ReadContext(ctx, b[:])
		return result{n, err}
	})
	time.Sleep(grace)
	cancel()
	r = p.await(t, rd, "ReadContext with a ctx cancelled")
	if r.n != 0 || !errors.Is(r.err, context.Canceled) {
		t.Errorf("ReadContext with nothing to read and a ctx cancelled = %d, %v; want 0 and an error wrapping context.Canceled", r.n, r.err)
	}
	p.noLeak(t, base, "cancelled reads")
	msg := []byte("nothing lost")
	wr := p.writeAsync(msg)
	if got := p.readFull(t, len(msg), "after cancelled reads"); !bytes.Equal(got, msg) {
		t.Fatalf("after cancelled reads, read %q; want %q", got, msg)
	}
	if r := p.await(t, wr, "WriteContext"); r.n != len(msg) || r.err != nil {
		t.Fatalf("WriteContext = %d, %v", r.n, r.err)
	}
	p.expectNothing(t, "after the bytes written")
}

func checkWriteCanceled(t T, p *pipe) {
	payload := pattern(4 << 20) // more than any kernel buffer holds
	base := goleak.IgnoreCurrent()
	ctx, cancel := context.WithCancel(context.Background())
	wr := p.async(func() result {
		n, err := p.w.WriteContext(ctx, payload)
		return result{n, err}
	})
	timer := time.AfterFunc(short, cancel)
	r := p.await(t, wr, "WriteContext with a ctx cancelled")
	timer.Stop()
	cancel()
	switch {
	case r.n < 0 || r.n > len(payload):
		t.Fatalf("WriteContext = %d for %d bytes", r.n, len(payload))
	case r.err == nil && r.n != len(payload):
		t.Fatalf("WriteContext = %d of %d bytes with a nil error", r.n, len(payload))
	case r.err != nil && !errors.Is(r.err, context.Canceled):
		t.Fatalf("cancelled WriteContext = %d, %v; want an error wrapping context.Canceled", r.n, r.err)
	}
	p.noLeak(t, base, "a cancelled write")
	end := []byte("END!")
	wr = p.writeAsync(end)
	got := p.readFull(t, r.n+len(end), "after a cancelled write")
	if !bytes.Equal(got[:r.n], payload[:r.n]) || !bytes.Equal(got[r.n:], end) {
		i := 0
		for i < r.n && got[i] == payload[i] {
			i++
		}
		t.Fatalf("a cancelled write reported %d bytes, but the reader got other bytes (the first %d match; then %q where %q was written next)",
			r.n, i, got[r.n:], end)
	}
	if r := p.await(t, wr, "WriteContext"); r.n != len(end) || r.err != nil {
		t.Fatalf("WriteContext after a cancelled one = %d, %v", r.n, r.err)
	}
	p.expectNothing(t, "after a cancelled write and the next one")
}

func checkNoShortWrite(t T, p *pipe) {
	sizes := []int{0, 1, 100, 4096, 65537, 1 << 20, 3}
	total := 0
	for _, n := range sizes {
		total += n
	}
	payload := pattern(total)
	wr := p.async(func() result {
		ctx, cancel := p.ctx()
		defer cancel()
		off := 0
		for _, n := range sizes {
			m, err := p.w.WriteContext(ctx, payload[off:off+n])
			if m != n || err != nil {
				return result{off + max(m, 0), fmt.Errorf("WriteContext of %d bytes = %d, %v; want %d, nil", n, m, err, n)}
			}
			off += n
		}
		return result{off, nil}
	})
	got := p.readFull(t, total, "reading the writes")
	if r := p.await(t, wr, "the writes"); r.err != nil {
		t.Fatalf("%v", r.err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("the bytes read differ from the bytes written")
	}
}

func checkConcurrentWrites(t T, p *pipe) {
	const writers, calls, size = 4, 4, 256 << 10
	var chans []<-chan result
	for i := 0; i < writers; i++ {
		i := i
		chans = append(chans, p.async(func() result {
			ctx, cancel := p.ctx()
			defer cancel()
			for c := 0; c < calls; c++ {
				b := bytes.Repeat([]byte{byte(1 + i*calls + c)}, size)
				if n, err := p.w.WriteContext(ctx, b); n != size || err != nil {
					return result{n, fmt.Errorf("writer %d: WriteContext = %d, %v", i, n, err)}
				}
			}
			return result{}
		}))
	}
	got := p.readFull(t, writers*calls*size, "reading concurrent writes")
	for _, ch := range chans {
		if r := p.await(t, ch, "a concurrent writer"); r.err != nil {
			t.Fatalf("%v", r.err)
		}
	}
	seen := map[byte]bool{}
	for off := 0; off < len(got); off += size {
		v := got[off]
		if seen[v] || !bytes.Equal(got[off:off+size], bytes.Repeat([]byte{v}, size)) {
			t.Fatalf("the write of %d bytes of %d is interleaved with another at offset %d", size, v, off)
		}
		seen[v] = true
	}
}

func checkDeadlines(t T, p *pipe) {
	rd, rok := p.r.(readDeadliner)
	wd, wok := p.w.(writeDeadliner)
	if !rok && !wok {
		t.Skipf("neither the reader has SetReadDeadline nor the writer SetWriteDeadline")
	}
	base := goleak.IgnoreCurrent()
	if rok {
		var b [4]byte
		// The ctx is earlier: it ends the read, with its error, and the
		// deadline stays as set.
		if err := rd.SetReadDeadline(time.Now().Add(6 * short)); err != nil {
			t.Fatalf("SetReadDeadline: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), short)
		n, err := p.r.ReadContext(ctx, b[:])
		cancel()
		if n != 0 || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("ReadContext with a ctx earlier than the deadline = %d, %v; want the ctx's error", n, err)
		}
		ctx, cancel = p.ctx()
		n, err = p.r.ReadContext(ctx, b[:])
		cancel()
		if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("ReadContext after a ctx ended an earlier one = %d, %v; want the deadline set before, os.ErrDeadlineExceeded (did the ctx change the deadline?)", n, err)
		}
		// The deadline is earlier: it ends the read, with its error.
		rd.SetReadDeadline(time.Now().Add(short))
		ctx, cancel = p.ctx()
		n, err = p.r.ReadContext(ctx, b[:])
		cancel()
		if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("ReadContext with a deadline earlier than the ctx = %d, %v; want os.ErrDeadlineExceeded", n, err)
		}
		// A deadline already past with bytes waiting: nothing taken.
		wr := p.writeAsync([]byte("kept"))
		rd.SetReadDeadline(time.Now().Add(-time.Second))
		ctx, cancel = p.ctx()
		n, err = p.r.ReadContext(ctx, b[:])
		cancel()
		if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("ReadContext after the deadline = %d, %v; want 0, os.ErrDeadlineExceeded", n, err)
		}
		rd.SetReadDeadline(time.Time{})
		if got := p.readFull(t, 4, "after the deadline was cleared"); string(got) != "kept" {
			t.Fatalf("read %q after a read past its deadline; want %q", got, "kept")
		}
		p.await(t, wr, "WriteContext")
	}
	if wok {
		if err := wd.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
			t.Fatalf("SetWriteDeadline: %v", err)
		}
		ctx, cancel := p.ctx()
		n, err := p.w.WriteContext(ctx, []byte("lost"))
		cancel()
		if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("WriteContext after the deadline = %d, %v; want 0, os.ErrDeadlineExceeded", n, err)
		}
		wd.SetWriteDeadline(time.Time{})
		wr := p.writeAsync([]byte("next"))
		if got := p.readFull(t, 4, "after a write past its deadline"); string(got) != "next" {
			t.Fatalf("read %q; want %q (did the write past its deadline put bytes?)", got, "next")
		}
		p.await(t, wr, "WriteContext")
	}
	p.noLeak(t, base, "calls ended by ctxs and deadlines")
}

func checkCloseUnblocksRead(t T, p *pipe) {
	rc, ok := p.r.(io.Closer)
	if !ok {
		t.Skipf("the reader has no Close")
	}
	rd := p.async(func() result {
		var b [8]byte
		n, err := p.r.ReadContext(context.Background(), b[:])
		return result{n, err}
	})
	time.Sleep(grace)
	rc.Close()
	if r := p.await(t, rd, "a ReadContext pending when the reader was closed"); r.err == nil {
		t.Errorf("a ReadContext pending when the reader was closed = %d, nil; want an error (nothing was written)", r.n)
	}
}

func checkCloseUnblocksWrite(t T, p *pipe) {
	wc, ok := p.w.(io.Closer)
	if !ok {
		t.Skipf("the writer has no Close")
	}
	const size = 4 << 20 // more than any kernel buffer holds
	wr := p.async(func() result {
		n, err := p.w.WriteContext(context.Background(), pattern(size))
		return result{n, err}
	})
	time.Sleep(grace)
	wc.Close()
	r := p.await(t, wr, "a WriteContext pending when the writer was closed")
	if r.err == nil && r.n != size {
		t.Errorf("a WriteContext pending when the writer was closed = %d of %d bytes, nil", r.n, size)
	}
}

func checkStopUnblocks(t T, p *pipe) {
	rd := p.async(func() result {
		var b [8]byte
		n, err := p.r.ReadContext(context.Background(), b[:])
		return result{n, err}
	})
	time.Sleep(grace)
	p.stopPipe()
	if r := p.await(t, rd, "a ReadContext pending when stop was called"); r.err == nil {
		t.Errorf("a ReadContext pending when stop was called = %d, nil; want an error or io.EOF (nothing was written)", r.n)
	}
}

func checkVectored(t T, p *pipe) {
	bw, wok := p.w.(buffersWriter)
	br, rok := p.r.(buffersReader)
	if !wok && !rok {
		t.Skipf("neither WriteBuffersContext nor ReadBuffersContext")
	}
	if wok {
		done, cancel := context.WithCancel(context.Background())
		cancel()
		if n, err := bw.WriteBuffersContext(done, [][]byte{[]byte("lo"), []byte("st")}); n != 0 || !errors.Is(err, context.Canceled) {
			t.Errorf("WriteBuffersContext(done ctx) = %d, %v; want 0, context.Canceled", n, err)
		}
		payload := pattern(4 << 20)
		base := goleak.IgnoreCurrent()
		var bufs [][]byte
		for off := 0; off < len(payload); off += 1000 {
			bufs = append(bufs, payload[off:min(off+1000, len(payload))], nil)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ch := p.async(func() result {
			n, err := bw.WriteBuffersContext(ctx, bufs)
			return result{int(n), err}
		})
		timer := time.AfterFunc(short, cancel)
		r := p.await(t, ch, "WriteBuffersContext with a ctx cancelled")
		timer.Stop()
		cancel()
		if (r.err == nil && r.n != len(payload)) || (r.err != nil && !errors.Is(r.err, context.Canceled)) {
			t.Fatalf("cancelled WriteBuffersContext = %d, %v of %d bytes", r.n, r.err, len(payload))
		}
		p.noLeak(t, base, "a cancelled WriteBuffersContext")
		if got := p.readFull(t, r.n, "after a cancelled WriteBuffersContext"); !bytes.Equal(got, payload[:r.n]) {
			t.Fatalf("the reader got other bytes than the %d WriteBuffersContext reported", r.n)
		}
		p.expectNothing(t, "after a cancelled WriteBuffersContext")
	}
	if rok {
		ctx, cancel := context.WithTimeout(context.Background(), short)
		n, err := br.ReadBuffersContext(ctx, [][]byte{make([]byte, 4)})
		cancel()
		if n != 0 || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("ReadBuffersContext with a ctx timing out = %d, %v", n, err)
		}
		wr := p.writeAsync([]byte("vectored"))
		whole := make([]byte, 8)
		for got := 0; got < len(whole); {
			rest := whole[got:]
			ctx, cancel := p.ctx()
			n, err := br.ReadBuffersContext(ctx, [][]byte{rest[:len(rest)/2], nil, {}, rest[len(rest)/2:]})
			cancel()
			if err != nil || n <= 0 || n > int64(len(rest)) {
				t.Fatalf("ReadBuffersContext = %d, %v after %d bytes", n, err, got)
			}
			got += int(n)
		}
		if string(whole) != "vectored" {
			t.Fatalf("ReadBuffersContext filled %q; want %q", whole, "vectored")
		}
		p.await(t, wr, "WriteContext")
	}
}
