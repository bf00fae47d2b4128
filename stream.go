package fdstream

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/reactor"
)

// maxRW caps one read(2) or write(2): some kernels (and macOS always) fail
// a transfer of 2 GiB or more with EINVAL; internal/poll caps at 1 GiB for
// the same reason (golang.org/issue/7812, #16266).
const maxRW = 1 << 30

// ErrNilContext is wrapped in the error of a call given a nil ctx.
var ErrNilContext = errors.New("fdstream: nil Context")

// ErrNotPollable is wrapped in the error of SyscallConn's Read or Write
// when the callback asks to wait on a Stream that does plain I/O.
var ErrNotPollable = errors.New("fdstream: fd is not pollable")

var (
	defaultOnce    sync.Once
	defaultReactor *reactor.Reactor
	defaultErr     error
)

// DefaultReactor returns the reactor Streams use unless WithReactor says
// otherwise: epoll on Linux, select elsewhere or with -tags noepoll, with
// one shard per GOMAXPROCS. It is made on first use and starts nothing
// until a Stream registers.
func DefaultReactor() (*reactor.Reactor, error) {
	defaultOnce.Do(func() {
		defaultReactor, defaultErr = reactor.New(reactor.Config{Backend: defaultBackend})
	})
	return defaultReactor, defaultErr
}

// Option configures a Stream made by Open, NewStream, FromFile or Pipe.
type Option func(*options)

type options struct {
	reactor *reactor.Reactor
}

// WithReactor makes the Stream wait through r instead of DefaultReactor; a
// nil r means DefaultReactor. (A nil Option is ignored.)
func WithReactor(r *reactor.Reactor) Option {
	return func(o *options) { o.reactor = r }
}

// Stream is one file descriptor with context-aware, goroutine-safe I/O.
// Reads are serialized with each other and writes with each other; a read,
// a write, deadline changes and Close may run at the same time from
// different goroutines.
//
// A Stream whose fd can be polled (ttys, ptys, pipes, FIFOs, sockets,
// character devices, eventfd) never occupies an OS thread while it waits.
// One whose fd cannot (regular files, block devices: epoll refuses them
// with EPERM) does plain I/O, checking ctx and deadlines before each
// syscall: such a call cannot be interrupted once its syscall has started.
//
// Streams are made by Open, NewStream, FromFile and Pipe. The methods of a
// nil *Stream, or of a zero Stream, return os.ErrInvalid (Name returns "").
type Stream struct {
	fd   int
	name string
	reg  *reactor.Registration // nil: plain I/O
	st   unix.Stat_t
	nb   *nbDesc // the description we made non-blocking, if we did
	// ptyEOF: s is one side of a pseudo-terminal, where a read's EIO
	// means the other side is gone (a master after its slave closed, a
	// slave after its master closed), which is end of stream.
	ptyEOF bool
	// zeroReadIsEOF is false for datagram sockets, where a zero-byte read
	// is an empty datagram.
	zeroReadIsEOF bool

	life lifetime
	// rlock and wlock serialize reads and writes. They are semaphores
	// rather than mutexes so that a call queued behind a blocked one still
	// returns when its ctx is done, its deadline passes or s is closed.
	rlock, wlock chan struct{}
	rdl, wdl     deadline

	closeErr error // set by destroy before life.destroyed is closed
}

// Open opens the named file (a tty, serial port, FIFO, character device,
// or a regular file) with flag, which is as for os.OpenFile; Open adds
// O_NONBLOCK, O_CLOEXEC and O_NOCTTY, so opening a terminal never makes it
// the process's controlling terminal. A file created with O_CREATE gets
// mode 0666 before umask.
//
// Opening a FIFO for writing fails with ENXIO while it has no reader (the
// kernel's rule for O_NONBLOCK). Errors are *os.PathError with Op "open".
func Open(name string, flag int, opts ...Option) (*Stream, error) {
	var fd int
	var err error
	for {
		fd, err = unix.Open(name, flag|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0o666)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	s, err := adopt(fd, name, "open", opts, flag&unix.O_NONBLOCK == 0)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return s, nil
}

// NewStream adopts fd: the Stream owns it from now on and closes it in
// Close. A pollable fd is put in non-blocking mode; if its open file
// description was blocking, it is made blocking again when the last Stream
// using that description closes (so other holders of a shared
// description, and other Streams on it, keep working). On error, fd is
// left open, as it was, and stays the caller's.
//
// Errors are *os.PathError with Op "newstream": EBADF for a negative or
// closed fd, EISDIR for a directory, the reactor's refusal otherwise (on
// the select backend, reactor.ErrFDSetSize for fd >= 1024).
func NewStream(fd int, name string, opts ...Option) (*Stream, error) {
	return newStream(fd, name, "newstream", opts)
}

func newStream(fd int, name, op string, opts []Option) (*Stream, error) {
	return adopt(fd, name, op, opts, false)
}

// adopt makes a Stream of fd. openAddedNonblock says that Open added
// O_NONBLOCK to a private description the caller did not ask for it on.
func adopt(fd int, name, op string, opts []Option, openAddedNonblock bool) (*Stream, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	fail := func(err error) (*Stream, error) {
		return nil, &os.PathError{Op: op, Path: name, Err: err}
	}
	if fd < 0 {
		return fail(unix.EBADF)
	}
	s := &Stream{
		fd:            fd,
		name:          name,
		zeroReadIsEOF: true,
		rlock:         make(chan struct{}, 1),
		wlock:         make(chan struct{}, 1),
	}
	if err := ignoringEINTR(func() error { return unix.Fstat(fd, &s.st) }); err != nil {
		return fail(err)
	}
	kind := s.st.Mode & unix.S_IFMT
	if kind == unix.S_IFDIR {
		return fail(unix.EISDIR)
	}
	r := o.reactor
	if r == nil {
		var err error
		if r, err = DefaultReactor(); err != nil {
			return fail(err)
		}
	}
	s.life.init()
	// Regular files and block devices are always "ready" as far as poll
	// is concerned, and epoll refuses them: plain I/O (invariant 10).
	pollable := kind != unix.S_IFREG && kind != unix.S_IFBLK
	if pollable {
		var err error
		if s.nb, err = acquireNonblock(fd, &s.st); err != nil {
			return fail(err)
		}
		s.reg, err = r.Register(fd)
		if err != nil {
			releaseNonblock(s.nb, fd, &s.st)
			s.nb = nil
			if err != unix.EPERM {
				return fail(err)
			}
			pollable = false // a device without poll support
		}
	}
	if !pollable && openAddedNonblock {
		// Plain I/O wants a blocking fd: a driver that honours
		// O_NONBLOCK without supporting poll would hand back EAGAIN.
		unix.SetNonblock(fd, false)
	}
	switch kind {
	case unix.S_IFCHR:
		s.ptyEOF = isPTY(fd, &s.st)
	case unix.S_IFSOCK:
		// As internal/poll: an empty datagram is not end of stream.
		if typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err == nil &&
			(typ == unix.SOCK_DGRAM || typ == unix.SOCK_RAW) {
			s.zeroReadIsEOF = false
		}
	}
	return s, nil
}

// FromFile makes a Stream from a duplicate of f's descriptor; f stays
// open and the caller's, and f's own blocking mode is not disturbed (the
// descriptor is reached through f.SyscallConn, never f.Fd). On Linux, for
// FIFOs, pipes and terminals (not a pty master, whose reopen would make a
// new pty), FromFile reopens /proc/self/fd/N to get a private open file
// description, so making it non-blocking affects no other holder (a shell
// sharing stdin). Everything else (sockets, eventfd, other character
// devices, whose state may be per open; and any reopen the kernel
// refuses) is dup'ed: O_NONBLOCK is then set on the shared description
// and cleared again when the last Stream on it closes. A regular file is
// always dup'ed, so its offset stays shared with f.
//
// Errors are *os.PathError with Op "fromfile": os.ErrInvalid for a nil
// f, os.ErrClosed for a closed one, and NewStream's errors.
func FromFile(f *os.File, opts ...Option) (*Stream, error) {
	if f == nil {
		return nil, &os.PathError{Op: "fromfile", Path: "", Err: os.ErrInvalid}
	}
	name := f.Name()
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, &os.PathError{Op: "fromfile", Path: name, Err: err}
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) { nfd, derr = privateDup(int(fd)) }); err != nil {
		// Control fails only when f is closed.
		return nil, &os.PathError{Op: "fromfile", Path: name, Err: os.ErrClosed}
	}
	if derr != nil {
		return nil, &os.PathError{Op: "fromfile", Path: name, Err: derr}
	}
	s, err := newStream(nfd, name, "fromfile", opts)
	if err != nil {
		unix.Close(nfd)
		return nil, err
	}
	return s, nil
}

// Pipe returns a connected pair of Streams over a kernel pipe: bytes
// written to w can be read from r. Both ends are O_CLOEXEC and
// non-blocking, and named "|0" and "|1". Errors are *os.PathError with Op
// "pipe". For two-way net.Conns, net.Pipe's shape, use adapters.Pipe.
func Pipe(opts ...Option) (r, w *Stream, err error) {
	rfd, wfd, err := pipe()
	if err != nil {
		return nil, nil, &os.PathError{Op: "pipe", Path: "|", Err: err}
	}
	if r, err = newStream(rfd, "|0", "pipe", opts); err != nil {
		unix.Close(rfd)
		unix.Close(wfd)
		return nil, nil, err
	}
	if w, err = newStream(wfd, "|1", "pipe", opts); err != nil {
		r.Close()
		unix.Close(wfd)
		return nil, nil, err
	}
	return r, w, nil
}

// Name returns the name the Stream was made with.
func (s *Stream) Name() string {
	if s == nil {
		return ""
	}
	return s.name
}

// Read reads up to len(p) bytes into p, as ReadContext with
// context.Background(): it blocks until data is available, the read
// deadline passes, or s is closed.
func (s *Stream) Read(p []byte) (int, error) {
	return s.ReadContext(context.Background(), p)
}

// Write writes p, as WriteContext with context.Background(): it blocks
// until all of p is written, the write deadline passes, or s is closed.
func (s *Stream) Write(p []byte) (int, error) {
	return s.WriteContext(context.Background(), p)
}

// ReadContext reads up to len(p) bytes into p. It blocks until at least
// one byte is available, ctx is done, the read deadline passes, or s is
// closed, and returns as soon as it has read something. With len(p) == 0
// it returns 0, nil at once; at end of stream (the writer side closed, a
// pty whose slave hung up) it returns 0, io.EOF. A ctx already done at
// entry returns at once, without I/O.
//
// A call that returns an error has consumed nothing: bytes are only read
// into p by the call that returns them, so the next call sees them. ctx
// bounds only this call and never changes the deadline set by
// SetReadDeadline; whichever comes first ends the wait.
//
// Errors are *os.PathError with Op "read" wrapping ctx.Err() (so
// errors.Is(err, context.Canceled) holds), os.ErrDeadlineExceeded,
// os.ErrClosed, ErrNilContext or the errno; end of stream is io.EOF
// itself. n is 0 whenever err is not nil. Concurrent ReadContext calls
// are serialized; it may run alongside WriteContext and Close. It starts
// no goroutine, and allocates nothing on success, whether it waited or
// not (an error is allocated; so is a waiters' channel, once, after each
// deadline change).
func (s *Stream) ReadContext(ctx context.Context, p []byte) (int, error) {
	if !s.valid() {
		return 0, os.ErrInvalid
	}
	if len(p) == 0 && ctx != nil {
		if s.life.closed() {
			return 0, s.pathErr("read", os.ErrClosed)
		}
		return 0, nil
	}
	if err := s.lock(ctx, s.rlock, &s.rdl); err != nil {
		return 0, s.pathErr("read", err)
	}
	defer s.unlock(s.rlock)
	if len(p) > maxRW {
		p = p[:maxRW]
	}
	for {
		n, err := unix.Read(s.fd, p)
		switch {
		case err == nil && n > 0:
			return n, nil
		case err == nil && s.zeroReadIsEOF:
			return 0, io.EOF
		case err == nil:
			return 0, nil // an empty datagram
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN && s.reg != nil:
			if err = s.wait(ctx, reactor.Readable, &s.rdl); err == nil {
				continue
			}
		case err == unix.EIO && s.ptyEOF:
			// The other side is gone. The kernel can say so while
			// that side's last output is still being flushed into
			// our input (seen on Linux 6.18: a read gets EIO, the
			// next one the missing bytes), so read once more before
			// calling it the end.
			var n int
			err := ignoringEINTR(func() (err error) { n, err = unix.Read(s.fd, p); return err })
			if err == nil && n > 0 {
				return n, nil
			}
			return 0, io.EOF
		}
		return 0, s.pathErr("read", err)
	}
}

// WriteContext writes all of p. It blocks until every byte is written,
// ctx is done, the write deadline passes, or s is closed. It returns
// n == len(p) and a nil error, or n < len(p) (the bytes that did reach the
// fd) and a non-nil error: never a short write without an error. A ctx
// already done at entry returns at once, without I/O.
//
// Errors are *os.PathError with Op "write" wrapping ctx.Err(),
// os.ErrDeadlineExceeded, os.ErrClosed, ErrNilContext or the errno (EPIPE
// when the reader side is gone; SIGPIPE does not kill the program).
// Concurrent WriteContext calls are serialized, so one call's bytes are
// never interleaved with another's; it may run alongside ReadContext and
// Close. It starts no goroutine, and allocates nothing on success, as
// ReadContext.
func (s *Stream) WriteContext(ctx context.Context, p []byte) (int, error) {
	if !s.valid() {
		return 0, os.ErrInvalid
	}
	if err := s.lock(ctx, s.wlock, &s.wdl); err != nil {
		return 0, s.pathErr("write", err)
	}
	defer s.unlock(s.wlock)
	nn := 0
	for nn < len(p) {
		chunk := p[nn:]
		if len(chunk) > maxRW {
			chunk = chunk[:maxRW]
		}
		n, err := unix.Write(s.fd, chunk)
		if n > 0 {
			nn += n
		}
		switch {
		case err == nil && n == 0:
			return nn, s.pathErr("write", io.ErrUnexpectedEOF)
		case err == nil:
			if s.reg == nil && nn < len(p) {
				// Plain I/O: the only place a ctx can act.
				if err := s.checkEntry(ctx, &s.wdl); err != nil {
					return nn, s.pathErr("write", err)
				}
			}
			continue
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN && s.reg != nil:
			if err = s.wait(ctx, reactor.Writable, &s.wdl); err == nil {
				continue
			}
		}
		return nn, s.pathErr("write", err)
	}
	return nn, nil
}

// Close closes the Stream. It wakes every blocked call on s, which return
// errors for which errors.Is(err, os.ErrClosed) holds, waits until no
// syscall on the fd is in flight, removes the fd from the reactor,
// restores O_NONBLOCK as it was when the Stream adopted it, and only then
// closes the fd, so an fd number is never reused under a running call. It
// is safe to call from any goroutine. A second Close returns an
// *os.PathError wrapping os.ErrClosed; the error of close(2) itself is
// returned as an *os.PathError with Op "close".
func (s *Stream) Close() error {
	if !s.valid() {
		return os.ErrInvalid
	}
	if !s.life.markClosed() {
		return s.pathErr("close", os.ErrClosed)
	}
	if s.reg != nil {
		s.reg.Evict()
	}
	s.decref()
	<-s.life.destroyed
	return s.closeErr
}

// destroy runs once, in whichever goroutine drops the last reference after
// Close started.
func (s *Stream) destroy() {
	s.rdl.stop()
	s.wdl.stop()
	if s.reg != nil {
		s.reg.Deregister()
	}
	releaseNonblock(s.nb, s.fd, &s.st)
	if err := unix.Close(s.fd); err != nil {
		s.closeErr = s.pathErr("close", err)
	}
	close(s.life.destroyed)
}

// SetDeadline sets the read and write deadlines, as SetReadDeadline and
// SetWriteDeadline do.
func (s *Stream) SetDeadline(t time.Time) error {
	if !s.valid() {
		return os.ErrInvalid
	}
	return s.setDeadline("SetDeadline", t, &s.rdl, &s.wdl)
}

// SetReadDeadline sets the deadline for future and pending reads; a zero t
// means none. A read blocked when the deadline passes, or begun after it
// passed, fails with an error wrapping os.ErrDeadlineExceeded (whose
// Timeout method reports true). Setting a later deadline lets the Stream
// be read again. It never blocks. After Close it returns an error
// wrapping os.ErrClosed.
func (s *Stream) SetReadDeadline(t time.Time) error {
	if !s.valid() {
		return os.ErrInvalid
	}
	return s.setDeadline("SetReadDeadline", t, &s.rdl)
}

// SetWriteDeadline is SetReadDeadline for writes. A write that times out
// may have written part of its buffer; it reports how much.
func (s *Stream) SetWriteDeadline(t time.Time) error {
	if !s.valid() {
		return os.ErrInvalid
	}
	return s.setDeadline("SetWriteDeadline", t, &s.wdl)
}

func (s *Stream) setDeadline(op string, t time.Time, ds ...*deadline) error {
	if !s.life.incref() {
		return s.pathErr(op, os.ErrClosed)
	}
	for _, d := range ds {
		d.set(t)
	}
	s.decref()
	return nil
}

// SyscallConn returns a raw connection to the fd, for setting options
// (termios, ioctls) or for I/O the Stream does not offer. Its Control
// holds the fd open for the duration of the callback; its Read and Write
// call the callback until it returns true, waiting for readiness through
// the reactor (and honouring the read or write deadline) each time it
// returns false, as os.File's do. On a Stream doing plain I/O a callback
// that returns false ends the call with ErrNotPollable. After Close every
// method returns an error wrapping os.ErrClosed.
func (s *Stream) SyscallConn() (syscall.RawConn, error) {
	if !s.valid() {
		return nil, os.ErrInvalid
	}
	if s.life.closed() {
		return nil, s.pathErr("SyscallConn", os.ErrClosed)
	}
	return rawConn{s}, nil
}

type rawConn struct{ s *Stream }

func (c rawConn) Control(f func(fd uintptr)) error {
	s := c.s
	if !s.life.incref() {
		return s.pathErr("control", os.ErrClosed)
	}
	defer s.decref()
	f(uintptr(s.fd))
	return nil
}

func (c rawConn) Read(f func(fd uintptr) bool) error {
	return c.s.rawIO("read", reactor.Readable, f)
}

func (c rawConn) Write(f func(fd uintptr) bool) error {
	return c.s.rawIO("write", reactor.Writable, f)
}

func (s *Stream) rawIO(op string, i reactor.Interest, f func(fd uintptr) bool) error {
	sem, d := s.rlock, &s.rdl
	if i == reactor.Writable {
		sem, d = s.wlock, &s.wdl
	}
	ctx := context.Background()
	if err := s.lock(ctx, sem, d); err != nil {
		return s.pathErr(op, err)
	}
	defer s.unlock(sem)
	for !f(uintptr(s.fd)) {
		if s.reg == nil {
			return s.pathErr(op, ErrNotPollable)
		}
		if err := s.wait(ctx, i, d); err != nil {
			return s.pathErr(op, err)
		}
	}
	return nil
}

// testHookBlock, set only by tests, is called each time a call is about to
// block: waiting for readiness (i is the direction) or queued behind
// another call (i is 0). Tests use it to act once a call is blocked
// instead of sleeping and hoping.
var testHookBlock atomic.Pointer[func(s *Stream, i reactor.Interest)]

// lock takes a reference and the direction's semaphore, giving up when ctx
// is done, the deadline passes, or s is closed.
func (s *Stream) lock(ctx context.Context, sem chan struct{}, d *deadline) error {
	if ctx == nil {
		return ErrNilContext
	}
	if !s.life.incref() {
		return os.ErrClosed
	}
	if err := s.checkEntry(ctx, d); err != nil {
		s.decref()
		return err
	}
	select {
	case sem <- struct{}{}:
	default:
		if err := s.lockSlow(ctx, sem, d); err != nil {
			s.decref()
			return err
		}
	}
	if s.life.closed() {
		s.unlock(sem)
		return os.ErrClosed
	}
	return nil
}

func (s *Stream) lockSlow(ctx context.Context, sem chan struct{}, d *deadline) error {
	if h := testHookBlock.Load(); h != nil {
		(*h)(s, 0) // queued behind another call
	}
	for {
		select {
		case sem <- struct{}{}:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-d.wait():
			if d.passed.Load() {
				return os.ErrDeadlineExceeded
			}
		case <-s.life.closing:
			return os.ErrClosed
		}
	}
}

func (s *Stream) unlock(sem chan struct{}) {
	<-sem
	s.decref()
}

func (s *Stream) decref() {
	if s.life.decref() {
		s.destroy()
	}
}

// checkEntry fails a call whose ctx is done or whose deadline passed
// before it does any I/O.
func (s *Stream) checkEntry(ctx context.Context, d *deadline) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.passed.Load() {
		return os.ErrDeadlineExceeded
	}
	return nil
}

// wait blocks until the fd may be ready for i. A deadline that changes
// while it waits is re-read; one that passes ends the wait.
func (s *Stream) wait(ctx context.Context, i reactor.Interest, d *deadline) error {
	for {
		expired := d.wait()
		if h := testHookBlock.Load(); h != nil {
			(*h)(s, i)
		}
		err := s.reg.Wait(ctx, i, expired)
		if err == os.ErrDeadlineExceeded && !d.passed.Load() {
			continue // the deadline was changed, not passed
		}
		return err
	}
}

// valid reports whether s was made by a constructor: a nil or zero
// Stream has no fd (a zero one's fd field would be 0, stdin), and every
// method but Name returns os.ErrInvalid.
func (s *Stream) valid() bool {
	return s != nil && s.life.closing != nil
}

func (s *Stream) pathErr(op string, err error) error {
	return &os.PathError{Op: op, Path: s.name, Err: err}
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
