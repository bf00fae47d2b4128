package fdstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/internal/sysx"

	"github.com/fdstream/fdstream/reactor"
)

// CopyError is the error of a Copy, ReadFrom or WriteTo that stopped
// (ctx done, a deadline, a Close, a write that failed) holding bytes it
// had already taken from the source but could not write to the
// destination. They are in Unwritten, in order: the source's next bytes
// come after them, and none is lost. The count the call returns does not
// include them.
//
// Err is why the copy stopped; a CopyError unwraps to it, so
// errors.Is(err, context.Canceled), errors.Is(err, os.ErrClosed) and
// errors.As(err, &pathErr) see through it.
type CopyError struct {
	Err       error
	Unwritten []byte
}

func (e *CopyError) Error() string {
	return fmt.Sprintf("%v (%d bytes read but not written)", e.Err, len(e.Unwritten))
}

func (e *CopyError) Unwrap() error { return e.Err }

// ReadFrom copies from r into s until r reports io.EOF or an error, as
// ReadFromContext with context.Background(): s's write deadline, and for
// a Stream r its read deadline, bound every wait. It makes Stream an
// io.ReaderFrom, which io.Copy and bufio.Writer use.
func (s *Stream) ReadFrom(r io.Reader) (int64, error) {
	return s.ReadFromContext(context.Background(), r)
}

// WriteTo copies from s into w until s reports io.EOF or an error, as
// WriteToContext with context.Background(). It makes Stream an
// io.WriterTo, which io.Copy and bufio.Reader use.
func (s *Stream) WriteTo(w io.Writer) (int64, error) {
	return s.WriteToContext(context.Background(), w)
}

// ReadFromContext copies from r into s until r reports io.EOF (a nil
// error then), ctx is done, a deadline passes, s or r is closed, or an
// error occurs, and returns the number of bytes written to s.
//
// When r is a Stream, or an *io.LimitedReader over one (io.CopyN), both
// Streams are locked for the whole copy (r's reads and s's writes wait
// behind it) and every wait is one of theirs: ctx, s's write deadline,
// r's read deadline and a Close of either Stream end it at once. On
// Linux, when both wait for readiness (neither is a regular file, a
// block device or a datagram socket), the bytes move by splice(2)
// without passing through user memory: straight from one to the other
// when either is a pipe or FIFO, otherwise through a private pipe, as
// net's splice does. Where the kernel cannot splice an fd (EINVAL), and
// everywhere else, a buffered loop of read(2) and write(2) runs under
// the same locks and waits. Regular files and block devices thus get
// plain I/O, ctx and deadlines checked between syscalls.
//
// Any other r is read with r.ReadContext(ctx, ...) if it is a
// ContextReader, and otherwise with r.Read, which ctx cannot interrupt;
// each write is s.WriteContext(ctx, ...). Once s is closed nothing more
// is read from r.
//
// Bytes read from r that could not be written to s are returned in a
// *CopyError, never dropped: n counts exactly the bytes that reached s.
// Errors are *os.PathError naming the Stream where the copy stopped (Op
// "read" for r, "write" for s, "splice" for splice's errno) wrapping
// ctx.Err(), os.ErrDeadlineExceeded, os.ErrClosed or the errno; r's own
// errors are returned as they are. It starts no goroutine.
func (s *Stream) ReadFromContext(ctx context.Context, r io.Reader) (int64, error) {
	if !s.valid() {
		return 0, os.ErrInvalid
	}
	if ctx == nil {
		return 0, s.pathErr("write", ErrNilContext)
	}
	if r == nil {
		return 0, errNilReader
	}
	src, lr := streamOf(r)
	if src == nil {
		return copyLoop(ctx, s, r)
	}
	if lr == nil {
		return copyStreams(ctx, s, src, -1)
	}
	if lr.N <= 0 {
		return 0, nil
	}
	n, err := copyStreams(ctx, s, src, lr.N)
	lr.N -= n
	var ce *CopyError
	if errors.As(err, &ce) {
		lr.N -= int64(len(ce.Unwritten))
	}
	return n, err
}

// WriteToContext copies from s into w until s reports io.EOF (a nil error
// then), ctx is done, a deadline passes, s or w is closed, or an error
// occurs, and returns the number of bytes written to w. It is
// w.ReadFromContext(ctx, s) when w is a Stream; otherwise s is read with
// ReadContext(ctx, ...) and w written with WriteContext(ctx, ...) if it
// is a ContextWriter, or with w.Write, which ctx cannot interrupt.
//
// As ReadFromContext, it loses nothing: bytes read from s that w did not
// take are returned in a *CopyError. Errors are s's *os.PathError, or
// w's own error as it is (io.ErrShortWrite for a short write without
// one). It starts no goroutine.
func (s *Stream) WriteToContext(ctx context.Context, w io.Writer) (int64, error) {
	if !s.valid() {
		return 0, os.ErrInvalid
	}
	if ctx == nil {
		return 0, s.pathErr("read", ErrNilContext)
	}
	if w == nil {
		return 0, errNilWriter
	}
	if dst, ok := w.(*Stream); ok {
		return copyStreams(ctx, dst, s, -1)
	}
	return copyLoop(ctx, w, s)
}

// streamOf returns the Stream behind r, if r is one or an
// *io.LimitedReader over one.
func streamOf(r io.Reader) (*Stream, *io.LimitedReader) {
	switch v := r.(type) {
	case *Stream:
		return v, nil
	case *io.LimitedReader:
		if s, ok := v.R.(*Stream); ok {
			return s, v
		}
	}
	return nil, nil
}

// copyBufSize is the buffered loops' buffer: a pipe's default capacity.
const copyBufSize = 64 << 10

var copyBufs = sync.Pool{New: func() any { return new([copyBufSize]byte) }}

// testHookCopyPath, set only by tests, is told which way a copy between
// two Streams goes: "splice" (straight), "splice-pipe" (through a private
// pipe) or "buffered" (a fallback from splice is told too).
var testHookCopyPath atomic.Pointer[func(path string)]

// testHookNoSplice, set only by tests, makes copies between Streams take
// the buffered loop.
var testHookNoSplice atomic.Bool

func copyPathHook(path string) {
	if h := testHookCopyPath.Load(); h != nil {
		(*h)(path)
	}
}

// copyLoop copies from src to dst through a buffer until src's io.EOF,
// an error, or ctx is done. ContextReaders and ContextWriters get ctx;
// a Stream dst that is closed stops the loop before it reads more.
func copyLoop(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	cr, _ := src.(ContextReader)
	cw, _ := dst.(ContextWriter)
	ds, _ := dst.(*Stream)
	bp := copyBufs.Get().(*[copyBufSize]byte)
	defer copyBufs.Put(bp)
	buf := bp[:]
	var written int64
	for {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		if ds != nil && ds.life.closed() {
			return written, ds.pathErr("write", os.ErrClosed)
		}
		var nr int
		var rerr error
		if cr != nil {
			nr, rerr = cr.ReadContext(ctx, buf)
		} else {
			nr, rerr = src.Read(buf)
		}
		if nr < 0 || nr > len(buf) {
			return written, errInvalidRead
		}
		if nr > 0 {
			var nw int
			var werr error
			if cw != nil {
				nw, werr = cw.WriteContext(ctx, buf[:nr])
			} else {
				nw, werr = dst.Write(buf[:nr])
			}
			if nw < 0 || nw > nr {
				nw, werr = 0, errInvalidWrite
			}
			written += int64(nw)
			if werr == nil && nw != nr {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return written, &CopyError{Err: werr, Unwritten: append([]byte(nil), buf[nw:nr]...)}
			}
		}
		if rerr == io.EOF {
			return written, nil
		}
		if rerr != nil {
			return written, rerr
		}
	}
}

// copyStreams copies from src to dst, at most limit bytes (< 0: no
// limit), holding src's read lock and dst's write lock throughout, with
// the two Streams linked so that closing either ends the copy's waits.
// Locks are taken read side first, so two copies cannot deadlock.
func copyStreams(ctx context.Context, dst, src *Stream, limit int64) (int64, error) {
	if !src.valid() || !dst.valid() {
		return 0, os.ErrInvalid
	}
	if err := src.lock(ctx, &src.rlock, &src.rdl); err != nil {
		return 0, src.pathErr("read", err)
	}
	defer src.unlock(&src.rlock)
	if err := dst.lockPeer(ctx, &dst.wlock, &dst.wdl, src); err != nil {
		if err == errPeerClosed {
			return 0, src.pathErr("read", os.ErrClosed)
		}
		return 0, dst.pathErr("write", err)
	}
	defer dst.unlock(&dst.wlock)
	linked := link(src, dst)
	defer unlink(src, dst)
	c := &copier{ctx: ctx, src: src, dst: dst, limit: limit}
	if !linked {
		return 0, c.checkRead()
	}
	c.rd.init(src, reactor.Readable, nil) // each way of copying sets sys
	c.rd.ctx, c.rd.peer = ctx, dst
	c.wr.init(dst, reactor.Writable, nil)
	c.wr.ctx, c.wr.peer = ctx, src
	done, pending, err := c.splice()
	if !done {
		copyPathHook("buffered")
		err = c.buffered(pending)
	}
	return c.written, err
}

// copier is one copy between two Streams whose locks it holds.
type copier struct {
	ctx      context.Context
	src, dst *Stream
	limit    int64 // bytes left to read from src; < 0: no limit
	written  int64 // bytes that reached dst
	rd, wr   step  // src's read direction, dst's write direction

	rbuf, wbuf []byte // the buffered loop's read and write

	// The splices (copy_linux.go).
	pr, pw int // the private pipe's ends
	inPipe int // bytes in the private pipe
	spins  int // splices that found both ends ready yet got EAGAIN
}

func (c *copier) readSys(fd int) (int, error)  { return unix.Read(fd, c.rbuf) }
func (c *copier) writeSys(fd int) (int, error) { return unix.Write(fd, c.wbuf) }

// checkRead is asked before anything more is taken from src: the copy
// stops, with nothing in hand, once either Stream is closed, ctx is done,
// or src's read or dst's write deadline has passed. Between two reads
// that need no wait this is the only place they can act.
func (c *copier) checkRead() error {
	switch {
	case c.src.life.closed():
		return c.src.pathErr("read", os.ErrClosed)
	case c.dst.life.closed():
		return c.dst.pathErr("write", os.ErrClosed)
	}
	if err := c.ctx.Err(); err != nil {
		return c.src.pathErr("read", err)
	}
	switch {
	case c.src.rdl.passed.Load():
		return c.src.pathErr("read", os.ErrDeadlineExceeded)
	case c.dst.wdl.passed.Load():
		return c.dst.pathErr("write", os.ErrDeadlineExceeded)
	}
	return nil
}

// checkWrite is asked before each write of bytes already read: only a
// Close stops it; a write that has to wait gives up when ctx is done or
// dst's deadline passes.
func (c *copier) checkWrite() error {
	switch {
	case c.dst.life.closed():
		return c.dst.pathErr("write", os.ErrClosed)
	case c.src.life.closed():
		return c.src.pathErr("read", os.ErrClosed)
	}
	return nil
}

// readErr wraps the error of a step on src, writeErr one on dst.
func (c *copier) readErr(err error) error {
	if err == errPeerClosed {
		return c.dst.pathErr("write", os.ErrClosed)
	}
	return c.src.pathErr("read", err)
}

func (c *copier) writeErr(err error) error {
	if err == errPeerClosed {
		return c.src.pathErr("read", os.ErrClosed)
	}
	return c.dst.pathErr("write", err)
}

// buffered copies through a buffer with read(2) and write(2), each on its
// Stream's waits, writing pending first: bytes a splice took from src
// before it found it could not go on.
func (c *copier) buffered(pending []byte) error {
	c.rd.sys, c.wr.sys = c.readSys, c.writeSys
	if err := c.writeAll(pending); err != nil {
		return err
	}
	bp := copyBufs.Get().(*[copyBufSize]byte)
	defer copyBufs.Put(bp)
	buf := bp[:]
	for c.limit != 0 {
		if err := c.checkRead(); err != nil {
			return err
		}
		p := buf
		if c.limit > 0 && c.limit < int64(len(p)) {
			p = p[:c.limit]
		}
		c.rbuf = p
		n, err := c.rd.run()
		c.rbuf = nil
		switch {
		case err == nil && n > 0:
		case err == nil && c.src.zeroReadIsEOF:
			return nil
		case err == nil:
			continue // an empty datagram
		case err == unix.EIO && c.src.ptyEOF:
			// As ReadContext: the other side is gone, but its last
			// output may still be on its way in; read once more.
			err = sysx.IgnoringEINTR(func() (err error) { n, err = unix.Read(c.src.fd, p); return err })
			if err != nil || n <= 0 {
				return nil
			}
		default:
			return c.readErr(err)
		}
		if c.limit > 0 {
			c.limit -= int64(n)
		}
		if err := c.writeAll(p[:n]); err != nil {
			return err
		}
	}
	return nil
}

// writeAll writes p to dst. Bytes it cannot write come back in a
// *CopyError.
func (c *copier) writeAll(p []byte) error {
	for len(p) > 0 {
		if err := c.checkWrite(); err != nil {
			return strand(err, p)
		}
		if len(p) > maxRW {
			c.wbuf = p[:maxRW]
		} else {
			c.wbuf = p
		}
		n, err := c.wr.run()
		c.wbuf = nil
		if n > 0 {
			c.written += int64(n)
			p = p[n:]
		}
		if err == nil && n <= 0 {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			return strand(c.writeErr(err), p)
		}
	}
	return nil
}

// strand returns err, in a *CopyError holding a copy of p if p is not
// empty.
func strand(err error, p []byte) error {
	if len(p) == 0 {
		return err
	}
	return &CopyError{Err: err, Unwritten: append([]byte(nil), p...)}
}

var errInvalidRead = errors.New("fdstream: invalid read result")
