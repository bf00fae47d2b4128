package fdstream

import (
	"context"
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/internal/sysx"

	"github.com/fdstream/fdstream/reactor"
)

// iovMax is the most iovecs one readv(2) or writev(2) takes (IOV_MAX:
// UIO_MAXIOV on Linux, 1024 on darwin and the BSDs too); past it they
// fail with EINVAL, so a longer vector goes in several calls, as
// internal/poll's writev does.
const iovMax = 1024

// vecOp is one ReadBuffersContext or WriteBuffersContext in progress. Its
// iovec table is kept between calls, so a call allocates nothing once
// the table has grown to the vectors the Stream sees.
type vecOp struct {
	st      step
	bufs    [][]byte
	bi, off int // the next byte is bufs[bi][off]
	iov     []unix.Iovec
	niov    int // entries of iov filled by the last fill
}

// fill puts the iovecs for the next syscall in v.iov[:v.niov]: the bytes
// from the cursor on, skipping empty buffers, at most iovMax entries and
// maxRW bytes. It returns how many bytes they hold.
func (v *vecOp) fill() int {
	if v.iov == nil {
		v.iov = make([]unix.Iovec, min(max(len(v.bufs), 16), iovMax))
	}
	v.niov = 0
	total := 0
	for bi, off := v.bi, v.off; bi < len(v.bufs) && v.niov < iovMax && total < maxRW; bi, off = bi+1, 0 {
		b := v.bufs[bi][off:]
		if len(b) == 0 {
			continue
		}
		if len(b) > maxRW-total {
			b = b[:maxRW-total]
		}
		if v.niov == len(v.iov) {
			v.iov = append(v.iov, make([]unix.Iovec, min(len(v.iov), iovMax-len(v.iov)))...)
		}
		v.iov[v.niov].Base = &b[0]
		v.iov[v.niov].SetLen(len(b))
		v.niov++
		total += len(b)
	}
	return total
}

// advance moves the cursor past n bytes and reports whether bytes remain.
func (v *vecOp) advance(n int) bool {
	for v.bi < len(v.bufs) {
		left := len(v.bufs[v.bi]) - v.off
		if n < left {
			v.off += n
			return true
		}
		n -= left
		v.bi++
		v.off = 0
	}
	return false
}

// more reports whether any byte is left from the cursor on.
func (v *vecOp) more() bool {
	for bi, off := v.bi, v.off; bi < len(v.bufs); bi, off = bi+1, 0 {
		if len(v.bufs[bi]) > off {
			return true
		}
	}
	return false
}

// reset drops every reference to the caller's buffers: the Stream must
// not keep them alive.
func (v *vecOp) reset() {
	for i := range v.iov {
		if v.iov[i].Base == nil {
			break
		}
		v.iov[i] = unix.Iovec{}
	}
	v.bufs, v.bi, v.off, v.niov = nil, 0, 0, 0
	v.st.ctx = nil
}

func (v *vecOp) writev(fd int) (int, error) {
	if v.fill() == 0 {
		return 0, nil
	}
	return sysWritev(fd, v.iov[:v.niov])
}

func (v *vecOp) readv(fd int) (int, error) {
	if v.fill() == 0 {
		return 0, nil
	}
	return sysReadv(fd, v.iov[:v.niov])
}

// WriteBuffersContext writes the bytes of bufs, in order, as one stream:
// with writev(2) on Linux (elsewhere, one write per buffer), IOV_MAX
// buffers and 1 GiB at most per call, so any number of buffers may be
// given. Nil and empty buffers are skipped. bufs itself is not modified.
//
// It is WriteContext for a vector: it blocks until every byte is written,
// ctx is done, the write deadline passes, or s is closed, and returns
// n == the total length with a nil error, or n < the total (the bytes
// that did reach the fd, the first n of the concatenation) with an error:
// never a short write without an error. A ctx already done at entry
// returns at once, without I/O.
//
// Errors are *os.PathError with Op "writev" wrapping ctx.Err(),
// os.ErrDeadlineExceeded, os.ErrClosed, ErrNilContext or the errno.
// Concurrent writes (WriteContext, WriteBuffersContext) are serialized,
// so one call's bytes are never interleaved with another's. It starts no
// goroutine and, once the Stream has seen a vector this long, allocates
// nothing on success.
func (s *Stream) WriteBuffersContext(ctx context.Context, bufs [][]byte) (int64, error) {
	if !s.valid() {
		return 0, os.ErrInvalid
	}
	if err := s.lock(ctx, &s.wlock, &s.wdl); err != nil {
		return 0, s.pathErr("writev", err)
	}
	defer s.unlock(&s.wlock)
	v := &s.wv
	if v.st.s == nil {
		v.st.init(s, reactor.Writable, v.writev)
	}
	v.st.ctx, v.bufs = ctx, bufs
	defer v.reset()
	var written int64
	for v.more() {
		if written > 0 && !s.pollable() {
			// Plain I/O: the only place a ctx can act.
			if err := s.checkEntry(ctx, &s.wdl); err != nil {
				return written, s.pathErr("writev", err)
			}
		}
		n, err := v.st.run()
		if n > 0 {
			written += int64(n)
			v.advance(n)
		}
		if err == nil && n == 0 {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return written, s.pathErr("writev", err)
		}
	}
	return written, nil
}

// ReadBuffersContext reads into bufs, filling each in turn: with readv(2)
// on Linux (elsewhere, into the first buffer with room, which a readv may
// do too). It blocks until at least one byte is available, ctx is done,
// the read deadline passes, or s is closed, and returns as soon as one
// syscall has read something; n counts the bytes of the concatenation of
// bufs that were filled. Nil and empty buffers are skipped; with no room
// at all it returns 0, nil at once. At end of stream it returns 0, io.EOF.
// A ctx already done at entry returns at once, without I/O.
//
// As ReadContext: a call that returns an error has consumed nothing, ctx
// never changes the read deadline, and errors are *os.PathError with Op
// "readv" wrapping ctx.Err(), os.ErrDeadlineExceeded, os.ErrClosed,
// ErrNilContext or the errno; n is 0 whenever err is not nil. Concurrent
// reads are serialized. It starts no goroutine and, once the Stream has
// seen a vector this long, allocates nothing on success.
func (s *Stream) ReadBuffersContext(ctx context.Context, bufs [][]byte) (int64, error) {
	if !s.valid() {
		return 0, os.ErrInvalid
	}
	v := &s.rv
	if ctx != nil {
		room := false
		for _, b := range bufs {
			if len(b) > 0 {
				room = true
				break
			}
		}
		if !room {
			if s.life.closed() {
				return 0, s.pathErr("readv", os.ErrClosed)
			}
			return 0, nil
		}
	}
	if err := s.lock(ctx, &s.rlock, &s.rdl); err != nil {
		return 0, s.pathErr("readv", err)
	}
	defer s.unlock(&s.rlock)
	if v.st.s == nil {
		v.st.init(s, reactor.Readable, v.readv)
	}
	v.st.ctx, v.bufs = ctx, bufs
	defer v.reset()
	n, err := v.st.run()
	switch {
	case err == nil && n > 0:
		return int64(n), nil
	case err == nil && s.zeroReadIsEOF:
		return 0, io.EOF
	case err == nil:
		return 0, nil // an empty datagram
	case err == unix.EIO && s.ptyEOF:
		// As ReadContext: the other side is gone, but its last output
		// may still be on its way in; read once more.
		err := sysx.IgnoringEINTR(func() (err error) { n, err = v.readv(s.fd); return err })
		if err == nil && n > 0 {
			return int64(n), nil
		}
		return 0, io.EOF
	}
	return 0, s.pathErr("readv", err)
}

// ioSync gives the race detector the happens-before edge a pipe gives:
// what a writev's caller did before it happened before what a readv's
// caller does after reading those bytes (x/sys/unix keeps its own for
// read and write).
var ioSync int64

func racePreWritev(iov []unix.Iovec) {
	if !raceEnabled {
		return
	}
	raceReleaseMerge(unsafe.Pointer(&ioSync))
	for _, v := range iov {
		raceReadRange(unsafe.Pointer(v.Base), int(v.Len))
	}
}

func racePostReadv(iov []unix.Iovec, n int) {
	if !raceEnabled || n <= 0 {
		return
	}
	for _, v := range iov {
		m := min(int(v.Len), n)
		raceWriteRange(unsafe.Pointer(v.Base), m)
		if n -= m; n == 0 {
			break
		}
	}
	raceAcquire(unsafe.Pointer(&ioSync))
}
