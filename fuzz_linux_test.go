package fdstream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/internal/fdtest"
)

// This file holds the root package's native fuzz targets. Their seed
// corpora live in testdata/fuzz/<FuzzName>/ besides the f.Add seeds; both
// run under plain go test. Every iteration makes its own fds and closes
// them, and joins every goroutine it starts, so millions of iterations
// neither run out of descriptors nor trip goleak at the end.

// fzPattern is byte off of the known stream of a fuzz iteration: a
// write of n bytes at offset off sends fzPattern(salt, off..off+n-1), so
// the reader can tell exactly which bytes it got.
func fzPattern(salt, off uint64) byte {
	x := (off + salt + 1) * 0x9E3779B97F4A7C15
	x ^= x >> 29
	return byte(x >> 32)
}

func fzFill(p []byte, salt, off uint64) {
	for i := range p {
		p[i] = fzPattern(salt, off+uint64(i))
	}
}

// fzCtx is the kind of ctx an operation is given.
type fzCtx uint8

const (
	fzCtxHang     fzCtx = iota // bounded only by the hang limit: must not time out
	fzCtxShort                 // expires within microseconds
	fzCtxCanceled              // done before the call
)

func fzContext(k fzCtx, x byte) (context.Context, context.CancelFunc) {
	switch k {
	case fzCtxShort:
		return context.WithTimeout(context.Background(), time.Duration(5+int(x%16)*5)*time.Microsecond)
	case fzCtxCanceled:
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx, cancel
	}
	return context.WithTimeout(context.Background(), fdtest.Hang)
}

// FuzzStreamOps decodes its input into a sequence of at most 64
// operations on a connected pair of Streams (a pipe, or a socketpair made
// with unix.Socketpair and NewStream: the first byte chooses) and checks
// each result against a model of the pair:
//
//   - reads return 1..min(len(p), pending) bytes, exactly the next bytes
//     written, in order; FIONREAD matches the model after every operation,
//     so a call that fails has consumed and written nothing, and a write
//     that fails part way has written exactly the n it reports;
//   - a ctx done at entry gives context.Canceled; a ctx expiring within
//     microseconds gives context.DeadlineExceeded or the data; a read
//     deadline in the past gives os.ErrDeadlineExceeded (a timeout) and
//     consumes nothing; one microseconds ahead gives that or the data;
//   - once the writer is closed and the data is drained, reads give
//     io.EOF; after its own Close every call gives os.ErrClosed; a write
//     to a closed reader gives EPIPE; zero-length reads and writes give
//     0, nil (a zero-length read even with a done ctx);
//   - a read blocked in the reactor (seen through the package's block
//     hook) is ended by data, the writer's Close, a deadline set in the
//     past or soon, its ctx's cancel, or the reader's Close; a write
//     blocked on a full buffer by the writer's Close, a deadline, cancel,
//     the reader's Close, or a reader that drains everything;
//   - errors are *os.PathError with the right Op and the Stream's name;
//     nothing panics or hangs (every call that can wait has a ctx, a
//     deadline or a concurrent action to end it, and a watchdog closes
//     both ends after the hang limit).
//
// Finally it closes the writer, drains the reader to io.EOF and checks
// that everything read is the written stream, in order, with no gap.
func FuzzStreamOps(f *testing.F) {
	for _, seed := range fzStreamOpsSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fzRunStreamOps(t, data)
	})
}

// The operations of FuzzStreamOps. Each takes two input bytes: the low
// nibble of the first is the operation, its high nibble x a small
// parameter, and the second, arg, a size or a deadline.
const (
	fzOpWrite            = iota // WriteContext(hang ctx), size clamped to what fits
	fzOpWriteShort              // WriteContext(short ctx), size up to 256 KiB: may be partial
	fzOpWriteCanceled           // WriteContext(done ctx)
	fzOpWritePlain              // Write, size clamped to what fits
	fzOpRead                    // ReadContext(hang ctx); short ctx if it could block
	fzOpReadShort               // ReadContext(short ctx)
	fzOpReadCanceled            // ReadContext(done ctx)
	fzOpReadPlain               // Read; short-ctx ReadContext if it could block
	fzOpZero                    // zero-length read (x even) or write (x odd), ctx kind x>>1
	fzOpSetReadDeadline         // on the reader
	fzOpSetWriteDeadline        // on the writer
	fzOpSetDeadline             // on the reader (x even) or the writer (x odd)
	fzOpCloseWriter             //
	fzOpCloseReader             //
	fzOpBlockedRead             // a read blocks; action x%7 ends it
	fzOpBlockedWrite            // a write blocks on a full buffer; action x%5 ends it
	fzNumOps
)

var fzOpNames = [fzNumOps]string{
	"Write", "WriteShort", "WriteCanceled", "WritePlain",
	"Read", "ReadShort", "ReadCanceled", "ReadPlain", "Zero",
	"SetReadDeadline", "SetWriteDeadline", "SetDeadline",
	"CloseWriter", "CloseReader", "BlockedRead", "BlockedWrite",
}

const fzMaxOps = 64

// fzOps encodes operations for seeds: each is op | x<<4, arg.
func fzOps(transport byte, ops ...[3]byte) []byte {
	b := []byte{transport}
	for _, o := range ops {
		b = append(b, o[0]|o[1]<<4, o[2])
	}
	return b
}

func fzStreamOpsSeeds() [][]byte {
	const pipe, sock = 0, 1
	return [][]byte{
		{},
		// write, read it back in pieces, EOF.
		fzOps(pipe, [3]byte{fzOpWrite, 0, 100}, [3]byte{fzOpRead, 0, 10}, [3]byte{fzOpReadPlain, 0, 200},
			[3]byte{fzOpCloseWriter, 0, 0}, [3]byte{fzOpRead, 0, 5}),
		// deadlines and ctxs with nothing pending, then with data.
		fzOps(sock, [3]byte{fzOpSetReadDeadline, 0, 1}, [3]byte{fzOpRead, 0, 8}, [3]byte{fzOpReadCanceled, 0, 8},
			[3]byte{fzOpReadShort, 3, 8}, [3]byte{fzOpSetReadDeadline, 0, 2}, [3]byte{fzOpReadPlain, 0, 8},
			[3]byte{fzOpSetReadDeadline, 0, 0}, [3]byte{fzOpWritePlain, 0, 50}, [3]byte{fzOpReadShort, 0, 20}),
		// a short write into a full pipe, exact accounting, blocked ops.
		fzOps(pipe, [3]byte{fzOpWriteShort, 2, 255}, [3]byte{fzOpRead, 0, 250}, [3]byte{fzOpBlockedWrite, 4, 240},
			[3]byte{fzOpBlockedRead, 0, 30}, [3]byte{fzOpBlockedRead, 3, 30}),
		// closes: use after close, write to a closed reader.
		fzOps(sock, [3]byte{fzOpWrite, 0, 10}, [3]byte{fzOpCloseReader, 0, 0}, [3]byte{fzOpWrite, 0, 10},
			[3]byte{fzOpZero, 1, 0}, [3]byte{fzOpRead, 0, 1}, [3]byte{fzOpZero, 0, 0}, [3]byte{fzOpCloseReader, 0, 0},
			[3]byte{fzOpCloseWriter, 0, 0}, [3]byte{fzOpWriteCanceled, 0, 4}, [3]byte{fzOpSetWriteDeadline, 0, 3}),
	}
}

// fzRec is one operation of an iteration, for the failure message.
type fzRec struct {
	op, x, arg byte
	what       string
}

// fzStreamModel is what FuzzStreamOps knows about its pair.
type fzStreamModel struct {
	t      *testing.T
	sock   bool
	r, w   *fdstream.Stream
	watch  *blockWatch
	fitCap int // pipe: bytes pending that always fit; socket: write budget (see fits)
	blockN int // a write of this size always blocks on a full buffer

	rClosed, wClosed bool
	rdl, wdl         fdtest.Deadline
	wOff, rOff       uint64 // bytes written to and read from the kernel buffer
	chunks           []int  // socket: sizes of the writes not fully read yet
	got              []byte // every byte read, in order
	buf              []byte // scratch for the write pattern

	hung  atomic.Bool
	trace []fzRec
}

func (m *fzStreamModel) pending() int { return int(m.wOff - m.rOff) }

func (m *fzStreamModel) failf(format string, args ...any) {
	m.t.Helper()
	var b strings.Builder
	kind := "pipe"
	if m.sock {
		kind = "socketpair"
	}
	fmt.Fprintf(&b, "%s: ", kind)
	fmt.Fprintf(&b, format, args...)
	if m.hung.Load() {
		b.WriteString("\n(the watchdog fired: an operation hung and both ends were closed)")
	}
	fmt.Fprintf(&b, "\nmodel: pending=%d written=%d read=%d rClosed=%v wClosed=%v rdl=%s wdl=%s\noperations:",
		m.pending(), m.wOff, m.rOff, m.rClosed, m.wClosed, fdtest.DeadlineNames[m.rdl], fdtest.DeadlineNames[m.wdl])
	for i, r := range m.trace {
		fmt.Fprintf(&b, "\n  %2d %s x=%d arg=%d: %s", i, fzOpNames[r.op], r.x, r.arg, r.what)
	}
	m.t.Fatal(b.String())
}

func (m *fzStreamModel) note(format string, args ...any) {
	r := &m.trace[len(m.trace)-1]
	switch {
	case len(r.what) < 1000:
		r.what += fmt.Sprintf(format, args...) + "; "
	case !strings.HasSuffix(r.what, "..."):
		r.what += "..."
	}
}

// fits reports whether a write of n bytes goes into the kernel buffer
// at once. A pipe takes half its capacity whatever the page layout of
// the bytes pending. A unix stream socket charges each write's skb
// (data plus overhead, at most about twice the data plus 1 KiB) to the
// writer until the reader has consumed all of it; half the send buffer
// always fits.
func (m *fzStreamModel) fits(n int) bool {
	if !m.sock {
		return m.pending()+n <= m.fitCap
	}
	cost := 0
	for _, c := range m.chunks {
		cost += 2*c + 1024
	}
	for n > 0 {
		c := min(n, 4096)
		cost += 2*c + 1024
		n -= c
	}
	return cost <= m.fitCap
}

func (m *fzStreamModel) clampFit(n int) int {
	for n > 0 && !m.fits(n) {
		n /= 2
	}
	return n
}

func (m *fzStreamModel) wrote(n int) {
	m.wOff += uint64(n)
	for n > 0 {
		c := min(n, 4096)
		m.chunks = append(m.chunks, c)
		n -= c
	}
}

func (m *fzStreamModel) consumed(p []byte) {
	m.got = append(m.got, p...)
	m.rOff += uint64(len(p))
	for n := len(p); n > 0; {
		if n >= m.chunks[0] {
			n -= m.chunks[0]
			m.chunks = m.chunks[1:]
		} else {
			m.chunks[0] -= n
			n = 0
		}
	}
}

// checkPathErr checks the shape of a Stream error.
func (m *fzStreamModel) checkPathErr(err error, op string, s *fdstream.Stream) {
	m.t.Helper()
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Op != op || pe.Path != s.Name() {
		m.failf("error %#v: want *os.PathError{Op: %q, Path: %q}", err, op, s.Name())
	}
	// Deadlines (os.ErrDeadlineExceeded) and ctx timeouts
	// (context.DeadlineExceeded) are timeouts; nothing else is.
	timeout := errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
	if isTimeout(err) != timeout {
		m.failf("error %v: Timeout() = %v, want %v", err, isTimeout(err), timeout)
	}
}

func (m *fzStreamModel) expectRead(k fzCtx, l int) fdtest.Expect {
	var e fdtest.Expect
	switch {
	case m.rClosed:
		e.Allow(os.ErrClosed)
		return e
	case l == 0:
		e.Full = true // before any ctx or deadline check
		return e
	case k == fzCtxCanceled:
		e.Allow(context.Canceled)
		return e
	case k == fzCtxShort:
		e.Allow(context.DeadlineExceeded)
	}
	switch m.rdl {
	case fdtest.DeadlinePast:
		e.Allow(os.ErrDeadlineExceeded)
		return e
	case fdtest.DeadlineSoon:
		e.Allow(os.ErrDeadlineExceeded)
	}
	switch {
	case m.pending() > 0:
		e.Data = true
	case m.wClosed:
		e.EOF = true
	}
	return e
}

func (m *fzStreamModel) expectWrite(k fzCtx, n int) fdtest.Expect {
	var e fdtest.Expect
	switch {
	case m.wClosed:
		e.Allow(os.ErrClosed)
		return e
	case k == fzCtxCanceled:
		e.Allow(context.Canceled)
		return e
	case k == fzCtxShort:
		e.Allow(context.DeadlineExceeded)
	}
	switch m.wdl {
	case fdtest.DeadlinePast:
		e.Allow(os.ErrDeadlineExceeded)
		return e
	case fdtest.DeadlineSoon:
		e.Allow(os.ErrDeadlineExceeded)
	}
	switch {
	case n == 0:
		e.Full = true
	case m.rClosed:
		e.Allow(syscall.EPIPE)
		if m.sock {
			// A unix socket whose peer closed with unread data may
			// report ECONNRESET once, depending on the kernel.
			e.Allow(syscall.ECONNRESET)
		}
	case m.fits(n):
		e.Full = true
	default:
		e.Full = true
		if len(e.Errs) > 0 {
			e.Partial = true
		}
	}
	return e
}

// checkRead checks a read's result against e and advances the model.
func (m *fzStreamModel) checkRead(e fdtest.Expect, p []byte, n int, err error) {
	m.t.Helper()
	m.note("read(%d) = %d, %v", len(p), n, err)
	switch {
	case err == nil && len(p) == 0:
		if !e.Full || n != 0 {
			m.failf("zero-length read = %d, nil; want %v", n, e)
		}
	case err == nil:
		if !e.Data || n < 1 || n > min(len(p), m.pending()) {
			m.failf("read(%d) = %d, nil; want %v with %d pending", len(p), n, e, m.pending())
		}
		for i := 0; i < n; i++ {
			if want := fzPattern(0, m.rOff+uint64(i)); p[i] != want {
				m.failf("read(%d) = %d bytes; byte %d (stream offset %d) is %#x, want %#x", len(p), n, i, m.rOff+uint64(i), p[i], want)
			}
		}
		m.consumed(p[:n])
	case err == io.EOF:
		if !e.EOF || n != 0 {
			m.failf("read(%d) = %d, io.EOF; want %v", len(p), n, e)
		}
	default:
		if n != 0 {
			m.failf("read(%d) = %d, %v: n must be 0 with an error", len(p), n, err)
		}
		m.checkPathErr(err, "read", m.r)
		want := e.Match(err)
		if want == nil {
			m.failf("read(%d) = %v; want %v", len(p), err, e)
		}
		if want == os.ErrDeadlineExceeded {
			m.rdl = fdtest.DeadlinePast // it passed and stays passed until set again
		}
	}
}

// checkWrite checks a write's result against e and advances the model.
func (m *fzStreamModel) checkWrite(e fdtest.Expect, l, n int, err error) {
	m.t.Helper()
	m.note("write(%d) = %d, %v", l, n, err)
	if err == nil {
		if !e.Full || n != l {
			m.failf("write(%d) = %d, nil; want %v", l, n, e)
		}
	} else {
		m.checkPathErr(err, "write", m.w)
		want := e.Match(err)
		if want == nil {
			m.failf("write(%d) = %d, %v; want %v", l, n, err, e)
		}
		if n < 0 || n >= max(l, 1) || (n > 0 && !e.Partial) {
			m.failf("write(%d) = %d, %v; want n == 0 (or a partial write where the buffer is full: %v)", l, n, err, e.Partial)
		}
		if want == os.ErrDeadlineExceeded {
			m.wdl = fdtest.DeadlinePast
		}
	}
	if !m.rClosed {
		m.wrote(n)
	}
}

func (m *fzStreamModel) pattern(n int) []byte {
	if cap(m.buf) < n {
		m.buf = make([]byte, n)
	}
	p := m.buf[:n]
	fzFill(p, 0, m.wOff)
	return p
}

func (m *fzStreamModel) read(k fzCtx, plain bool, x byte, l int) {
	m.t.Helper()
	e := m.expectRead(k, l)
	if e.Blocks() {
		k, plain = fzCtxShort, false
		e = m.expectRead(k, l)
		m.note("could block: short ctx instead")
	}
	p := make([]byte, l)
	var n int
	var err error
	if plain {
		n, err = m.r.Read(p)
	} else {
		ctx, cancel := fzContext(k, x)
		n, err = m.r.ReadContext(ctx, p)
		cancel()
	}
	m.checkRead(e, p, n, err)
}

func (m *fzStreamModel) write(k fzCtx, plain bool, x byte, l int, clamp bool) {
	m.t.Helper()
	if clamp {
		l = m.clampFit(l)
	}
	e := m.expectWrite(k, l)
	if e.Blocks() {
		m.failf("the model issued a write(%d) that could block unbounded", l) // clamping prevents it
	}
	p := m.pattern(l)
	var n int
	var err error
	if plain {
		n, err = m.w.Write(p)
	} else {
		ctx, cancel := fzContext(k, x)
		n, err = m.w.WriteContext(ctx, p)
		cancel()
	}
	m.checkWrite(e, l, n, err)
}

func (m *fzStreamModel) setDeadline(s *fdstream.Stream, op string, arg byte, read, write bool) {
	m.t.Helper()
	at, k := fdtest.DeadlineTime(arg)
	var err error
	switch {
	case read && write:
		err = s.SetDeadline(at)
	case read:
		err = s.SetReadDeadline(at)
	default:
		err = s.SetWriteDeadline(at)
	}
	m.note("%s(%s) = %v", op, fdtest.DeadlineNames[k], err)
	closed := (s == m.r && m.rClosed) || (s == m.w && m.wClosed)
	if closed {
		if !errors.Is(err, os.ErrClosed) {
			m.failf("%s after Close = %v, want os.ErrClosed", op, err)
		}
		m.checkPathErr(err, op, s)
		return
	}
	if err != nil {
		m.failf("%s = %v, want nil", op, err)
	}
	// Only the reader's read deadline and the writer's write deadline
	// matter to the model.
	if read && s == m.r {
		m.rdl = k
	}
	if write && s == m.w {
		m.wdl = k
	}
}

func (m *fzStreamModel) close(s *fdstream.Stream, closed *bool) {
	m.t.Helper()
	err := s.Close()
	m.note("Close(%s) = %v", s.Name(), err)
	if *closed {
		if !errors.Is(err, os.ErrClosed) {
			m.failf("second Close = %v, want os.ErrClosed", err)
		}
		m.checkPathErr(err, "close", s)
		return
	}
	if err != nil {
		m.failf("Close = %v, want nil", err)
	}
	*closed = true
}

// blockCount is how many times s has blocked since the watch began.
func (m *fzStreamModel) blockCount(s *fdstream.Stream) int {
	m.watch.mu.Lock()
	defer m.watch.mu.Unlock()
	return m.watch.waiting[s]
}

type fzResult struct {
	n   int
	err error
}

func (m *fzStreamModel) recv(ch <-chan fzResult) fzResult {
	m.t.Helper()
	select {
	case res := <-ch:
		return res
	case <-time.After(fdtest.Hang):
		m.failf("a blocked call did not return after its action") // the deferred closes unblock it
		return fzResult{}
	}
}

// blockedRead starts a read that blocks in the reactor, ends it with
// action x%7 once it is blocked, and checks its result.
func (m *fzStreamModel) blockedRead(x, arg byte) {
	m.t.Helper()
	l := max(1, fdtest.FuzzSize(arg))
	if m.rClosed || m.wClosed || m.pending() > 0 || m.rdl == fdtest.DeadlinePast || m.rdl == fdtest.DeadlineSoon {
		m.note("cannot block: short read instead")
		m.read(fzCtxShort, false, x, l)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	p := make([]byte, l)
	before := m.blockCount(m.r)
	ch := make(chan fzResult, 1)
	go func() {
		n, err := m.r.ReadContext(ctx, p)
		ch <- fzResult{n, err}
	}()
	m.watch.await(m.t, m.r, before+1)
	var e fdtest.Expect
	switch action := x % 7; action {
	case 0, 6: // data arrives (6: after the deadline was moved while blocked)
		if action == 6 {
			at, k := fdtest.DeadlineTime(3) // an hour ahead
			if err := m.r.SetReadDeadline(at); err != nil {
				m.failf("SetReadDeadline while blocked = %v", err)
			}
			m.rdl = k
			// No wait for a second block: on the runtime poller the
			// runtime re-arms its timer without waking the call.
		}
		if m.wdl == fdtest.DeadlinePast || m.wdl == fdtest.DeadlineSoon {
			m.setDeadline(m.w, "SetWriteDeadline", 0, false, true) // none
		}
		k := max(1, int(arg%64))
		ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
		n, err := m.w.WriteContext(ctx, m.pattern(k))
		cancel()
		m.checkWrite(fdtest.Expect{Full: true}, k, n, err)
		e.Data = true
	case 1:
		m.close(m.w, &m.wClosed)
		e.EOF = true
	case 2:
		if err := m.r.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
			m.failf("SetReadDeadline while blocked = %v", err)
		}
		e.Allow(os.ErrDeadlineExceeded)
	case 3:
		cancel()
		e.Allow(context.Canceled)
	case 4:
		m.close(m.r, &m.rClosed)
		e.Allow(os.ErrClosed)
	case 5:
		if err := m.r.SetReadDeadline(time.Now().Add(time.Duration(1+arg%50) * time.Microsecond)); err != nil {
			m.failf("SetReadDeadline while blocked = %v", err)
		}
		e.Allow(os.ErrDeadlineExceeded)
	}
	m.note("blocked read ended by action %d", x%7)
	res := m.recv(ch)
	m.checkRead(e, p, res.n, res.err)
}

// blockedWrite starts a write too large for the buffer, so that it
// blocks in the reactor, ends it with action x%5, and checks its result.
func (m *fzStreamModel) blockedWrite(x, arg byte) {
	m.t.Helper()
	if m.rClosed || m.wClosed || m.wdl == fdtest.DeadlinePast || m.wdl == fdtest.DeadlineSoon {
		m.note("cannot block: short write instead")
		m.write(fzCtxShort, false, x, fdtest.FuzzSize(arg), false)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	l := m.blockN
	p := m.pattern(l)
	before := m.blockCount(m.w)
	ch := make(chan fzResult, 1)
	go func() {
		n, err := m.w.WriteContext(ctx, p)
		ch <- fzResult{n, err}
	}()
	m.watch.await(m.t, m.w, before+1)
	var e fdtest.Expect
	e.Partial = true
	switch action := x % 5; action {
	case 0:
		m.close(m.w, &m.wClosed)
		e.Allow(os.ErrClosed)
	case 1:
		if err := m.w.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
			m.failf("SetWriteDeadline while blocked = %v", err)
		}
		e.Allow(os.ErrDeadlineExceeded)
	case 2:
		cancel()
		e.Allow(context.Canceled)
	case 3:
		m.close(m.r, &m.rClosed)
		e.Allow(syscall.EPIPE)
		if m.sock {
			e.Allow(syscall.ECONNRESET)
		}
	case 4:
		// Drain: read everything pending and all l bytes while the
		// write goes on; then it must return l, nil.
		m.note("draining while the write is blocked")
		if m.rdl == fdtest.DeadlinePast || m.rdl == fdtest.DeadlineSoon {
			m.setDeadline(m.r, "SetReadDeadline", 0, true, false) // none
		}
		m.wrote(l)
		for m.pending() > 0 {
			e := m.expectRead(fzCtxHang, 1)
			if !e.Data {
				m.failf("model: drain with nothing pending")
			}
			// At most about 64 reads: an iteration stays fast.
			m.read(fzCtxHang, false, 0, max(l/64, fdtest.FuzzSize(arg)))
		}
		res := m.recv(ch)
		m.note("blocked write(%d) = %d, %v", l, res.n, res.err)
		if res.n != l || res.err != nil {
			m.failf("blocked write(%d) while the reader drained = %d, %v; want %d, nil", l, res.n, res.err, l)
		}
		return
	}
	res := m.recv(ch)
	m.checkWrite(e, l, res.n, res.err)
}

// checkKernel compares the model's pending count with FIONREAD.
func (m *fzStreamModel) checkKernel() {
	m.t.Helper()
	if m.rClosed || m.hung.Load() {
		return
	}
	var n int
	if err := fdtest.Control(m.r, func(fd int) error {
		var err error
		n, err = unix.IoctlGetInt(fd, unix.TIOCINQ)
		return err
	}); err != nil {
		m.failf("FIONREAD: %v", err)
	}
	if n != m.pending() {
		m.failf("the kernel holds %d bytes, the model %d", n, m.pending())
	}
}

func fzStreamPair(t *testing.T, sock bool) (r, w *fdstream.Stream, fitCap, blockN int) {
	t.Helper()
	if !sock {
		r, w, err := fdstream.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		var size int
		if err := fdtest.Control(w, func(fd int) error {
			var err error
			size, err = unix.FcntlInt(uintptr(fd), unix.F_GETPIPE_SZ, 0)
			return err
		}); err != nil {
			r.Close()
			w.Close()
			t.Fatal(err)
		}
		return r, w, size / 2, 3 * size
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	w, err = fdstream.NewStream(fds[0], "sock:w")
	if err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		t.Fatal(err)
	}
	r, err = fdstream.NewStream(fds[1], "sock:r")
	if err != nil {
		w.Close()
		unix.Close(fds[1])
		t.Fatal(err)
	}
	var sndbuf int
	if err := fdtest.Control(w, func(fd int) error {
		var err error
		sndbuf, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF)
		return err
	}); err != nil {
		r.Close()
		w.Close()
		t.Fatal(err)
	}
	return r, w, sndbuf / 2, 2*sndbuf + 64<<10
}

func fzRunStreamOps(t *testing.T, data []byte) {
	sock := len(data) > 0 && data[0]&1 == 1
	r, w, fitCap, blockN := fzStreamPair(t, sock)
	m := &fzStreamModel{t: t, sock: sock, r: r, w: w, watch: watchBlocks(t), fitCap: fitCap, blockN: blockN}
	// The watchdog ends any call the model wrongly let block forever.
	dogDone := make(chan struct{})
	dog := time.AfterFunc(fdtest.Hang, func() {
		defer close(dogDone)
		m.hung.Store(true)
		r.Close()
		w.Close()
	})
	defer func() {
		if !dog.Stop() {
			<-dogDone
		}
		r.Close() // no-ops (os.ErrClosed) if the model closed them
		w.Close()
	}()

	for i := 1; i+1 < len(data) && len(m.trace) < fzMaxOps; i += 2 {
		op, x, arg := data[i]&15, data[i]>>4, data[i+1]
		m.trace = append(m.trace, fzRec{op: op, x: x, arg: arg})
		switch op {
		case fzOpWrite:
			m.write(fzCtxHang, false, x, fdtest.FuzzSize(arg), true)
		case fzOpWriteShort:
			m.write(fzCtxShort, false, x, fdtest.FuzzSize(arg)*4, false)
		case fzOpWriteCanceled:
			m.write(fzCtxCanceled, false, x, fdtest.FuzzSize(arg), true)
		case fzOpWritePlain:
			m.write(fzCtxHang, true, x, fdtest.FuzzSize(arg), true)
		case fzOpRead:
			m.read(fzCtxHang, false, x, fdtest.FuzzSize(arg))
		case fzOpReadShort:
			m.read(fzCtxShort, false, x, fdtest.FuzzSize(arg))
		case fzOpReadCanceled:
			m.read(fzCtxCanceled, false, x, fdtest.FuzzSize(arg))
		case fzOpReadPlain:
			m.read(fzCtxHang, true, x, fdtest.FuzzSize(arg))
		case fzOpZero:
			if k := fzCtx((x >> 1) % 3); x&1 == 0 {
				m.read(k, false, x, 0)
			} else {
				m.write(k, false, x, 0, false)
			}
		case fzOpSetReadDeadline:
			m.setDeadline(r, "SetReadDeadline", arg, true, false)
		case fzOpSetWriteDeadline:
			m.setDeadline(w, "SetWriteDeadline", arg, false, true)
		case fzOpSetDeadline:
			if x&1 == 0 {
				m.setDeadline(r, "SetDeadline", arg, true, true)
			} else {
				m.setDeadline(w, "SetDeadline", arg, true, true)
			}
		case fzOpCloseWriter:
			m.close(w, &m.wClosed)
		case fzOpCloseReader:
			m.close(r, &m.rClosed)
		case fzOpBlockedRead:
			m.blockedRead(x, arg)
		case fzOpBlockedWrite:
			m.blockedWrite(x, arg)
		}
		m.checkKernel()
	}

	// The end: close the writer, drain to io.EOF, and compare everything
	// read with the stream written.
	m.trace = append(m.trace, fzRec{op: fzOpCloseWriter, what: "(final) "})
	if !m.rClosed {
		m.setDeadline(r, "SetReadDeadline", 0, true, false) // none
		if !m.wClosed {
			m.close(w, &m.wClosed)
		}
		for m.pending() > 0 {
			m.read(fzCtxHang, false, 0, 64<<10)
		}
		m.read(fzCtxHang, false, 0, 16) // io.EOF
		m.read(fzCtxHang, true, 0, 16)  // and again
		if m.rOff != m.wOff {
			m.failf("read %d bytes in all, wrote %d", m.rOff, m.wOff)
		}
		m.close(r, &m.rClosed)
	} else if !m.wClosed {
		m.close(w, &m.wClosed)
	}
	want := make([]byte, len(m.got))
	fzFill(want, 0, 0)
	if uint64(len(m.got)) > m.wOff || !bytes.Equal(m.got, want) {
		m.failf("the %d bytes read are not the first bytes of the %d written", len(m.got), m.wOff)
	}
}

// FuzzStreamChunking moves a payload of up to 256 KiB through a pipe, a
// socketpair or a raw-mode pty (the first byte chooses; its bit 0x40 puts
// an fdstream.Copy from a pipe in front, which splices): a writer
// goroutine writes it in chunks whose sizes and calls (WriteContext with
// a ctx bounded by the hang limit, Write, or WriteContext with a ctx of
// microseconds whose partial writes are resumed from the n it reports;
// with a chunk's mode bit 0x80, the same as WriteBuffersContext over
// pieces of the chunk with nil and empty buffers between, or ReadFrom a
// bytes.Reader) come from the input, then closes its end; the test
// goroutine reads in chunks and with calls (ReadContext, Read,
// ReadContext with a short ctx, io.ReadFull; with bit 0x80,
// ReadBuffersContext with the three kinds of ctx, or WriteTo a writer
// that takes the chunk's size and then fails, whose CopyError hands back
// the rest) also from the input. It checks that every call keeps the io
// contracts (0 <= n <= len(p); n == 0 with an error; a short write only
// with its ctx's error; a zero-byte read only for a zero-length p), that
// timed-out calls lose nothing, that the bytes read are exactly the
// payload (bytes.Equal), and that reads at the end give io.EOF, twice.
func FuzzStreamChunking(f *testing.F) {
	for _, seed := range fzChunkingSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fzRunChunking(t, data)
	})
}

const fzMaxPayload = 256 << 10

type fzChunk struct {
	mode byte
	size int
}

type fzChunking struct {
	transport     byte // 0 pipe, 1 socketpair, 2 pty
	copyHop       bool // the writer writes a pipe that Copy copies into the transport
	payload       []byte
	writes, reads []fzChunk
}

var fzTransportNames = [...]string{"pipe", "socketpair", "pty"}

// fzChunkInput encodes a FuzzStreamChunking input: transport, payload
// length (3 bytes, little endian), the write chunks and the read chunks
// (a count, then mode and 2 size bytes each), then bytes that overwrite
// the start of the payload.
func fzChunkInput(transport byte, length int, writes, reads []fzChunk, content []byte) []byte {
	b := []byte{transport, byte(length), byte(length >> 8), byte(length >> 16)}
	for _, list := range [][]fzChunk{writes, reads} {
		b = append(b, byte(len(list)-1))
		for _, c := range list {
			b = append(b, c.mode, byte(c.size), byte(c.size>>8))
		}
	}
	return append(b, content...)
}

func fzChunkingSeeds() [][]byte {
	return [][]byte{
		{},
		fzChunkInput(0, 1000, []fzChunk{{0, 100}}, []fzChunk{{0, 64}}, []byte("hello")),
		fzChunkInput(1, 70000, []fzChunk{{2, 9000}, {1, 1}}, []fzChunk{{2 | 7<<2, 5000}, {3, 777}}, nil),
		fzChunkInput(2, 5000, []fzChunk{{1, 512}, {0, 0}}, []fzChunk{{1, 100}, {0, 0}}, []byte("\x03\x04\x11\x13\r\n\x7f")),
		// Vectored writes and reads, ReadFrom and WriteTo.
		fzChunkInput(0, 100000, []fzChunk{{0x80, 3000}, {0x81, 700}, {0x82 | 5<<2, 9000}}, []fzChunk{{0x80, 4000}, {0x83, 900}, {0x82, 50}}, nil),
		fzChunkInput(1, 200000, []fzChunk{{0x82 | 31<<2, 60000}, {0x80, 0}}, []fzChunk{{0x83, 0}, {0x81, 65535}}, nil),
		// A Copy from a pipe in front: straight splice, then through a
		// private pipe.
		fzChunkInput(0|0x40, 150000, []fzChunk{{0, 10000}, {0x80, 333}}, []fzChunk{{0, 8192}, {0x83, 100}}, nil),
		fzChunkInput(1|0x40, 150000, []fzChunk{{2 | 7<<2, 5000}}, []fzChunk{{2 | 3<<2, 3000}, {0x81, 1}}, nil),
		fzChunkInput(2|0x40, 20000, []fzChunk{{1, 512}}, []fzChunk{{1, 100}, {0x80, 7}}, nil),
	}
}

// fzBytes hands out input bytes, then zeros.
type fzBytes []byte

func (b *fzBytes) next() byte {
	if len(*b) == 0 {
		return 0
	}
	c := (*b)[0]
	*b = (*b)[1:]
	return c
}

func fzParseChunking(data []byte) fzChunking {
	in := fzBytes(data)
	var c fzChunking
	t := in.next()
	c.transport = (t &^ 0x40) % 3
	c.copyHop = t&0x40 != 0
	length := (int(in.next()) | int(in.next())<<8 | int(in.next())<<16) % (fzMaxPayload + 1)
	// At most about 512 non-empty calls each way keep an iteration fast.
	minChunk := max(1, length/512)
	for _, list := range []*[]fzChunk{&c.writes, &c.reads} {
		n := int(in.next()%8) + 1
		nonEmpty := false
		for i := 0; i < n; i++ {
			ch := fzChunk{mode: in.next()}
			ch.size = int(in.next()) | int(in.next())<<8
			if ch.size > 0 {
				ch.size = max(ch.size, minChunk)
				nonEmpty = true
			}
			*list = append(*list, ch)
		}
		if !nonEmpty {
			(*list)[0].size = minChunk
		}
	}
	// The payload: a stream seeded from the whole input, with the input
	// left over written over its start.
	seed := uint64(14695981039346656037)
	for _, b := range data {
		seed = (seed ^ uint64(b)) * 1099511628211
	}
	c.payload = make([]byte, length)
	for i := range c.payload {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		c.payload[i] = byte(seed >> 24)
	}
	copy(c.payload, in)
	return c
}

func fzShortCtx(mode byte) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), time.Duration(10+int(mode>>2)%32*20)*time.Microsecond)
}

func fzRunChunking(t *testing.T, data []byte) {
	c := fzParseChunking(data)
	var r, w *fdstream.Stream
	switch c.transport {
	case 0:
		r, w = mustPipe(t)
	case 1:
		r, w = mustSocketpair(t)
	default:
		r, w = mustPTY(t) // raw mode: bytes cross unchanged; slave writes, master reads
	}
	// With a Copy in front, the writer writes hopW, and Copy copies
	// hopR into w, which it closes at the end, as the writer would.
	hopR, hopW := r, w
	copyErrc := make(chan error, 1)
	if c.copyHop {
		hopR, hopW = mustPipe(t)
	}
	var hung atomic.Bool
	dogDone := make(chan struct{})
	dog := time.AfterFunc(fdtest.Hang, func() {
		defer close(dogDone)
		hung.Store(true)
		r.Close()
		w.Close()
		hopR.Close()
		hopW.Close()
	})
	werrc := make(chan error, 1)
	defer func() {
		if !dog.Stop() {
			<-dogDone
		}
		r.Close()
		w.Close() // ends the writer if the reader failed
		hopR.Close()
		hopW.Close()
		<-werrc
		if c.copyHop {
			<-copyErrc
		}
	}()
	failf := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf("%s, %d bytes: ", fzTransportNames[c.transport], len(c.payload)) + fmt.Sprintf(format, args...)
		if hung.Load() {
			msg += " (the watchdog fired: a call hung and both ends were closed)"
		}
		t.Fatalf("%s\nwrites %v\nreads %v", msg, c.writes, c.reads)
	}

	go func() {
		werrc <- fzWriteChunks(hopW, c)
	}()
	if c.copyHop {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
			defer cancel()
			n, err := fdstream.Copy(ctx, w, hopR)
			if cerr := w.Close(); err == nil && cerr != nil {
				err = cerr
			}
			if err == nil && n != int64(len(c.payload)) {
				err = fmt.Errorf("Copy = %d, nil; %d bytes were written", n, len(c.payload))
			}
			copyErrc <- err
		}()
	}

	got := make([]byte, 0, len(c.payload))
	maxRead := 0
	for _, ch := range c.reads {
		maxRead = max(maxRead, ch.size)
	}
	buf := make([]byte, maxRead)
	shortFails := 0
	for i := 0; ; i++ {
		ch := c.reads[i%len(c.reads)]
		p := buf[:ch.size]
		mode := ch.mode % 4
		if mode == 2 && shortFails >= 3 {
			mode = 0 // a ctx that keeps expiring at entry would make no progress
		}
		var n int
		var err error
		switch {
		case ch.mode&0x80 != 0 && mode == 3:
			// WriteTo a writer that takes len(p) bytes and fails: what
			// it took, then what the CopyError hands back, is what
			// WriteTo read.
			tw := &failingWriter{take: len(p)}
			var n64 int64
			n64, err = r.WriteTo(tw)
			var ce *fdstream.CopyError
			switch {
			case n64 != int64(tw.buf.Len()):
				failf("read %d: WriteTo = %d, the writer took %d", i, n64, tw.buf.Len())
			case err == nil:
				err = io.EOF // WriteTo reached the end
			case !errors.As(err, &ce) || !errors.Is(err, errTookEnough):
				failf("read %d: WriteTo = %d, %v; want the writer's error in a CopyError", i, n64, err)
			default:
				err = nil
			}
			got = append(got, tw.buf.Bytes()...)
			if ce != nil {
				got = append(got, ce.Unwritten...)
			}
			if len(got) > len(c.payload) {
				failf("read %d bytes, more than the %d written", len(got), len(c.payload))
			}
			if err == nil {
				continue
			}
			// At the end: n stays 0 (the bytes are in got already), and
			// the end-of-stream checks below run.
		case ch.mode&0x80 != 0:
			// ReadBuffersContext over p cut in three, with a nil and an
			// empty buffer between.
			bufs := [][]byte{p[:len(p)/3], nil, p[len(p)/3 : len(p)/2], {}, p[len(p)/2:]}
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			switch mode {
			case 0:
				ctx, cancel = context.WithTimeout(context.Background(), fdtest.Hang)
			case 2:
				ctx, cancel = fzShortCtx(ch.mode)
			}
			var n64 int64
			n64, err = r.ReadBuffersContext(ctx, bufs)
			cancel()
			n = int(n64)
		case mode == 0:
			ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
			n, err = r.ReadContext(ctx, p)
			cancel()
		case mode == 1:
			n, err = r.Read(p)
		case mode == 2:
			ctx, cancel := fzShortCtx(ch.mode)
			n, err = r.ReadContext(ctx, p)
			cancel()
		case mode == 3:
			n, err = io.ReadFull(r, p)
		}
		if n < 0 || n > len(p) {
			failf("read %d (mode %d) = %d of %d", i, mode, n, len(p))
		}
		got = append(got, p[:n]...)
		if len(got) > len(c.payload) {
			failf("read %d bytes, more than the %d written", len(got), len(c.payload))
		}
		if mode == 3 && ch.mode&0x80 == 0 && err == io.ErrUnexpectedEOF && n > 0 {
			err = io.EOF // io.ReadFull met the end part way
		}
		if err == io.EOF {
			if n != 0 && (mode != 3 || ch.mode&0x80 != 0) {
				failf("read %d = %d, io.EOF: want n == 0 at end of stream", i, n)
			}
			break
		}
		// Only progress resets the count: a zero-length read between
		// short-ctx reads that expire at entry must not keep them coming
		// (a livelock the fuzzer found, ended by the watchdog).
		if n > 0 {
			shortFails = 0
		}
		switch {
		case err == nil && n == 0 && len(p) > 0:
			failf("read %d (mode %d) = 0, nil with len(p) = %d", i, mode, len(p))
		case err == nil:
		case mode == 2 && errors.Is(err, context.DeadlineExceeded) && n == 0:
			shortFails++
		default:
			failf("read %d (mode %d, len %d) after %d bytes = %d, %v", i, mode, len(p), len(got), n, err)
		}
	}
	for i := 0; i < 2; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
		n, err := r.ReadContext(ctx, make([]byte, 8))
		cancel()
		if n != 0 || err != io.EOF {
			failf("read after end of stream = %d, %v; want 0, io.EOF", n, err)
		}
	}
	// The writer closed its end after its last call: it has finished, or
	// is about to. Its error, if any, explains an early end of stream.
	select {
	case err := <-werrc:
		werrc <- nil // for the deferred receive
		if err != nil {
			failf("writer: %v", err)
		}
	case <-time.After(fdtest.Hang):
		failf("the writer did not finish after the reader saw io.EOF")
	}
	if c.copyHop {
		select {
		case err := <-copyErrc:
			copyErrc <- nil // for the deferred receive
			if err != nil {
				failf("Copy in front: %v", err)
			}
		case <-time.After(fdtest.Hang):
			failf("the Copy in front did not finish after the reader saw io.EOF")
		}
	}
	if !bytes.Equal(got, c.payload) {
		i := 0
		for i < len(got) && got[i] == c.payload[i] {
			i++
		}
		failf("read %d bytes, first difference at offset %d", len(got), i)
	}
	if err := r.Close(); err != nil {
		failf("reader Close = %v", err)
	}
}

// fzPieces cuts p into pieces of size bytes, with a nil and an empty
// buffer after each.
func fzPieces(p []byte, size int) [][]byte {
	var v [][]byte
	for len(p) > 0 {
		n := min(size, len(p))
		v = append(v, p[:n:n], nil, []byte{})
		p = p[n:]
	}
	return v
}

// fzWriteChunks writes c.payload to w in c.writes' chunks, then closes
// w, and reports the first broken contract.
func fzWriteChunks(w *fdstream.Stream, c fzChunking) (err error) {
	defer func() {
		if cerr := w.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("Close = %v", cerr)
		}
	}()
	shortFails := 0
	for i, off := 0, 0; off < len(c.payload) || i == 0; i++ {
		ch := c.writes[i%len(c.writes)]
		p := c.payload[off:min(off+ch.size, len(c.payload))]
		mode := ch.mode % 3
		if mode == 2 && shortFails >= 3 {
			mode = 0
		}
		var n int
		var err error
		switch {
		case ch.mode&0x80 != 0 && mode == 1:
			var n64 int64
			n64, err = w.ReadFrom(bytes.NewReader(p))
			n = int(n64)
		case ch.mode&0x80 != 0:
			// WriteBuffersContext over p cut in pieces whose size the
			// mode picks, with a nil and an empty buffer between.
			ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
			if mode == 2 {
				cancel()
				ctx, cancel = fzShortCtx(ch.mode)
			}
			var n64 int64
			n64, err = w.WriteBuffersContext(ctx, fzPieces(p, 1+int(ch.mode>>2)%32*97))
			cancel()
			n = int(n64)
		case mode == 0:
			ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
			n, err = w.WriteContext(ctx, p)
			cancel()
		case mode == 1:
			n, err = w.Write(p)
		case mode == 2:
			ctx, cancel := fzShortCtx(ch.mode)
			n, err = w.WriteContext(ctx, p)
			cancel()
		}
		switch {
		case n < 0 || n > len(p):
			return fmt.Errorf("write %d (mode %d) = %d of %d", i, mode, n, len(p))
		case err == nil && n != len(p):
			return fmt.Errorf("write %d (mode %d) = %d of %d with a nil error", i, mode, n, len(p))
		case err == nil:
			if n > 0 {
				// Only progress resets the count: zero-length writes
				// between short-ctx writes that expire at entry (their
				// ctx of microseconds runs out while fzPieces cuts
				// thousands of pieces) must not keep them coming, a
				// livelock the fuzzer found
				// (FuzzStreamChunking/8dbe9fd58140aabe).
				shortFails = 0
			}
		case mode == 2 && errors.Is(err, context.DeadlineExceeded) && (n < len(p) || n == 0):
			// (a zero-length write too fails when its ctx is done at entry)
			if n == 0 {
				shortFails++
			} else {
				shortFails = 0
			}
		default:
			return fmt.Errorf("write %d (mode %d, len %d) at offset %d = %d, %v", i, mode, len(p), off, n, err)
		}
		off += n
	}
	return nil
}
