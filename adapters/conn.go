package adapters

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
)

// Conn is a net.Conn over one bidirectional Stream (a tty, a serial port,
// a socket, a character device) or over a pair of Streams, one read and
// one written (a pipe pair, a child's stdout and stdin). It adds
// ReadContext and WriteContext, half-close, and SyscallConn.
//
// Its methods are safe for concurrent use: reads are serialized with
// reads and writes with writes, and Close unblocks both. Errors are
// *net.OpError, as net's own connections return: a deadline gives an error
// whose Timeout() is true and which wraps os.ErrDeadlineExceeded; use
// after Close wraps net.ErrClosed; a done ctx wraps ctx.Err(). End of
// stream is io.EOF itself.
//
// Conns are made by NewConn, NewConnPair, Pipe, StartPTY and Stdio. The
// methods of a nil *Conn return os.ErrInvalid (LocalAddr and RemoteAddr
// nil), as a nil *os.File's do; a Conn made over a nil or zero Stream
// returns *net.OpError wrapping os.ErrInvalid.
type Conn struct {
	r, w        *fdstream.Stream // equal for a single fd
	laddr, radr Addr

	closeOnce sync.Once
	closeErr  error

	mu             sync.Mutex
	rClosed, wDone bool // CloseRead / CloseWrite happened
	closed         bool // Close happened
}

var (
	_ net.Conn                        = (*Conn)(nil)
	_ syscall.Conn                    = (*Conn)(nil)
	_ interface{ CloseWrite() error } = (*Conn)(nil)
)

// NewConn makes a Conn over one bidirectional Stream; the Conn owns s and
// closes it in Close. Both addresses name s (but over a pty master, on
// Linux, RemoteAddr names the master's slave, /dev/pts/N, the terminal at
// the other end, as StartPTY's Conn does); their Network is "tty" for a
// terminal, "pipe" for a FIFO or pipe, "unix" for a Unix socket, and "fd"
// for anything else.
func NewConn(s *fdstream.Stream) *Conn {
	a := Addr{Net: kindOf(s), Name: s.Name()}
	r := a
	if peer := ptyPeerName(s); peer != "" {
		r.Name = peer // a pty master: the other end is its slave
	}
	return &Conn{r: s, w: s, laddr: a, radr: r}
}

// NewConnPair makes a Conn that reads from r and writes to w; the Conn owns
// both and closes both in Close. LocalAddr names r and RemoteAddr names w.
func NewConnPair(r, w *fdstream.Stream) *Conn {
	return &Conn{
		r:     r,
		w:     w,
		laddr: Addr{Net: kindOf(r), Name: r.Name()},
		radr:  Addr{Net: kindOf(w), Name: w.Name()},
	}
}

// Pipe returns two Conns connected by two kernel pipes, one each way: what
// is written to one is read from the other. Its shape is net.Pipe's, but
// the ends are real file descriptors, buffered by the kernel (a write
// returns once the pipe took the bytes, not when the peer read them), so
// either end can be handed to code that needs an fd. Errors are
// *os.PathError from fdstream.Pipe.
//
// It is not fdstream.Pipe: that one returns the two ends of a single
// kernel pipe, a read-only and a write-only Stream named "|0" and "|1".
// This one returns two two-way net.Conns, named "pipe:a" and "pipe:b",
// each reading one pipe and writing the other.
func Pipe(opts ...fdstream.Option) (*Conn, *Conn, error) {
	ar, bw, err := fdstream.Pipe(opts...) // b writes, a reads
	if err != nil {
		return nil, nil, err
	}
	br, aw, err := fdstream.Pipe(opts...) // a writes, b reads
	if err != nil {
		ar.Close()
		bw.Close()
		return nil, nil, err
	}
	a := &Conn{r: ar, w: aw, laddr: Addr{Net: "pipe", Name: "pipe:a"}, radr: Addr{Net: "pipe", Name: "pipe:b"}}
	b := &Conn{r: br, w: bw, laddr: Addr{Net: "pipe", Name: "pipe:b"}, radr: Addr{Net: "pipe", Name: "pipe:a"}}
	return a, b, nil
}

// Addr is the address of a Conn's end: the kind of file and its name.
type Addr struct {
	Net  string // "tty", "pipe", "unix" or "fd"
	Name string // the path or descriptive name the Stream was made with
}

// Network returns the kind of file: "tty", "pipe", "unix" or "fd".
func (a Addr) Network() string { return a.Net }

// String returns the name.
func (a Addr) String() string { return a.Name }

// connIsTerminal reports whether fd is a terminal.
func connIsTerminal(fd int) bool {
	_, err := ttyGet(fd)
	return err == nil
}

// kindOf classifies the file behind s for Addr.Net.
func kindOf(s *fdstream.Stream) string {
	kind := "fd"
	rc, err := s.SyscallConn()
	if err != nil {
		return kind
	}
	rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) != nil {
			return
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFIFO:
			kind = "pipe"
		case unix.S_IFSOCK:
			if sa, err := unix.Getsockname(int(fd)); err == nil {
				if _, ok := sa.(*unix.SockaddrUnix); ok {
					kind = "unix"
				}
			}
		case unix.S_IFCHR:
			if connIsTerminal(int(fd)) {
				kind = "tty"
			}
		}
	})
	return kind
}

// Read reads into p, as ReadContext with context.Background(): it blocks
// until data is available, the read deadline passes, or c is closed.
func (c *Conn) Read(p []byte) (int, error) {
	return c.ReadContext(context.Background(), p)
}

// Write writes p, as WriteContext with context.Background(): it blocks
// until all of p is written, the write deadline passes, or c is closed.
func (c *Conn) Write(p []byte) (int, error) {
	return c.WriteContext(context.Background(), p)
}

// ReadContext reads up to len(p) bytes into p. It blocks until at least
// one byte is available, ctx is done, the read deadline passes, or c is
// closed; a call that fails consumed nothing. At end of stream it returns
// 0, io.EOF. Errors are *net.OpError with Op "read" wrapping ctx.Err(),
// os.ErrDeadlineExceeded, net.ErrClosed (after Close or CloseRead) or the
// errno as an *os.SyscallError; n is 0 whenever err is not nil.
func (c *Conn) ReadContext(ctx context.Context, p []byte) (int, error) {
	if c == nil {
		return 0, os.ErrInvalid
	}
	n, err := c.r.ReadContext(ctx, p)
	if err != nil && err != io.EOF {
		err = c.opError("read", err)
	}
	return n, err
}

// WriteContext writes all of p. It blocks until every byte is written, ctx
// is done, the write deadline passes, or c is closed, and returns n ==
// len(p) with a nil error or n < len(p), the bytes that were written, with
// an error: *net.OpError with Op "write" wrapping ctx.Err(),
// os.ErrDeadlineExceeded, net.ErrClosed (after Close or CloseWrite) or the
// errno (EPIPE when the peer is gone) as an *os.SyscallError.
func (c *Conn) WriteContext(ctx context.Context, p []byte) (int, error) {
	if c == nil {
		return 0, os.ErrInvalid
	}
	n, err := c.w.WriteContext(ctx, p)
	if err != nil {
		err = c.opError("write", err)
	}
	return n, err
}

// opError turns a Stream's *os.PathError into the *net.OpError callers
// of a net.Conn match on.
func (c *Conn) opError(op string, err error) error {
	inner := err
	var pe *os.PathError
	if errors.As(err, &pe) {
		inner = pe.Err
	}
	switch {
	case errors.Is(inner, os.ErrClosed):
		inner = net.ErrClosed
	case errors.Is(inner, os.ErrDeadlineExceeded),
		errors.Is(inner, context.Canceled),
		errors.Is(inner, context.DeadlineExceeded):
	default:
		var errno syscall.Errno
		if errors.As(inner, &errno) {
			inner = os.NewSyscallError(op, errno)
		}
	}
	return &net.OpError{Op: op, Net: c.laddr.Net, Source: c.laddr, Addr: c.radr, Err: inner}
}

// Close closes the Conn's Stream or Streams, unblocking every pending
// Read and Write, which return errors wrapping net.ErrClosed. It does not
// block beyond that. A second Close returns an error wrapping
// net.ErrClosed.
func (c *Conn) Close() error {
	if c == nil {
		return os.ErrInvalid
	}
	first := false
	c.closeOnce.Do(func() {
		first = true
		c.mu.Lock()
		c.closed = true
		// For a pair, CloseRead and CloseWrite closed their Stream; for
		// a single Stream they only shut a direction down.
		rDone, wDone := c.rClosed && c.r != c.w, c.wDone && c.r != c.w
		c.mu.Unlock()
		var errs []error
		if !rDone {
			errs = append(errs, c.r.Close())
		}
		if c.w != c.r && !wDone {
			errs = append(errs, c.w.Close())
		}
		for _, err := range errs {
			if err != nil && c.closeErr == nil {
				c.closeErr = c.opError("close", err)
			}
		}
	})
	if !first {
		return &net.OpError{Op: "close", Net: c.laddr.Net, Source: c.laddr, Addr: c.radr, Err: net.ErrClosed}
	}
	return c.closeErr
}

// CloseWrite shuts down the writing side: the peer reads io.EOF once it
// has read what was written, while this end can still read. For a pair it
// closes the write Stream; for a socket it is shutdown(SHUT_WR). It does
// not block.
//
// A single tty or device cannot be half-closed: that returns a
// *net.OpError with Op "closewrite" wrapping unix.ENOTSUP, and changes
// nothing. To tell a program reading a terminal in canonical mode (a
// shell, cat) that its input has ended, write the terminal's VEOF
// character instead, ^D (0x04) unless stty changed it, at the start of a
// line: its read then returns 0 bytes, end of file. A failed shutdown(2)
// wraps an *os.SyscallError naming "shutdown"; after CloseWrite or Close
// the error wraps net.ErrClosed.
func (c *Conn) CloseWrite() error {
	if c == nil {
		return os.ErrInvalid
	}
	return c.closeHalf("closewrite", c.w, unix.SHUT_WR, &c.wDone)
}

// CloseRead shuts down the reading side: pending and later reads return
// errors wrapping net.ErrClosed (io.EOF for a socket's shutdown), while
// writes go on. For a pair it closes the read Stream; for a socket it is
// shutdown(SHUT_RD); a single tty or device returns an error wrapping
// unix.ENOTSUP.
func (c *Conn) CloseRead() error {
	if c == nil {
		return os.ErrInvalid
	}
	return c.closeHalf("closeread", c.r, unix.SHUT_RD, &c.rClosed)
}

func (c *Conn) closeHalf(op string, s *fdstream.Stream, how int, done *bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if *done {
		return c.opError(op, net.ErrClosed)
	}
	if c.r != c.w {
		*done = true
		if err := s.Close(); err != nil {
			return c.opError(op, err)
		}
		return nil
	}
	rc, err := s.SyscallConn()
	if err != nil {
		return c.opError(op, err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Shutdown(int(fd), how) }); err != nil {
		return c.opError(op, err)
	}
	switch {
	case serr == unix.ENOTSOCK && op == "closewrite" && c.laddr.Net == "tty":
		serr = errTTYCloseWrite
	case serr == unix.ENOTSOCK:
		serr = errNoHalfClose
	case serr != nil:
		serr = os.NewSyscallError("shutdown", serr)
	default:
		*done = true
		return nil
	}
	// Not opError: it would name the errno after op a second time.
	return &net.OpError{Op: op, Net: c.laddr.Net, Source: c.laddr, Addr: c.radr, Err: serr}
}

// The errors of a half-close on a Conn over one fd that is not a socket.
var (
	errNoHalfClose   = fmt.Errorf("adapters: a single tty or device cannot be half-closed: %w", unix.ENOTSUP)
	errTTYCloseWrite = fmt.Errorf("adapters: a single tty cannot be half-closed (to end a terminal reader's input, write VEOF, ^D, at the start of a line): %w", unix.ENOTSUP)
)

// LocalAddr returns the address of the read side (the only side for a
// single Stream).
func (c *Conn) LocalAddr() net.Addr {
	if c == nil {
		return nil
	}
	return c.laddr
}

// RemoteAddr returns the address of the write side (the same as
// LocalAddr for a single Stream; for Pipe, the other Conn's name).
func (c *Conn) RemoteAddr() net.Addr {
	if c == nil {
		return nil
	}
	return c.radr
}

// SetDeadline sets the read and write deadlines, as net.Conn describes: a
// pending or later call fails with a timeout once it passes; a zero t
// means none. After Close it returns an error wrapping net.ErrClosed.
func (c *Conn) SetDeadline(t time.Time) error {
	if c == nil {
		return os.ErrInvalid
	}
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the deadline for pending and later reads.
func (c *Conn) SetReadDeadline(t time.Time) error {
	if c == nil {
		return os.ErrInvalid
	}
	if err := c.r.SetReadDeadline(t); err != nil && !c.halfClosed(c.r) {
		return c.opError("set", err)
	}
	return nil
}

// SetWriteDeadline sets the deadline for pending and later writes.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	if c == nil {
		return os.ErrInvalid
	}
	if err := c.w.SetWriteDeadline(t); err != nil && !c.halfClosed(c.w) {
		return c.opError("set", err)
	}
	return nil
}

// halfClosed reports whether s is a pair's side that CloseRead or
// CloseWrite closed while the Conn is still open: setting its deadline is
// then harmless and not an error. After Close it is net.ErrClosed.
func (c *Conn) halfClosed(s *fdstream.Stream) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.r == c.w || c.closed {
		return false
	}
	return (s == c.r && c.rClosed) || (s == c.w && c.wDone)
}

// SyscallConn returns a raw connection. For a single Stream it is that
// Stream's. For a pair, its Read waits on and passes the read fd, its
// Write the write fd, and Control calls f once for each, read fd first.
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	if c == nil {
		return nil, os.ErrInvalid
	}
	rr, err := c.r.SyscallConn()
	if err != nil {
		return nil, c.opError("syscallconn", err)
	}
	if c.r == c.w {
		return rr, nil
	}
	wr, err := c.w.SyscallConn()
	if err != nil {
		return nil, c.opError("syscallconn", err)
	}
	return pairRawConn{rr, wr}, nil
}

type pairRawConn struct{ r, w syscall.RawConn }

func (p pairRawConn) Control(f func(fd uintptr)) error {
	if err := p.r.Control(f); err != nil {
		return err
	}
	return p.w.Control(f)
}

func (p pairRawConn) Read(f func(fd uintptr) bool) error  { return p.r.Read(f) }
func (p pairRawConn) Write(f func(fd uintptr) bool) error { return p.w.Write(f) }

// WriteBuffersContext writes the bytes of bufs, in order, as one stream,
// with writev(2) where the system has it (see
// fdstream.Stream.WriteBuffersContext): it blocks until every byte is
// written, ctx is done, the write deadline passes, or c is closed, and
// returns n == the total with a nil error or n < the total, the bytes
// that were written, with an error: *net.OpError with Op "writev"
// wrapping ctx.Err(), os.ErrDeadlineExceeded, net.ErrClosed (after Close
// or CloseWrite) or the errno as an *os.SyscallError. Nil and empty
// buffers are skipped, and bufs is not modified.
func (c *Conn) WriteBuffersContext(ctx context.Context, bufs [][]byte) (int64, error) {
	if c == nil {
		return 0, os.ErrInvalid
	}
	n, err := c.w.WriteBuffersContext(ctx, bufs)
	if err != nil {
		err = c.opError("writev", err)
	}
	return n, err
}

// ReadBuffersContext reads into bufs, filling each in turn, with readv(2)
// where the system has it (see fdstream.Stream.ReadBuffersContext). It
// blocks until at least one byte is available, ctx is done, the read
// deadline passes, or c is closed; a call that fails consumed nothing. At
// end of stream it returns 0, io.EOF. Errors are *net.OpError with Op
// "readv", as ReadContext's; n is 0 whenever err is not nil.
func (c *Conn) ReadBuffersContext(ctx context.Context, bufs [][]byte) (int64, error) {
	if c == nil {
		return 0, os.ErrInvalid
	}
	n, err := c.r.ReadBuffersContext(ctx, bufs)
	if err != nil && err != io.EOF {
		err = c.opError("readv", err)
	}
	return n, err
}
