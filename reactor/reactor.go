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

// Backend names the readiness mechanism a Reactor uses.
type Backend int

const (
	// DefaultBackend picks epoll on Linux, unless the program was built
	// with -tags noepoll, and select everywhere else.
	DefaultBackend Backend = iota
	// Epoll registers every fd once, edge-triggered, in a shard's epoll
	// set. Linux only.
	Epoll
	// Select builds its fd sets from the operations waiting right now and
	// calls select(2). Portable to every Unix, but limited to fds below
	// FD_SETSIZE (1024).
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
	// without a goroutine per wait.
	Runtime
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
	}
	return fmt.Sprintf("Backend(%d)", int(b))
}

// Park says how an epoll shard waits for its next batch of events.
// The select backend always blocks in select(2) on its own thread.
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
	// Park is how an epoll shard waits; ignored by the select backend.
	Park Park
	// Loops is the backend of a Runtime Reactor's shard loops: Epoll or
	// Select; DefaultBackend if zero (epoll on Linux unless built with
	// -tags noepoll, select elsewhere). Ignored by other backends, whose
	// loops are their own.
	Loops Backend
}

// Interest is a set of readiness directions.
type Interest uint8

const (
	// Readable: a read would not block (data, end of stream or an error).
	Readable Interest = 1 << iota
	// Writable: a write would not block (room, or an error such as EPIPE).
	Writable
)

func (i Interest) String() string {
	switch i {
	case Readable:
		return "readable"
	case Writable:
		return "writable"
	case Readable | Writable:
		return "readable|writable"
	}
	return fmt.Sprintf("Interest(%d)", uint8(i))
}

var (
	// ErrUnsupported is returned by New for a backend this platform lacks
	// (epoll outside Linux).
	ErrUnsupported = errors.New("reactor: backend not supported on this platform")
	// ErrFDSetSize is returned by Register on the select backend for an fd
	// at or above FD_SETSIZE, which select(2) cannot watch.
	ErrFDSetSize   = fmt.Errorf("reactor: fd not below FD_SETSIZE (%d), which the select backend cannot watch; use the epoll backend", fdSetSize)
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
	loops   Backend // the shards' backend: Epoll or Select
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
	switch loops {
	case Epoll:
		if !haveEpoll {
			return nil, ErrUnsupported
		}
	case Select:
	default:
		return nil, fmt.Errorf("reactor: unknown backend %v", loops)
	}
	if c.Park != ParkRuntime && c.Park != ParkThread {
		return nil, fmt.Errorf("reactor: unknown park mode %v", c.Park)
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

// Backend reports the backend r uses (never DefaultBackend).
func (r *Reactor) Backend() Backend { return r.backend }

// LoopBackend reports the backend of r's shard loops, which serve
// Register: Epoll or Select. For a Runtime Reactor it is Config.Loops;
// otherwise it is Backend.
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
		if sh.p != nil {
			n++
		}
		sh.mu.Unlock()
	}
	return n
}

// Stats are cumulative counters for observing a Reactor: a loop that
// spins shows as Wakeups growing while nothing happens.
type Stats struct {
	Wakeups uint64 // batches a shard loop harvested (epoll_wait or select returns)
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
// unix.EPERM for fds epoll cannot watch (regular files, directories); on the
// select backend ErrFDSetSize for fd >= FD_SETSIZE; an *os.SyscallError
// naming the shard's own epoll_create1, eventfd or pipe2 call when the
// loop could not start (wrapping EMFILE when the process is out of
// descriptors: the Reactor is unharmed and a later Register may succeed);
// an error wrapping os.ErrInvalid for a nil or zero Reactor.
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
	sh  *shard
	fd  int
	idx uint32
	gen uint32

	// rd and wr each remember one pending readiness event: the loop fills
	// them with a non-blocking send, so an edge that fires between the
	// caller's EAGAIN and its Wait is not lost.
	rd, wr chan struct{}

	evictOnce sync.Once
	evicted   chan struct{}

	// Guarded by sh.mu.
	deregistered bool
	armed        Interest // select backend: directions waiting right now
	watchIdx     int      // select backend: index in the poller's watch list
}

// Fd reports the registered descriptor.
func (r *Registration) Fd() int { return r.fd }

// Wait blocks until the fd may have become ready for i (Readable, Writable
// or both), ctx is done, expired is closed, or the registration is evicted
// or deregistered. It returns nil on readiness, ctx.Err() when ctx is done,
// os.ErrDeadlineExceeded when expired is closed (a nil expired never is),
// os.ErrClosed after Evict or Deregister, and ErrNilContext for a nil ctx.
//
// Readiness is edge-triggered: Wait returns once for every time the fd
// became ready, plus, rarely, spuriously. The caller must do its I/O until
// it gets EAGAIN before it waits again, or it may wait for an edge that
// already passed. Wait starts no goroutine and allocates nothing.
func (r *Registration) Wait(ctx context.Context, i Interest, expired <-chan struct{}) error {
	if ctx == nil {
		return ErrNilContext
	}
	var rd, wr chan struct{}
	if i&Readable != 0 {
		rd = r.rd
	}
	if i&Writable != 0 {
		wr = r.wr
	}
	if rd == nil && wr == nil {
		return fmt.Errorf("reactor: Wait on empty interest %v", i)
	}
	if err := r.sh.arm(r, i); err != nil {
		return err
	}
	select {
	case <-rd:
		return nil
	case <-wr:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-expired:
		return os.ErrDeadlineExceeded
	case <-r.evicted:
		return os.ErrClosed
	}
}

// Evict wakes every current and future Wait with os.ErrClosed, without
// deregistering. Use it to unblock waiters before the fd is torn down.
func (r *Registration) Evict() {
	r.evictOnce.Do(func() { close(r.evicted) })
}

// Deregister evicts r and removes its fd from the reactor; once it returns,
// no event for this registration is delivered and the caller may close the
// fd. The shard's loop stops, and its descriptors are released, when its
// last registration is removed; on the select backend, when r's fd may be
// in the sets of a select(2) running now, Deregister also waits for that
// call to return, so that no syscall names the fd once it has returned. A
// second call returns os.ErrClosed.
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
}
