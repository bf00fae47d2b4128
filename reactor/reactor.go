package reactor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// Backend names the readiness mechanism a Reactor or a Poller uses.
type Backend int

const (
	// DefaultBackend picks epoll on Linux, unless the program was built
	// with -tags noepoll, and select everywhere else (for a Poller: poll
	// everywhere else, and on Linux with -tags noepoll).
	DefaultBackend Backend = iota
	// Epoll registers every fd once in an epoll set, and parks the epoll
	// fd itself on the Go runtime's poller (Park). Linux only.
	Epoll
	// Select builds its fd sets from the table at each call and calls
	// select(2). Portable to every Unix, devices included, but limited to
	// fds below FD_SETSIZE (1024). A wait holds an OS thread.
	Select
	// Runtime marks a Reactor whose Streams park on the Go runtime's own
	// poller: package fdstream gives each such Stream an *os.File over
	// its fd, reached only through SyscallConn, and a wait parks in
	// RawConn.Read or RawConn.Write, so the runtime wakes the waiting
	// goroutine itself, with no hand-off through a loop.
	//
	// Register on a Runtime Reactor (the readiness API, for fds owned by
	// other code, and the fds the runtime poller refuses) uses its shard
	// loops, whose backend Config.Loops names. Putting a foreign fd on the
	// runtime poller would take a dup of it (one more descriptor per
	// registration, which halves how many fds fit under RLIMIT_NOFILE),
	// and Wait's expired channel cannot be watched from a runtime park
	// without a goroutine per wait. A Poller cannot use it (the runtime
	// does not lend out its event loop).
	Runtime
	// Poll calls poll(2) on a table of pollfd entries kept between calls.
	// Portable to every Unix, with no limit on fd numbers (macOS's poll
	// does not support devices: use Select there). A wait holds an OS
	// thread.
	Poll
)

func (b Backend) String() string {
	switch b {
	case DefaultBackend:
		return "default"
	case Epoll:
		return "epoll"
	case Select:
		return "select"
	case Runtime:
		return "runtime"
	case Poll:
		return "poll"
	}
	return fmt.Sprintf("Backend(%d)", int(b))
}

// Park says how an epoll shard or Poller waits for its next batch of
// events. The poll and select backends always block in their system call
// on an OS thread.
type Park int

const (
	// ParkRuntime parks the shard's epoll fd on the Go runtime's own
	// poller and harvests it with a zero-timeout epoll_wait once the
	// runtime reports it readable. Wake-ups stay on the Go scheduler's
	// fast path (no thread hand-off); this is the default. See the
	// package documentation for the measurement behind the choice.
	ParkRuntime Park = iota
	// ParkThread blocks the shard's goroutine in epoll_wait(-1), so the
	// shard occupies an OS thread while it waits and every wake-up
	// crosses threads. Kept for measurement and for comparison.
	ParkThread
)

func (p Park) String() string {
	switch p {
	case ParkRuntime:
		return "runtime"
	case ParkThread:
		return "thread"
	}
	return fmt.Sprintf("Park(%d)", int(p))
}

// Config configures a Reactor. The zero Config is valid.
type Config struct {
	// Backend is the readiness mechanism; DefaultBackend if zero.
	Backend Backend
	// Shards is the number of independent loops registrations are spread
	// over; runtime.GOMAXPROCS(0) if zero or negative.
	Shards int
	// Park is how an epoll shard or Poller waits; ignored by the poll
	// and select backends.
	Park Park
	// Loops is the backend of a Runtime Reactor's shard loops: Epoll,
	// Poll or Select; DefaultBackend if zero (epoll on Linux unless built
	// with -tags noepoll, select elsewhere). Ignored by other backends,
	// whose loops are their own, and by NewPoller.
	Loops Backend
}

// Interest is a set of readiness conditions.
type Interest uint8

const (
	// Readable: a read would not block (data, end of stream or an error).
	Readable Interest = 1 << iota
	// Writable: a write would not block (room, or an error such as EPIPE).
	Writable
	// Priority: an exceptional condition (POLLPRI, EPOLLPRI, select's
	// exceptfds): a sysfs attribute or /proc/self/mounts changed, a
	// cgroup.events file changed, a pty master in packet mode has status,
	// a socket has out-of-band data. The Go runtime's poller never
	// watches for it.
	Priority

	allInterests = Readable | Writable | Priority
)

func (i Interest) String() string {
	if i == 0 {
		return "none"
	}
	if i&^allInterests != 0 {
		return fmt.Sprintf("Interest(%d)", uint8(i))
	}
	var b []byte
	for _, x := range []struct {
		i    Interest
		name string
	}{{Readable, "readable"}, {Writable, "writable"}, {Priority, "priority"}} {
		if i&x.i != 0 {
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, x.name...)
		}
	}
	return string(b)
}

// Mode says how often a Poller reports an fd that stays ready; the
// zero Mode is Oneshot, as in smol-rs/polling. Which backends do which
// mode natively, emulate it or refuse it is in the package documentation.
type Mode uint8

const (
	// Oneshot reports the fd once, then not again until Modify re-arms
	// it. It is the default: a loop that handles an event and then
	// modifies the fd cannot be handed the same readiness twice.
	Oneshot Mode = iota
	// Level reports the fd at every Wait for as long as it is ready.
	Level
	// Edge reports the fd once each time it becomes ready: the handler
	// must read (or write) until EAGAIN, or it may wait for an edge that
	// already passed.
	Edge
	// EdgeOneshot reports the first edge, then nothing until Modify
	// re-arms the fd.
	EdgeOneshot
)

func (m Mode) String() string {
	switch m {
	case Oneshot:
		return "oneshot"
	case Level:
		return "level"
	case Edge:
		return "edge"
	case EdgeOneshot:
		return "edge-oneshot"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

var (
	// ErrUnsupported is returned by New and NewPoller for a backend this
	// platform lacks (epoll outside Linux).
	ErrUnsupported = errors.New("reactor: backend not supported on this platform")
	// ErrModeUnsupported is returned by Poller.Add and Poller.Modify for
	// a mode the Poller's backend cannot do (Edge and EdgeOneshot on poll
	// and select). It wraps errors.ErrUnsupported.
	ErrModeUnsupported = fmt.Errorf("reactor: mode not supported by this backend (level-triggered backends have no edges; use Oneshot or Level): %w", errors.ErrUnsupported)
	// ErrFDSetSize is returned by Register and Poller.Add on the select
	// backend for an fd at or above FD_SETSIZE, which select(2) cannot
	// watch.
	ErrFDSetSize   = fmt.Errorf("reactor: fd not below FD_SETSIZE (%d), which the select backend cannot watch; use the epoll or poll backend", fdSetSize)
	errZeroReactor = fmt.Errorf("reactor: Reactor not made by New: %w", os.ErrInvalid)
	// ErrNilContext is returned by Wait when ctx is nil.
	ErrNilContext = errors.New("reactor: nil Context")
)

// Reactor is a set of shards, each one loop that tells waiting operations
// when their fd becomes ready. A Reactor is safe for concurrent use. It
// starts nothing when it is made: a shard's loop runs only while the shard
// has registrations, so a Reactor with no registrations holds no goroutine
// and no file descriptor and needs no Close.
type Reactor struct {
	backend Backend // what New was asked for (never DefaultBackend)
	loops   Backend // the shards' backend: Epoll, Poll or Select
	park    Park
	shards  []*shard
}

// New makes a Reactor. It returns ErrUnsupported for a backend this
// platform lacks and an error for an unknown Backend or Park.
func New(c Config) (*Reactor, error) {
	b := c.Backend
	if b == DefaultBackend {
		b = defaultBackend
	}
	loops := b
	if b == Runtime {
		loops = c.Loops
		if loops == DefaultBackend {
			loops = defaultBackend
		}
	}
	if err := checkBackend(loops); err != nil {
		return nil, err
	}
	if err := checkPark(c.Park); err != nil {
		return nil, err
	}
	n := c.Shards
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	r := &Reactor{backend: b, loops: loops, park: c.Park, shards: make([]*shard, n)}
	for i := range r.shards {
		r.shards[i] = &shard{r: r}
	}
	return r, nil
}

// checkBackend accepts the backends that have a selector on this
// platform.
func checkBackend(b Backend) error {
	switch b {
	case Epoll:
		if !haveEpoll {
			return ErrUnsupported
		}
		return nil
	case Poll, Select:
		return nil
	}
	return fmt.Errorf("reactor: unknown backend %v", b)
}

func checkPark(p Park) error {
	if p != ParkRuntime && p != ParkThread {
		return fmt.Errorf("reactor: unknown park mode %v", p)
	}
	return nil
}

// Backend reports the backend r uses (never DefaultBackend).
func (r *Reactor) Backend() Backend { return r.backend }

// LoopBackend reports the backend of r's shard loops, which serve
// Register: Epoll, Poll or Select. For a Runtime Reactor it is
// Config.Loops; otherwise it is Backend.
func (r *Reactor) LoopBackend() Backend { return r.loops }

// Park reports how r's epoll shards wait.
func (r *Reactor) Park() Park { return r.park }

// Shards reports the number of shards.
func (r *Reactor) Shards() int { return len(r.shards) }

// Registrations reports how many registrations are live in r.
func (r *Reactor) Registrations() int {
	n := 0
	for _, sh := range r.shards {
		sh.mu.Lock()
		n += sh.count
		sh.mu.Unlock()
	}
	return n
}

// Loops reports how many shard loops are running (at most Shards; zero
// when r has no registrations).
func (r *Reactor) Loops() int {
	n := 0
	for _, sh := range r.shards {
		sh.mu.Lock()
		if sh.l != nil {
			n++
		}
		sh.mu.Unlock()
	}
	return n
}

// Stats are cumulative counters for observing a Reactor: a loop that
// spins shows as Wakeups growing while nothing happens.
type Stats struct {
	Wakeups uint64 // batches a shard loop harvested (a wait that returned)
	Events  uint64 // readiness notifications delivered to registrations
	// BadFds counts select(2) calls that failed with EBADF: a watched fd
	// was closed while still registered (behind the reactor's back).
	BadFds uint64
}

// Stats returns r's counters, summed over its shards.
func (r *Reactor) Stats() Stats {
	var st Stats
	for _, sh := range r.shards {
		st.Wakeups += sh.wakeups.Load()
		st.Events += sh.events.Load()
		st.BadFds += sh.badFds.Load()
	}
	return st
}

// Register adds fd to r, starting its shard's loop if it was idle. It does
// not take ownership of fd and does not change its flags: the caller
// should put fd in non-blocking mode, keep it open until Deregister has
// returned, and register it only once per Reactor.
//
// Errors: unix.EBADF for a negative or closed fd; on the epoll backend
// unix.EPERM for fds epoll cannot watch (regular files, directories; the
// attribute files of sysfs and some procfs files, which can be polled
// for Priority, are accepted); on the select backend ErrFDSetSize for
// fd >= FD_SETSIZE; an *os.SyscallError naming the shard's own
// epoll_create1, eventfd or pipe2 call when the loop could not start
// (wrapping EMFILE when the process is out of descriptors: the Reactor is
// unharmed and a later Register may succeed); an error wrapping
// os.ErrInvalid for a nil or zero Reactor.
func (r *Reactor) Register(fd int) (*Registration, error) {
	if r == nil || len(r.shards) == 0 {
		return nil, errZeroReactor
	}
	if fd < 0 {
		return nil, unix.EBADF
	}
	sh := r.shards[fd%len(r.shards)]
	return sh.register(fd)
}

// Registration is one fd in a Reactor. Its methods are safe for
// concurrent use.
type Registration struct {
	sh   *shard
	fd   int
	tok  token
	edge bool // the shard's selector is edge-triggered (set once, read without a lock)

	// rd, wr and pri each remember one pending readiness event: the loop
	// fills them with a non-blocking send, so an edge that fires between
	// the caller's EAGAIN and its Wait is not lost.
	rd, wr, pri chan struct{}

	evictOnce sync.Once
	evicted   chan struct{}

	// Guarded by sh.mu.
	deregistered bool
	// armed: on a level-triggered backend, the interests waited for
	// right now (the selector watches exactly these, oneshot); on an
	// edge backend, Priority once it was added to the entry.
	armed Interest
}

// Fd reports the registered descriptor.
func (r *Registration) Fd() int { return r.fd }

// Wait blocks until the fd may have become ready for i (any non-empty
// combination of Readable, Writable and Priority), ctx is done, expired
// is closed, or the registration is evicted or deregistered. It returns
// nil on readiness, ctx.Err() when ctx is done, os.ErrDeadlineExceeded
// when expired is closed (a nil expired never is), os.ErrClosed after
// Evict or Deregister, ErrNilContext for a nil ctx, and an error wrapping
// os.ErrInvalid for an empty or unknown interest.
//
// Readiness is edge-triggered: Wait returns once for every time the fd
// became ready, plus, rarely, spuriously. The caller must do its I/O until
// it gets EAGAIN before it waits again, or it may wait for an edge that
// already passed; Do runs that loop for the caller. A hang-up or an error
// on the fd wakes every interest. Wait starts no goroutine and allocates
// nothing. It may be called from several goroutines at once, but each
// remembered edge wakes only one of the waiters for that interest.
func (r *Registration) Wait(ctx context.Context, i Interest, expired <-chan struct{}) error {
	if ctx == nil {
		return ErrNilContext
	}
	var rd, wr, pri chan struct{}
	if i&Readable != 0 {
		rd = r.rd
	}
	if i&Writable != 0 {
		wr = r.wr
	}
	if i&Priority != 0 {
		pri = r.pri
	}
	if i == 0 || i&^allInterests != 0 {
		return fmt.Errorf("reactor: Wait on interest %v: %w", i, os.ErrInvalid)
	}
	if err := r.sh.arm(r, i); err != nil {
		return err
	}
	select {
	case <-rd:
		return nil
	case <-wr:
		return nil
	case <-pri:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-expired:
		return os.ErrDeadlineExceeded
	case <-r.evicted:
		return os.ErrClosed
	}
}

// Do runs f, the caller's non-blocking system call on r's fd, until f
// returns something other than unix.EAGAIN (tested with errors.Is),
// waiting for i with Wait between tries and retrying at once on EINTR.
// It is the loop every user of an edge-triggered readiness API must
// write (tokio's AsyncFd::async_io, mdlayher/socket's ReadFunc), written
// once: the system call comes first, and Wait only follows an EAGAIN,
// so no edge is ever waited for after it passed.
//
// It returns f's result, or Wait's error when ctx is done (ctx.Err()), r
// is evicted or deregistered (os.ErrClosed), or i is invalid. ctx is not
// looked at while f succeeds. Do starts no goroutine and allocates
// nothing itself; it is safe for concurrent use as Wait is.
func (r *Registration) Do(ctx context.Context, i Interest, f func(fd int) error) error {
	for {
		err := f(r.fd)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case !errors.Is(err, unix.EAGAIN):
			return err
		}
		if err := r.Wait(ctx, i, nil); err != nil {
			return err
		}
	}
}

// Evict wakes every current and future Wait with os.ErrClosed, without
// deregistering. Use it to unblock waiters before the fd is torn down.
func (r *Registration) Evict() {
	r.evictOnce.Do(func() { close(r.evicted) })
}

// Deregister evicts r and removes its fd from the reactor; once it
// returns, no event for this registration is delivered, no system call of
// the reactor names the fd, and the caller may close it. (On the poll
// and select backends Deregister may wait for the shard's loop to return
// from a poll(2) or select(2) that names the fd.) The shard's loop stops,
// and its descriptors are released, when its last registration is
// removed. A second call returns os.ErrClosed.
func (r *Registration) Deregister() error {
	r.Evict()
	return r.sh.deregister(r)
}

// notify delivers readiness to r's pending-event signals. It never blocks.
func (r *Registration) notify(i Interest) {
	if i&Readable != 0 {
		select {
		case r.rd <- struct{}{}:
		default:
		}
	}
	if i&Writable != 0 {
		select {
		case r.wr <- struct{}{}:
		default:
		}
	}
	if i&Priority != 0 {
		select {
		case r.pri <- struct{}{}:
		default:
		}
	}
}
