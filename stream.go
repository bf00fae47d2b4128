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

	"github.com/fdstream/fdstream/internal/sysx"
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
// otherwise. On Linux, and on other Unix systems, it is a reactor.Runtime
// reactor: Streams park on the Go runtime's poller, and only the fds that
// poller is not known to handle (FIFOs and terminals on darwin and the
// BSDs) go to its shard loops (epoll on Linux, select elsewhere). Built
// with -tags noepoll it is a reactor.Select reactor, so that every Stream
// waits in the library's select loops. It is made on first use and starts
// nothing until a Stream registers with a loop.
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
// nil r means DefaultReactor. (A nil Option is ignored.) A reactor.Runtime
// r parks the Stream on the Go runtime poller where the platform's poller
// takes its fd type; an Epoll or Select r forces r's shard loops.
func WithReactor(r *reactor.Reactor) Option {
	return func(o *options) { o.reactor = r }
}

// Stream is one file descriptor with context-aware, goroutine-safe I/O.
// Reads are serialized with each other and writes with each other; a read,
// a write, deadline changes and Close may run at the same time from
// different goroutines.
//
// A Stream whose fd can be polled (ttys, ptys, pipes, FIFOs, sockets,
// character devices, eventfd) never occupies an OS thread while it waits:
// it parks on the Go runtime poller, or in a reactor's shard loop (see
// DefaultReactor). One whose fd cannot (regular files, block devices:
// epoll refuses them with EPERM) does plain I/O, checking ctx and
// deadlines before each syscall: such a call cannot be interrupted once
// its syscall has started.
//
// Streams are made by Open, NewStream, FromFile and Pipe. The methods of a
// nil *Stream, or of a zero Stream, return os.ErrInvalid (Name returns "").
type Stream struct {
	// The fields are laid out by use, not by topic. At scale a wake-up
	// finds its Stream cold in the caches, and each cache line a call
	// touches is a miss (about 100 ns). So on 64-bit platforms the first
	// 64 bytes hold all that a read on the runtime poller touches once
	// its wait is over: the reference count, the read lock and the head
	// of the read deadline; the scalars every call reads end the fourth
	// line; and the write side's lock and deadline head fill the fifth.
	// TestStreamLayout keeps it so (DESIGN.md, "Measurements").
	life  lifetime
	rlock dirLock
	rdl   deadline
	// ptyEOF: s is one side of a pseudo-terminal, where a read's EIO
	// means the other side is gone (a master after its slave closed, a
	// slave after its master closed), which is end of stream.
	ptyEOF bool
	// zeroReadIsEOF is false for datagram sockets, where a zero-byte read
	// is an empty datagram.
	zeroReadIsEOF bool
	// shortWriteIsFull: s is a pipe or FIFO, where a non-blocking write
	// that takes only part of its bytes has filled the buffer (Linux's
	// pipe_write stops short only when the pipe is full, and the next
	// read wakes writers), so a write parks at once instead of trying a
	// write that would fail with EAGAIN (runtimeWrite).
	shortWriteIsFull bool
	// wready: the last write on the runtime poller never waited, so the
	// next tries its syscall directly (writeDirect). Owned by the holder
	// of wlock.
	wready bool
	fd     int
	// How the Stream waits: file and rc on the Go runtime poller, reg on
	// a reactor's shard loop, neither for plain I/O.
	rc      syscall.RawConn
	closing chan struct{} // closed when Close starts: wakes lock waiters
	file    *os.File      // owns fd when not nil; reached only through rc and readFile
	wlock   dirLock
	wdl     deadline

	destroyed chan struct{} // closed once the fd itself is closed
	nb        *nbDesc       // the description we made non-blocking, if we did
	reg       *reactor.Registration
	// The runtime poller's callbacks and their state: made once, so that
	// a call allocates nothing; rop is owned by the holder of rlock, wop
	// by the holder of wlock.
	readFn, writeFn func(fd uintptr) bool
	rop, wop        op

	name     string
	closeErr error  // set by destroy before destroyed is closed
	aux      auxReg // WaitContext's registration, for what rc or plain I/O cannot wait for
	st       unix.Stat_t

	// A Copy between two Streams (copy.go) links them, so that closing
	// either wakes it: copyDst is the Stream a Copy reading s writes to
	// (set by the holder of rlock), copySrc the one a Copy writing s
	// reads from (set by the holder of wlock).
	copyDst, copySrc atomic.Pointer[Stream]
	// Vectored I/O (vectored.go): rv is owned by the holder of rlock, wv
	// by the holder of wlock.
	rv, wv vecOp
}

// op is one ReadContext or WriteContext on the runtime poller, as its
// RawConn callback sees it.
type op struct {
	ctx    context.Context
	p      []byte
	n      int
	err    error // the syscall's error, or arm's
	armed  bool  // the callback armed the deadline for a park
	waited bool  // the call parked at least once
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
	}
	if err := sysx.IgnoringEINTR(func() error { return unix.Fstat(fd, &s.st) }); err != nil {
		return fail(err)
	}
	s.rlock.init()
	s.wlock.init()
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
	s.closing = make(chan struct{})
	s.destroyed = make(chan struct{})
	s.aux.r = r
	// Regular files and block devices are always "ready" as far as poll
	// is concerned, and epoll refuses them: plain I/O (guarantee 7).
	pollable := kind != unix.S_IFREG && kind != unix.S_IFBLK
	if pollable {
		var err error
		if s.nb, err = acquireNonblock(fd, &s.st); err != nil {
			return fail(err)
		}
		if r.Backend() == reactor.Runtime && !testHookRefuseRuntime.Load() && runtimePollable(fd, &s.st) {
			s.openRuntime()
		}
		if s.rc == nil {
			// The shard loops: forced by r, or for an fd this platform's
			// runtime poller is not known to handle.
			if s.reg, err = r.Register(fd); err != nil {
				releaseNonblock(s.nb, fd, &s.st)
				s.nb = nil
				if err != unix.EPERM && s.file == nil {
					return fail(err)
				}
				// A device without poll support; or (not expected, as
				// runtimePollable probed) one the runtime refused after
				// its File took ownership of fd, which must then stay
				// the Stream's: plain I/O either way.
				pollable = false
			}
		}
	}
	if !pollable && openAddedNonblock {
		// Plain I/O wants a blocking fd: a driver that honours
		// O_NONBLOCK without supporting poll would hand back EAGAIN.
		unix.SetNonblock(fd, false)
	}
	switch kind {
	case unix.S_IFIFO:
		s.shortWriteIsFull = true
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

// openRuntime puts s's fd on the Go runtime poller through an *os.File,
// which from now on owns the fd (its Close closes it). The File is reached
// only through SyscallConn, never Fd(), which would make the fd blocking.
// The runtime does not say whether its poller took the fd; only then can
// a deadline be set, so that is the test. On success the Stream's
// callbacks and deadline setters are made, once.
func (s *Stream) openRuntime() {
	s.file = os.NewFile(uintptr(s.fd), s.name)
	if s.file.SetReadDeadline(time.Time{}) != nil {
		return // not on the poller: the File only owns the fd
	}
	s.rc, _ = s.file.SyscallConn() // fails only on a closed File
	s.readFn = s.runtimeRead
	s.writeFn = s.runtimeWrite
	s.rdl.initRuntime(s.file.SetReadDeadline)
	s.wdl.initRuntime(s.file.SetWriteDeadline)
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
// no goroutine. It allocates nothing when data is ready, whatever ctx is,
// nor when it waits with a ctx whose Done is nil or with the ctx of this
// direction's previous wait; a wait with a new cancellable ctx pays for
// one context.AfterFunc registration (5 objects, 496 B, with the ctx's
// lazily made Done channel). An error is allocated; on a shard loop so
// is a waiters' channel, once, after each deadline change.
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
	if err := s.lock(ctx, &s.rlock, &s.rdl); err != nil {
		return 0, s.pathErr("read", err)
	}
	if len(p) > maxRW {
		p = p[:maxRW]
	}
	// No defer, and the work in callees: this frame sits under every
	// parked reader, and a small stack is what a blocked reader costs
	// (nothing in the callees can panic).
	var n int
	var err error
	if s.rc != nil {
		n, err = s.readRuntime(ctx, p, false)
		for err == errArmShallow {
			// Arm here, as high on the stack as it gets: registering
			// an AfterFunc is the deepest thing a read does, and a
			// parked goroutine keeps the stack it grew.
			var armed bool
			if armed, err = s.rdl.arm(ctx, false); err != nil {
				err = s.pathErr("read", err)
				break
			}
			n, err = s.readRuntime(ctx, p, armed)
		}
	} else {
		n, err = s.readLoop(ctx, p)
	}
	s.unlock(&s.rlock)
	return n, err
}

// readLoop reads on a shard loop's registration, or plainly.
func (s *Stream) readLoop(ctx context.Context, p []byte) (int, error) {
	for {
		n, err := unix.Read(s.fd, p)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN && s.reg != nil:
			if err = s.waitLoop(ctx, reactor.Readable, &s.rdl); err == nil {
				continue
			}
			return 0, s.pathErr("read", err)
		}
		return s.readDone(n, err, p)
	}
}

// readDone turns a read(2)'s result into ReadContext's.
func (s *Stream) readDone(n int, err error, p []byte) (int, error) {
	switch {
	case err == nil && n > 0:
		return n, nil
	case err == nil && s.zeroReadIsEOF:
		return 0, io.EOF
	case err == nil:
		return 0, nil // an empty datagram
	case err == unix.EIO && s.ptyEOF:
		// The other side is gone. The kernel can say so while that
		// side's last output is still being flushed into our input
		// (seen on Linux 6.18: a read gets EIO, the next one the
		// missing bytes), so read once more before calling it the end.
		var n int
		err := sysx.IgnoringEINTR(func() (err error) { n, err = unix.Read(s.fd, p); return err })
		if err == nil && n > 0 {
			return n, nil
		}
		return 0, io.EOF
	}
	return 0, s.pathErr("read", err)
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
// Close. It starts no goroutine, and allocates as ReadContext does.
func (s *Stream) WriteContext(ctx context.Context, p []byte) (int, error) {
	if !s.valid() {
		return 0, os.ErrInvalid
	}
	if err := s.lock(ctx, &s.wlock, &s.wdl); err != nil {
		return 0, s.pathErr("write", err)
	}
	defer s.unlock(&s.wlock)
	if s.rc != nil {
		n := 0
		if s.wready {
			var err error
			var over bool
			if n, over, err = s.writeDirect(p); over {
				if err != nil {
					return n, s.pathErr("write", err)
				}
				return n, nil
			}
		}
		s.wop.ctx, s.wop.p, s.wop.n = ctx, p, n
		n, err := s.writeRuntime(ctx)
		for err == errArmShallow {
			// Arm high on the stack, as ReadContext does.
			if s.wop.armed, err = s.wdl.arm(ctx, false); err != nil {
				n = s.wop.n
				s.wop = op{}
				break
			}
			n, err = s.writeRuntime(ctx)
		}
		if err != nil {
			return n, s.pathErr("write", err)
		}
		return n, nil
	}
	nn := 0
	for nn < len(p) {
		n, _, err := writeSome(s.fd, p[nn:])
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
			if err = s.waitLoop(ctx, reactor.Writable, &s.wdl); err == nil {
				continue
			}
		}
		return nn, s.pathErr("write", err)
	}
	return nn, nil
}

// readRuntime is one read on the Go runtime poller: RawConn.Read runs
// runtimeRead, which tries the syscall and, on EAGAIN, arms the deadline
// and parks. It returns ReadContext's result, or errArmShallow when the
// arm would go deep: ReadContext then arms and calls it again, which
// tries the syscall again.
func (s *Stream) readRuntime(ctx context.Context, p []byte, armed bool) (int, error) {
	if s.zeroReadIsEOF {
		// The retry after errArmShallow (armed: ReadContext armed, its
		// ctx registered now) may come this way too: readFile's disarm
		// ends that arm.
		if a, ok, err := s.rdl.armFile(ctx); ok {
			armed = armed || a
			if err != nil {
				if armed {
					s.rdl.disarm()
				}
				return 0, s.pathErr("read", err)
			}
			return s.readFile(ctx, p, armed)
		}
	}
	o := &s.rop
	o.ctx, o.p, o.armed = ctx, p, armed
	for {
		err := s.rc.Read(s.readFn)
		if err == nil && o.err == errArmShallow {
			*o = op{}               // the Stream must not keep p and ctx alive
			return 0, errArmShallow // ReadContext arms, and calls again
		}
		if o.armed {
			o.armed = false
			s.rdl.disarm()
		}
		if err == nil {
			break
		}
		if err = s.rdl.resolve(s, ctx, err); err != nil {
			*o = op{}
			return 0, s.pathErr("read", err)
		}
	}
	n, err := o.n, o.err
	*o = op{} // drop p and ctx: the Stream must not keep them alive
	return s.readDone(n, err, p)
}

// readFile reads through the File's own Read, for a call that armFile
// took (armed: it must disarm). Once its wait is over, such a read touches
// nothing of its Stream but the first cache line (see Stream), where one
// through RawConn.Read touches five: its callback, the op it shares with
// it, and the deadline's tail.
func (s *Stream) readFile(ctx context.Context, p []byte, armed bool) (int, error) {
	for {
		if h := testHookBlock.Load(); h != nil {
			// Tests only: the hook says a call is about to wait, and
			// the File's Read does not say so; a read of our own does.
			// A probe the File's deadline stops (ok false) leaves the
			// call to the File's Read, which fails the same way.
			n, ok, err := s.readProbe(p)
			if ok && err != unix.EAGAIN {
				if armed {
					s.rdl.disarm()
				}
				return s.readDone(n, err, p)
			}
			if ok {
				(*h)(s, reactor.Readable)
			}
		}
		n, err := s.file.Read(p)
		if err == nil {
			if armed {
				s.rdl.disarm()
			}
			return n, nil
		}
		if err == io.EOF { // the File's word for a read of 0 bytes
			if armed {
				s.rdl.disarm()
			}
			return s.readDone(0, nil, p)
		}
		pe, ok := err.(*os.PathError)
		if !ok {
			if armed {
				s.rdl.disarm()
			}
			return 0, s.pathErr("read", err)
		}
		if err = pe.Err; err == os.ErrDeadlineExceeded {
			// Keep the arm across a spurious wake-up: resolve puts the
			// composed deadline back for the retry.
			if err = s.rdl.resolve(s, ctx, err); err == nil {
				continue
			}
		}
		if armed {
			s.rdl.disarm()
		}
		if err == unix.EIO && s.ptyEOF {
			return s.readDone(n, err, p)
		}
		// The File made pe for this call alone: it becomes the call's
		// error, so that an error costs one allocation here too.
		pe.Op, pe.Path, pe.Err = "read", s.name, err
		return 0, pe
	}
}

// readProbe is one read(2) of p, retried on EINTR, through RawConn.Read
// so that it sees the File's deadline first, as the File's Read does: a
// read past the deadline must not take bytes that are ready. ok false
// says the File's deadline (or Close) stopped it before the read.
func (s *Stream) readProbe(p []byte) (n int, ok bool, err error) {
	rerr := s.rc.Read(func(fd uintptr) bool {
		for {
			n, err = unix.Read(int(fd), p)
			if err != unix.EINTR {
				return true
			}
		}
	})
	return n, rerr == nil, err
}

// runtimeRead is the RawConn callback of readRuntime, made once per Stream
// as s.readFn: a closure made per call would be an allocation per call.
func (s *Stream) runtimeRead(fd uintptr) bool {
	o := &s.rop
	for {
		n, err := unix.Read(int(fd), o.p)
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return !s.park(o, reactor.Readable, &s.rdl)
		}
		o.n, o.err = n, err
		return true
	}
}

// writeRuntime writes all of p on the Go runtime poller, as readRuntime
// reads: n is exactly what reached the fd, whatever ended the call.
// The call's state (p, and what was written so far) is in s.wop, which
// WriteContext set.
func (s *Stream) writeRuntime(ctx context.Context) (int, error) {
	o := &s.wop
	for {
		err := s.rc.Write(s.writeFn)
		if err == nil && o.err == errArmShallow {
			o.err = nil
			return o.n, errArmShallow // WriteContext arms, and calls again
		}
		if o.armed {
			o.armed = false
			s.wdl.disarm()
		}
		if err == nil {
			break
		}
		if err = s.wdl.resolve(s, ctx, err); err != nil {
			n := o.n
			*o = op{}
			return n, err
		}
	}
	// The next call writes directly if this one never waited.
	s.wready = !o.waited
	n, err := o.n, o.err
	*o = op{}
	return n, err
}

// writeSome is one write(2) of at most maxRW bytes of p; short reports a
// write that took some of them but not all.
func writeSome(fd int, p []byte) (n int, short bool, err error) {
	if len(p) > maxRW {
		p = p[:maxRW]
	}
	n, err = unix.Write(fd, p)
	return n, err == nil && n > 0 && n < len(p), err
}

// writeDirect writes p without RawConn.Write, as a write that finds room
// in the fd needs nothing of the poller: no fdMutex, no ready bit to
// clear. WriteContext tries it when the previous write never waited. It
// returns what was written and whether the call is over (all written, or
// an error). On EAGAIN, or a short write to a pipe, it clears s.wready and
// leaves the rest to RawConn.Write, which must try the syscall again after
// clearing the poller's ready bit: that one extra syscall is paid only
// when a Stream goes from writes that never wait to one that does, as
// tokio clears an I/O resource's cached readiness only on WouldBlock. The
// reference WriteContext holds keeps the fd number valid.
func (s *Stream) writeDirect(p []byte) (nn int, over bool, err error) {
	for nn < len(p) {
		n, short, err := writeSome(s.fd, p[nn:])
		if n > 0 {
			nn += n
		}
		switch {
		case err == nil && n == 0:
			return nn, true, io.ErrUnexpectedEOF
		case short && s.shortWriteIsFull, err == unix.EAGAIN:
			s.wready = false
			return nn, false, nil
		case err == nil, err == unix.EINTR:
			continue
		}
		return nn, true, err
	}
	return nn, true, nil
}

// runtimeWrite is the RawConn callback of writeRuntime, made once per
// Stream as s.writeFn.
func (s *Stream) runtimeWrite(fd uintptr) bool {
	o := &s.wop
	for o.n < len(o.p) {
		n, short, err := writeSome(int(fd), o.p[o.n:])
		if n > 0 {
			o.n += n
		}
		switch {
		case err == nil && n == 0:
			o.err = io.ErrUnexpectedEOF
			return true
		case short && s.shortWriteIsFull:
			// The pipe is full: park now, saving a write that would
			// fail with EAGAIN. No wake-up is lost: RawConn.Write
			// cleared the poller's ready bit before this callback ran,
			// so the read that makes room, now or already, marks it.
			return !s.park(o, reactor.Writable, &s.wdl)
		case err == nil, err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return !s.park(o, reactor.Writable, &s.wdl)
		}
		o.err = err
		return true
	}
	return true
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

func (s *Stream) rawIO(opName string, i reactor.Interest, f func(fd uintptr) bool) error {
	sem, d := &s.rlock, &s.rdl
	if i == reactor.Writable {
		sem, d = &s.wlock, &s.wdl
	}
	ctx := context.Background()
	if err := s.lock(ctx, sem, d); err != nil {
		return s.pathErr(opName, err)
	}
	defer s.unlock(sem)
	if s.rc != nil {
		o := op{ctx: ctx}
		fn := func(fd uintptr) bool {
			if f(fd) {
				return true
			}
			return !s.park(&o, i, d)
		}
		rawWait := s.rc.Read
		if i == reactor.Writable {
			rawWait = s.rc.Write
		}
		for {
			err := rawWait(fn)
			if err == nil && o.err == errArmShallow {
				o.err = nil
				if o.armed, err = d.arm(ctx, false); err == nil {
					continue
				}
			}
			if o.armed {
				o.armed = false
				d.disarm()
			}
			if err == nil {
				err = o.err
			} else if err = d.resolve(s, ctx, err); err == nil {
				continue
			}
			if err != nil {
				return s.pathErr(opName, err)
			}
			return nil
		}
	}
	for !f(uintptr(s.fd)) {
		if s.reg == nil {
			return s.pathErr(opName, ErrNotPollable)
		}
		if err := s.waitLoop(ctx, i, d); err != nil {
			return s.pathErr(opName, err)
		}
	}
	return nil
}

// valid reports whether s was made by a constructor: a nil or zero
// Stream has no fd (a zero one's fd field would be 0, stdin), and every
// method but Name returns os.ErrInvalid.
func (s *Stream) valid() bool {
	return s != nil && s.closing != nil
}

func (s *Stream) pathErr(op string, err error) error {
	return &os.PathError{Op: op, Path: s.name, Err: err}
}
