package adapters_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/adapters"
	"github.com/fdstream/fdstream/internal/fdtest"
)

// FuzzConnOps decodes its input into a sequence of at most 64 operations
// on the two ends of adapters.Pipe() and checks each result against a
// model of the pair (two kernel pipes, one each way) and of what Conn
// promises:
//
//   - bytes written by one end are read by the other, exactly and in
//     order: a read returns 1..min(len(p), pending) bytes, a write all of
//     p, or, when it had to wait and was stopped, the n bytes that did
//     reach the pipe, which the peer then reads and nothing more;
//   - every error is a *net.OpError with the operation's Op and Net
//     "pipe"; a deadline gives a net.Error whose Timeout() is true and
//     which wraps os.ErrDeadlineExceeded; a done ctx wraps ctx.Err(); use
//     after Close (and reads after CloseRead, writes after CloseWrite)
//     wraps net.ErrClosed; a write whose peer can no longer read gives
//     EPIPE in an *os.SyscallError; end of stream is io.EOF itself, once
//     the peer's CloseWrite or Close has happened and the data is drained;
//   - a second Close, CloseRead or CloseWrite wraps net.ErrClosed;
//     deadlines on a half-closed side are accepted; after Close, setting a
//     deadline wraps net.ErrClosed, as SetDeadline's doc says;
//   - a read that may be blocked (started in a goroutine, with no data,
//     no deadline) is ended by the peer's data, CloseWrite or Close, by
//     its own deadline set in the past, its ctx's cancel, its Close or
//     CloseRead; a write on a full pipe by its Close, CloseWrite,
//     deadline, cancel, the peer's Close or CloseRead (EPIPE), or the
//     peer draining everything;
//   - nothing panics or hangs (every call that can wait has a ctx, a
//     deadline or a concurrent action to end it, and a watchdog closes
//     both Conns after the hang limit).
//
// Finally it closes the writing sides, drains each direction to io.EOF,
// and checks that everything read is what was written, in order.
func FuzzConnOps(f *testing.F) {
	for _, seed := range fzConnSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fzRunConnOps(t, data)
	})
}

// The operations of FuzzConnOps. Each takes two input bytes: bit 0 of
// the first chooses the end (a or b), bits 1-4 the operation, bits 5-7 a
// small parameter x; the second, arg, is a size or a deadline.
const (
	fzOpWrite            = iota // Write, size clamped to what fits
	fzOpWriteShort              // WriteContext(short ctx), up to 256 KiB: may be partial
	fzOpWriteCanceled           // WriteContext(done ctx)
	fzOpRead                    // Read; ReadContext(short ctx) if it could block
	fzOpReadShort               // ReadContext(short ctx)
	fzOpReadCanceled            // ReadContext(done ctx)
	fzOpSetReadDeadline         //
	fzOpSetWriteDeadline        //
	fzOpSetDeadline             //
	fzOpCloseWrite              //
	fzOpCloseRead               //
	fzOpClose                   //
	fzOpBlockedRead             // a read that may block; action x%7 ends it
	fzOpBlockedWrite            // a write on a full pipe; action x%7 ends it
	fzOpZero                    // zero-length Read (x even) or Write (x odd)
	fzOpAddrs                   // LocalAddr, RemoteAddr, SyscallConn
	fzNumOps
)

var fzOpNames = [fzNumOps]string{
	"Write", "WriteShort", "WriteCanceled", "Read", "ReadShort", "ReadCanceled",
	"SetReadDeadline", "SetWriteDeadline", "SetDeadline", "CloseWrite", "CloseRead", "Close",
	"BlockedRead", "BlockedWrite", "Zero", "Addrs",
}

const fzMaxOps = 64

// fzOps encodes operations for seeds: {end, op, x, arg}.
func fzOps(ops ...[4]byte) []byte {
	var b []byte
	for _, o := range ops {
		b = append(b, o[0]&1|o[1]<<1|o[2]<<5, o[3])
	}
	return b
}

func fzConnSeeds() [][]byte {
	const a, b = 0, 1
	return [][]byte{
		{},
		// both directions, partial reads, half-close, EOF.
		fzOps([4]byte{a, fzOpWrite, 0, 100}, [4]byte{b, fzOpWrite, 0, 7}, [4]byte{b, fzOpRead, 0, 30},
			[4]byte{a, fzOpRead, 0, 200}, [4]byte{a, fzOpCloseWrite, 0, 0}, [4]byte{b, fzOpRead, 0, 255},
			[4]byte{b, fzOpRead, 0, 1}, [4]byte{a, fzOpWrite, 0, 1}, [4]byte{b, fzOpWrite, 0, 3}, [4]byte{a, fzOpRead, 0, 3}),
		// deadlines and ctxs.
		fzOps([4]byte{b, fzOpSetReadDeadline, 0, 1}, [4]byte{b, fzOpRead, 0, 8}, [4]byte{b, fzOpSetDeadline, 0, 2},
			[4]byte{b, fzOpRead, 0, 8}, [4]byte{a, fzOpSetWriteDeadline, 0, 1}, [4]byte{a, fzOpWrite, 0, 9},
			[4]byte{a, fzOpReadCanceled, 0, 4}, [4]byte{a, fzOpWriteCanceled, 0, 4}, [4]byte{a, fzOpReadShort, 1, 4},
			[4]byte{a, fzOpSetDeadline, 0, 0}, [4]byte{a, fzOpWriteShort, 3, 255}, [4]byte{b, fzOpRead, 0, 255}),
		// blocked calls ended by the other side.
		fzOps([4]byte{a, fzOpBlockedRead, 0, 20}, [4]byte{b, fzOpBlockedWrite, 6, 240}, [4]byte{b, fzOpBlockedRead, 3, 5},
			[4]byte{a, fzOpBlockedWrite, 4, 0}, [4]byte{a, fzOpRead, 0, 5}, [4]byte{b, fzOpBlockedRead, 1, 5}),
		// closes: use after close, EPIPE, second closes, addresses.
		fzOps([4]byte{a, fzOpWrite, 0, 10}, [4]byte{b, fzOpCloseRead, 0, 0}, [4]byte{a, fzOpWrite, 0, 10},
			[4]byte{b, fzOpCloseRead, 0, 0}, [4]byte{b, fzOpSetReadDeadline, 0, 3}, [4]byte{b, fzOpAddrs, 0, 0},
			[4]byte{a, fzOpClose, 0, 0}, [4]byte{a, fzOpRead, 0, 1}, [4]byte{a, fzOpZero, 1, 0}, [4]byte{a, fzOpClose, 0, 0},
			[4]byte{a, fzOpCloseWrite, 0, 0}, [4]byte{a, fzOpAddrs, 0, 0}, [4]byte{b, fzOpWrite, 0, 5}, [4]byte{b, fzOpRead, 0, 5}),
	}
}

// fzPattern is byte off of direction salt's known stream.
func fzPattern(salt, off uint64) byte {
	x := (off + salt<<40 + 1) * 0x9E3779B97F4A7C15
	x ^= x >> 29
	return byte(x >> 32)
}

func fzFill(p []byte, salt, off uint64) {
	for i := range p {
		p[i] = fzPattern(salt, off+uint64(i))
	}
}

type fzCtx uint8

const (
	fzCtxNone     fzCtx = iota // plain Read or Write: issued only where the model says it cannot block
	fzCtxHang                  // a ctx bounded only by the hang limit
	fzCtxShort                 // expires within microseconds
	fzCtxCanceled              // done before the call
)

func fzContext(k fzCtx, x byte) (context.Context, context.CancelFunc) {
	switch k {
	case fzCtxShort:
		return context.WithTimeout(context.Background(), time.Duration(5+int(x%8)*10)*time.Microsecond)
	case fzCtxCanceled:
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx, cancel
	}
	return context.WithTimeout(context.Background(), fdtest.Hang)
}

// fzEnd is the model of one Conn.
type fzEnd struct {
	name string
	c    *adapters.Conn

	closed, rClosed, wDone bool // Close, CloseRead, CloseWrite happened
	rdl, wdl               fdtest.Deadline
}

func (e *fzEnd) canRead() bool  { return !e.closed && !e.rClosed }
func (e *fzEnd) canWrite() bool { return !e.closed && !e.wDone }

// fzDir is the model of the pipe written by end i and read by end 1-i.
type fzDir struct {
	wOff, rOff uint64
	got        []byte
}

func (d *fzDir) pending() int { return int(d.wOff - d.rOff) }

type fzRec struct {
	end, op, x, arg byte
	what            string
}

type fzConnModel struct {
	t      *testing.T
	end    [2]fzEnd
	dir    [2]fzDir // dir[i]: written by end i
	fitCap int      // pending bytes that always fit in a pipe
	blockN int      // a write of this size always blocks
	buf    []byte

	hung  atomic.Bool
	trace []fzRec
}

func (m *fzConnModel) failf(format string, args ...any) {
	m.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, format, args...)
	if m.hung.Load() {
		b.WriteString("\n(the watchdog fired: an operation hung and both Conns were closed)")
	}
	for i, e := range m.end {
		d := &m.dir[i]
		fmt.Fprintf(&b, "\nmodel %s: closed=%v rClosed=%v wDone=%v rdl=%s wdl=%s; %s->: written=%d read=%d",
			e.name, e.closed, e.rClosed, e.wDone, fdtest.DeadlineNames[e.rdl], fdtest.DeadlineNames[e.wdl], e.name, d.wOff, d.rOff)
	}
	b.WriteString("\noperations:")
	for i, r := range m.trace {
		fmt.Fprintf(&b, "\n  %2d %s.%s x=%d arg=%d: %s", i, m.end[r.end].name, fzOpNames[r.op], r.x, r.arg, r.what)
	}
	m.t.Fatal(b.String())
}

func (m *fzConnModel) note(format string, args ...any) {
	r := &m.trace[len(m.trace)-1]
	switch {
	case len(r.what) < 1000:
		r.what += fmt.Sprintf(format, args...) + "; "
	case !strings.HasSuffix(r.what, "..."):
		r.what += "..."
	}
}

// checkOpErr checks the shape of a Conn error.
func (m *fzConnModel) checkOpErr(err error, op string, e int) {
	m.t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op || oe.Net != "pipe" {
		m.failf("%s.%s error %#v: want *net.OpError{Op: %q, Net: \"pipe\"}", m.end[e].name, op, err, op)
	}
	if oe.Source == nil || oe.Source.String() != m.end[e].name || oe.Addr == nil || oe.Addr.String() != m.end[1-e].name {
		m.failf("%s.%s error %v: Source %v, Addr %v", m.end[e].name, op, err, oe.Source, oe.Addr)
	}
	timeout := errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
	var ne net.Error
	if !errors.As(err, &ne) || ne.Timeout() != timeout {
		m.failf("%s.%s error %v: want a net.Error with Timeout() == %v", m.end[e].name, op, err, timeout)
	}
	if errors.Is(err, syscall.EPIPE) {
		var se *os.SyscallError
		if !errors.As(err, &se) {
			m.failf("%s.%s error %v: EPIPE not in an *os.SyscallError", m.end[e].name, op, err)
		}
	}
}

func (m *fzConnModel) fits(d, n int) bool { return m.dir[d].pending()+n <= m.fitCap }

func (m *fzConnModel) expectRead(e int, k fzCtx, l int) fdtest.Expect {
	var x fdtest.Expect
	me, d, peer := &m.end[e], &m.dir[1-e], &m.end[1-e]
	switch {
	case !me.canRead():
		x.Allow(net.ErrClosed)
		return x
	case l == 0:
		x.Full = true
		return x
	case k == fzCtxCanceled:
		x.Allow(context.Canceled)
		return x
	case k == fzCtxShort:
		x.Allow(context.DeadlineExceeded)
	}
	switch me.rdl {
	case fdtest.DeadlinePast:
		x.Allow(os.ErrDeadlineExceeded)
		return x
	case fdtest.DeadlineSoon:
		x.Allow(os.ErrDeadlineExceeded)
	}
	switch {
	case d.pending() > 0:
		x.Data = true
	case !peer.canWrite():
		x.EOF = true
	}
	return x
}

func (m *fzConnModel) expectWrite(e int, k fzCtx, n int) fdtest.Expect {
	var x fdtest.Expect
	me, peer := &m.end[e], &m.end[1-e]
	switch {
	case !me.canWrite():
		x.Allow(net.ErrClosed)
		return x
	case k == fzCtxCanceled:
		x.Allow(context.Canceled)
		return x
	case k == fzCtxShort:
		x.Allow(context.DeadlineExceeded)
	}
	switch me.wdl {
	case fdtest.DeadlinePast:
		x.Allow(os.ErrDeadlineExceeded)
		return x
	case fdtest.DeadlineSoon:
		x.Allow(os.ErrDeadlineExceeded)
	}
	switch {
	case n == 0:
		x.Full = true
	case !peer.canRead():
		x.Allow(syscall.EPIPE)
	case m.fits(e, n):
		x.Full = true
	default:
		x.Full = true
		x.Partial = len(x.Errs) > 0
	}
	return x
}

func (m *fzConnModel) checkRead(e int, x fdtest.Expect, p []byte, n int, err error) {
	m.t.Helper()
	d := &m.dir[1-e]
	m.note("read(%d) = %d, %v", len(p), n, err)
	switch {
	case err == nil && len(p) == 0:
		if !x.Full || n != 0 {
			m.failf("zero-length read = %d, nil; want %v", n, x)
		}
	case err == nil:
		if !x.Data || n < 1 || n > min(len(p), d.pending()) {
			m.failf("read(%d) = %d, nil; want %v with %d pending", len(p), n, x, d.pending())
		}
		for i := 0; i < n; i++ {
			if want := fzPattern(uint64(1-e), d.rOff+uint64(i)); p[i] != want {
				m.failf("read(%d) = %d bytes; byte %d (stream offset %d) is %#x, want %#x", len(p), n, i, d.rOff+uint64(i), p[i], want)
			}
		}
		d.got = append(d.got, p[:n]...)
		d.rOff += uint64(n)
	case err == io.EOF:
		if !x.EOF || n != 0 {
			m.failf("read(%d) = %d, io.EOF; want %v", len(p), n, x)
		}
	default:
		if n != 0 {
			m.failf("read(%d) = %d, %v: n must be 0 with an error", len(p), n, err)
		}
		m.checkOpErr(err, "read", e)
		want := x.Match(err)
		if want == nil {
			m.failf("read(%d) = %v; want %v", len(p), err, x)
		}
		if want == os.ErrDeadlineExceeded {
			m.end[e].rdl = fdtest.DeadlinePast
		}
	}
}

func (m *fzConnModel) checkWrite(e int, x fdtest.Expect, l, n int, err error) {
	m.t.Helper()
	m.note("write(%d) = %d, %v", l, n, err)
	if err == nil {
		if !x.Full || n != l {
			m.failf("write(%d) = %d, nil; want %v", l, n, x)
		}
	} else {
		m.checkOpErr(err, "write", e)
		want := x.Match(err)
		if want == nil {
			m.failf("write(%d) = %d, %v; want %v", l, n, err, x)
		}
		if n < 0 || n >= max(l, 1) || (n > 0 && !x.Partial) {
			m.failf("write(%d) = %d, %v; want n == 0 (or a partial write where the pipe is full: %v)", l, n, err, x.Partial)
		}
		if want == os.ErrDeadlineExceeded {
			m.end[e].wdl = fdtest.DeadlinePast
		}
	}
	if m.end[1-e].canRead() {
		m.dir[e].wOff += uint64(n)
	}
}

func (m *fzConnModel) pattern(e, n int) []byte {
	if cap(m.buf) < n {
		m.buf = make([]byte, n)
	}
	p := m.buf[:n]
	fzFill(p, uint64(e), m.dir[e].wOff)
	return p
}

func (m *fzConnModel) read(e int, k fzCtx, x byte, l int) {
	m.t.Helper()
	exp := m.expectRead(e, k, l)
	if exp.Blocks() {
		k = fzCtxShort
		exp = m.expectRead(e, k, l)
		m.note("could block: short ctx instead")
	}
	p := make([]byte, l)
	var n int
	var err error
	if k == fzCtxNone {
		n, err = m.end[e].c.Read(p)
	} else {
		ctx, cancel := fzContext(k, x)
		n, err = m.end[e].c.ReadContext(ctx, p)
		cancel()
	}
	m.checkRead(e, exp, p, n, err)
}

func (m *fzConnModel) write(e int, k fzCtx, x byte, l int, clamp bool) {
	m.t.Helper()
	if clamp {
		l = max(0, min(l, m.fitCap-m.dir[e].pending()))
	}
	exp := m.expectWrite(e, k, l)
	if exp.Blocks() {
		m.failf("the model issued a write(%d) that could block unbounded", l)
	}
	p := m.pattern(e, l)
	var n int
	var err error
	if k == fzCtxNone {
		n, err = m.end[e].c.Write(p)
	} else {
		ctx, cancel := fzContext(k, x)
		n, err = m.end[e].c.WriteContext(ctx, p)
		cancel()
	}
	m.checkWrite(e, exp, l, n, err)
}

func (m *fzConnModel) setDeadline(e int, op string, arg byte, read, write bool) {
	m.t.Helper()
	me := &m.end[e]
	at, k := fdtest.DeadlineTime(arg)
	var err error
	switch {
	case read && write:
		err = me.c.SetDeadline(at)
	case read:
		err = me.c.SetReadDeadline(at)
	default:
		err = me.c.SetWriteDeadline(at)
	}
	m.note("%s(%s) = %v", op, fdtest.DeadlineNames[k], err)
	if me.closed {
		// SetDeadline's doc: after Close it returns an error wrapping
		// net.ErrClosed (as net's own connections do).
		if !errors.Is(err, net.ErrClosed) {
			m.failf("%s.%s after Close = %v, want an error wrapping net.ErrClosed", me.name, op, err)
		}
		m.checkOpErr(err, "set", e)
		return
	}
	if err != nil {
		m.failf("%s.%s = %v, want nil (a half-closed side takes deadlines too)", me.name, op, err)
	}
	if read && !me.rClosed {
		me.rdl = k
	}
	if write && !me.wDone {
		me.wdl = k
	}
}

func (m *fzConnModel) closeOp(e int, op string) {
	m.t.Helper()
	me := &m.end[e]
	var err error
	var done *bool
	switch op {
	case "close":
		err, done = me.c.Close(), &me.closed
	case "closeread":
		err, done = me.c.CloseRead(), &me.rClosed
	case "closewrite":
		err, done = me.c.CloseWrite(), &me.wDone
	}
	m.note("%s.%s = %v", me.name, op, err)
	if *done || me.closed {
		if !errors.Is(err, net.ErrClosed) {
			m.failf("%s.%s after it or Close = %v, want net.ErrClosed", me.name, op, err)
		}
		m.checkOpErr(err, op, e)
		*done = true
		return
	}
	if err != nil {
		m.failf("%s.%s = %v, want nil", me.name, op, err)
	}
	*done = true
}

func (m *fzConnModel) addrs(e int) {
	m.t.Helper()
	me := &m.end[e]
	if la, ra := me.c.LocalAddr(), me.c.RemoteAddr(); la.Network() != "pipe" || la.String() != me.name ||
		ra.Network() != "pipe" || ra.String() != m.end[1-e].name {
		m.failf("%s: LocalAddr %s/%s RemoteAddr %s/%s", me.name, la.Network(), la, ra.Network(), ra)
	}
	if (me.rClosed || me.wDone) && !me.closed {
		return // half-closed: SyscallConn's answer is not specified
	}
	_, err := me.c.SyscallConn()
	m.note("SyscallConn() = %v", err)
	if me.closed {
		if !errors.Is(err, net.ErrClosed) {
			m.failf("%s.SyscallConn after Close = %v, want net.ErrClosed", me.name, err)
		}
		m.checkOpErr(err, "syscallconn", e)
	} else if err != nil {
		m.failf("%s.SyscallConn = %v", me.name, err)
	}
}

type fzResult struct {
	n   int
	err error
}

func (m *fzConnModel) recv(ch <-chan fzResult) fzResult {
	m.t.Helper()
	select {
	case res := <-ch:
		return res
	case <-time.After(fdtest.Hang):
		m.failf("a blocked call did not return after its action")
		return fzResult{}
	}
}

// blockedRead starts a read on end e with nothing to read and no deadline
// (it blocks unless the action below wins the race to it: the outcome is
// the same either way), ends it with action x%7, and checks the result.
func (m *fzConnModel) blockedRead(e int, x, arg byte) {
	m.t.Helper()
	me, peer, d := &m.end[e], &m.end[1-e], &m.dir[1-e]
	l := max(1, fdtest.FuzzSize(arg))
	if !me.canRead() || !peer.canWrite() || d.pending() > 0 || me.rdl == fdtest.DeadlinePast || me.rdl == fdtest.DeadlineSoon {
		m.note("cannot block: short read instead")
		m.read(e, fzCtxShort, x, l)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	p := make([]byte, l)
	ch := make(chan fzResult, 1)
	go func() {
		n, err := me.c.ReadContext(ctx, p)
		ch <- fzResult{n, err}
	}()
	var exp fdtest.Expect
	switch action := x % 7; action {
	case 0: // the peer writes
		if peer.wdl == fdtest.DeadlinePast || peer.wdl == fdtest.DeadlineSoon {
			m.setDeadline(1-e, "SetWriteDeadline", 0, false, true)
		}
		k := max(1, int(arg%64))
		n, err := peer.c.Write(m.pattern(1-e, k))
		m.checkWrite(1-e, fdtest.Expect{Full: true}, k, n, err)
		exp.Data = true
	case 1:
		m.closeOp(1-e, "closewrite")
		exp.EOF = true
	case 2:
		m.closeOp(1-e, "close")
		exp.EOF = true
	case 3:
		if err := me.c.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
			m.failf("SetReadDeadline = %v", err)
		}
		exp.Allow(os.ErrDeadlineExceeded)
	case 4:
		cancel()
		exp.Allow(context.Canceled)
	case 5:
		m.closeOp(e, "close")
		exp.Allow(net.ErrClosed)
	case 6:
		m.closeOp(e, "closeread")
		exp.Allow(net.ErrClosed)
	}
	m.note("read ended by action %d", x%7)
	res := m.recv(ch)
	m.checkRead(e, exp, p, res.n, res.err)
}

// blockedWrite starts a write on end e too large for the pipe (it ends
// up waiting for room), ends it with action x%7, and checks the result:
// the n it reports must be what the peer can read.
func (m *fzConnModel) blockedWrite(e int, x, arg byte) {
	m.t.Helper()
	me, peer, d := &m.end[e], &m.end[1-e], &m.dir[e]
	if !me.canWrite() || !peer.canRead() || me.wdl == fdtest.DeadlinePast || me.wdl == fdtest.DeadlineSoon {
		m.note("cannot block: short write instead")
		m.write(e, fzCtxShort, x, fdtest.FuzzSize(arg)*4, false)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	l := m.blockN
	p := m.pattern(e, l)
	before := d.pending()
	ch := make(chan fzResult, 1)
	go func() {
		n, err := me.c.WriteContext(ctx, p)
		ch <- fzResult{n, err}
	}()
	// Where the pipe has room, wait until the kernel shows the write's
	// first bytes (a condition, not a sleep), so that the action below
	// meets a write under way and its n is exercised; otherwise the
	// action may come first, and the write must then return 0 and the
	// same error.
	if before < m.fitCap {
		for start := time.Now(); ; runtime.Gosched() {
			n, ok := m.fionread(e)
			if !ok || n > before {
				break
			}
			if time.Since(start) > fdtest.Hang {
				m.failf("the write put nothing into a pipe with room")
			}
		}
	}
	exp := fdtest.Expect{Partial: true}
	switch action := x % 7; action {
	case 0:
		m.closeOp(e, "close")
		exp.Allow(net.ErrClosed)
	case 1:
		m.closeOp(e, "closewrite")
		exp.Allow(net.ErrClosed)
	case 2:
		if err := me.c.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
			m.failf("SetWriteDeadline = %v", err)
		}
		exp.Allow(os.ErrDeadlineExceeded)
	case 3:
		cancel()
		exp.Allow(context.Canceled)
	case 4:
		m.closeOp(1-e, "close")
		exp.Allow(syscall.EPIPE)
	case 5:
		m.closeOp(1-e, "closeread")
		exp.Allow(syscall.EPIPE)
	case 6: // the peer drains everything; the write completes
		m.note("peer drains")
		if peer.rdl == fdtest.DeadlinePast || peer.rdl == fdtest.DeadlineSoon {
			m.setDeadline(1-e, "SetReadDeadline", 0, true, false)
		}
		d.wOff += uint64(l)
		for d.pending() > 0 {
			m.read(1-e, fzCtxHang, 0, max(l/64, fdtest.FuzzSize(arg)))
		}
		res := m.recv(ch)
		m.note("write(%d) = %d, %v", l, res.n, res.err)
		if res.n != l || res.err != nil {
			m.failf("blocked write(%d) while the peer drained = %d, %v; want %d, nil", l, res.n, res.err, l)
		}
		return
	}
	res := m.recv(ch)
	m.checkWrite(e, exp, l, res.n, res.err)
}

// fionread reports the bytes queued in direction d's pipe (FIONREAD works
// on either end of a pipe), through the reader's read fd or the writer's
// write fd, whichever Conn still has both its Streams open (SyscallConn
// needs them); ok is false if neither has.
func (m *fzConnModel) fionread(d int) (n int, ok bool) {
	m.t.Helper()
	for _, via := range []struct{ e, fd int }{{1 - d, 0}, {d, 1}} { // Control passes the read fd first
		end := &m.end[via.e]
		if end.closed || end.rClosed || end.wDone {
			continue
		}
		rc, err := end.c.SyscallConn()
		if err != nil {
			m.failf("%s.SyscallConn = %v", end.name, err)
		}
		i := 0
		var ierr error
		if err := rc.Control(func(fd uintptr) {
			if i == via.fd {
				n, ierr = unix.IoctlGetInt(int(fd), unix.TIOCINQ)
			}
			i++
		}); err != nil || ierr != nil {
			m.failf("%s FIONREAD: %v, %v", end.name, err, ierr)
		}
		return n, true
	}
	return 0, false
}

// checkKernel compares each pipe's FIONREAD with the model, while the
// pipe has a reader (the model stops counting once it has none).
func (m *fzConnModel) checkKernel() {
	m.t.Helper()
	if m.hung.Load() {
		return
	}
	for d := range m.dir {
		if !m.end[1-d].canRead() {
			continue
		}
		if n, ok := m.fionread(d); ok && n != m.dir[d].pending() {
			m.failf("pipe %s->%s: the kernel holds %d bytes, the model %d", m.end[d].name, m.end[1-d].name, n, m.dir[d].pending())
		}
	}
}

func fzRunConnOps(t *testing.T, data []byte) {
	a, b, err := adapters.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	m := &fzConnModel{t: t}
	m.end[0] = fzEnd{name: "pipe:a", c: a}
	m.end[1] = fzEnd{name: "pipe:b", c: b}
	dogDone := make(chan struct{})
	dog := time.AfterFunc(fdtest.Hang, func() {
		defer close(dogDone)
		m.hung.Store(true)
		a.Close()
		b.Close()
	})
	defer func() {
		if !dog.Stop() {
			<-dogDone
		}
		a.Close()
		b.Close()
	}()
	// Pipe sizes, from a's two fds (its read pipe and its write pipe).
	rc, err := a.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	size := 1 << 30
	var serr error
	if err := rc.Control(func(fd uintptr) {
		n, err := unix.FcntlInt(fd, unix.F_GETPIPE_SZ, 0)
		if err != nil {
			serr = err
		}
		size = min(size, n)
	}); err != nil || serr != nil {
		t.Fatal(err, serr)
	}
	m.fitCap, m.blockN = size/2, 3*size

	for i := 0; i+1 < len(data) && len(m.trace) < fzMaxOps; i += 2 {
		e, op, x, arg := data[i]&1, data[i]>>1&15, data[i]>>5, data[i+1]
		m.trace = append(m.trace, fzRec{end: e, op: op, x: x, arg: arg})
		ei := int(e)
		switch op {
		case fzOpWrite:
			m.write(ei, fzCtxNone, x, fdtest.FuzzSize(arg), true)
		case fzOpWriteShort:
			m.write(ei, fzCtxShort, x, fdtest.FuzzSize(arg)*4, false)
		case fzOpWriteCanceled:
			m.write(ei, fzCtxCanceled, x, fdtest.FuzzSize(arg), true)
		case fzOpRead:
			m.read(ei, fzCtxNone, x, fdtest.FuzzSize(arg))
		case fzOpReadShort:
			m.read(ei, fzCtxShort, x, fdtest.FuzzSize(arg))
		case fzOpReadCanceled:
			m.read(ei, fzCtxCanceled, x, fdtest.FuzzSize(arg))
		case fzOpSetReadDeadline:
			m.setDeadline(ei, "SetReadDeadline", arg, true, false)
		case fzOpSetWriteDeadline:
			m.setDeadline(ei, "SetWriteDeadline", arg, false, true)
		case fzOpSetDeadline:
			m.setDeadline(ei, "SetDeadline", arg, true, true)
		case fzOpCloseWrite:
			m.closeOp(ei, "closewrite")
		case fzOpCloseRead:
			m.closeOp(ei, "closeread")
		case fzOpClose:
			m.closeOp(ei, "close")
		case fzOpBlockedRead:
			m.blockedRead(ei, x, arg)
		case fzOpBlockedWrite:
			m.blockedWrite(ei, x, arg)
		case fzOpZero:
			if x&1 == 0 {
				m.read(ei, fzCtxNone, x, 0)
			} else {
				m.write(ei, fzCtxNone, x, 0, false)
			}
		case fzOpAddrs:
			m.addrs(ei)
		}
		m.checkKernel()
	}

	// The end: close the writing sides, drain each direction to io.EOF,
	// and compare what was read with the streams written.
	m.trace = append(m.trace, fzRec{op: fzOpClose, what: "(final) "})
	for e := range m.end {
		if m.end[e].canWrite() {
			m.closeOp(e, "closewrite")
		}
	}
	for e := range m.end {
		me, d := &m.end[e], &m.dir[1-e]
		if me.canRead() {
			if me.rdl != fdtest.DeadlineNone {
				m.setDeadline(e, "SetReadDeadline", 0, true, false)
			}
			for d.pending() > 0 {
				m.read(e, fzCtxHang, 0, 64<<10)
			}
			m.read(e, fzCtxHang, 0, 16) // io.EOF
			m.read(e, fzCtxNone, 0, 16) // and again
			if d.rOff != d.wOff {
				m.failf("%s read %d bytes in all, %s wrote %d", me.name, d.rOff, m.end[1-e].name, d.wOff)
			}
		}
		want := make([]byte, len(d.got))
		fzFill(want, uint64(1-e), 0)
		if uint64(len(d.got)) > d.wOff || !bytes.Equal(d.got, want) {
			m.failf("the %d bytes %s read are not the first bytes of the %d written", len(d.got), me.name, d.wOff)
		}
	}
	for e := range m.end {
		m.closeOp(e, "close")
	}
}
