package reactor

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Poller is an event loop's view of readiness, in the shape of
// smol-rs/polling: fds are added under a key with an interest and a mode,
// and one goroutine waits for a batch of events, handles them, and
// re-arms what it wants to hear about again. It is for a program that
// serves many fds from one goroutine (a multiplexer over serial ports, a
// proxy, a port of code written against polling), where a Registration
// per fd would cost a goroutine per fd.
//
// Add, Modify, Delete, Notify and Close are safe from any goroutine, also
// while Wait runs; Wait calls are serialised. The fds stay the caller's:
// the Poller never reads, writes or closes them, and the caller must
// Delete an fd before closing it.
type Poller struct {
	sel     selector
	backend Backend

	// mu guards the table and closed, and is held around the selector's
	// add, modify and del.
	mu     sync.Mutex
	slots  []pollerSlot
	free   []uint32
	byFd   []uint32 // fd -> slot index + 1; 0: not added
	closed bool

	// life guards the selector against wakes once it is closed: Notify
	// and the ctx callback hold it shared, Close exclusively.
	life     sync.RWMutex
	isClosed atomic.Bool
	notified atomic.Bool

	// sem serialises Wait; what follows is its holder's.
	sem  chan struct{}
	evs  []event
	done <-chan struct{} // the ctx whose AfterFunc is registered, by its Done
	stop func() bool
	wake func() // p.wakeFromCtx, made once
}

// pollerSlot is one added fd.
type pollerSlot struct {
	fd   int
	key  uint64
	gen  uint32
	want Interest
	mode Mode
	live bool
}

// Event is one fd's readiness, as Wait reports it.
type Event struct {
	// Key is the key the fd was added (or last modified) with.
	Key uint64
	// Ready is what the fd is ready for, within the interest it was
	// added with. A hang-up or an error makes it the whole interest, so
	// that the handler's next read sees end of stream and its next write
	// the error.
	Ready Interest
	// HangUp: the peer is gone, or has shut down its writing side (reads
	// will see end of stream). Err: an error condition on the fd
	// (POLLERR, EPOLLERR; a sysfs or procfs file reports a change as Err
	// with Priority), or an fd that was closed while added (poll,
	// select). The select backend cannot tell a hang-up from readiness:
	// it never sets HangUp, and sets Err only for a closed fd.
	HangUp, Err bool
}

var (
	// ErrNoEvents is returned by Wait for an empty events slice.
	ErrNoEvents   = fmt.Errorf("reactor: Poller.Wait needs room for at least one event: %w", os.ErrInvalid)
	errZeroPoller = fmt.Errorf("reactor: Poller not made by NewPoller: %w", os.ErrInvalid)
)

// NewPoller makes a Poller. Config.Backend picks Epoll, Poll or Select;
// DefaultBackend is epoll on Linux (unless built with -tags noepoll) and
// poll elsewhere. Config.Park says how an epoll Poller's Wait waits
// (ParkRuntime, the default, holds no OS thread); Shards and Loops are
// ignored. It returns ErrUnsupported for a backend this platform lacks,
// an error for Runtime or an unknown Backend or Park, and an
// *os.SyscallError naming the call when the Poller's own descriptors
// cannot be made (epoll_create1, eventfd, pipe2; EMFILE when the process
// is out of them).
//
// A Poller holds its descriptors (one epoll fd, and an eventfd with
// ParkThread; with ParkRuntime, once an fd is added for Priority, a
// second epoll fd and an eventfd; a self-pipe for poll and select) until
// Close, but no goroutine: Wait runs on its caller's.
func NewPoller(c Config) (*Poller, error) {
	b := c.Backend
	if b == DefaultBackend {
		b = defaultPollerBackend
	}
	if b == Runtime {
		return nil, fmt.Errorf("reactor: a Poller cannot use the %v backend (the Go runtime does not lend out its poller): %w", b, os.ErrInvalid)
	}
	if err := checkBackend(b); err != nil {
		return nil, err
	}
	if err := checkPark(c.Park); err != nil {
		return nil, err
	}
	sel, err := newSelector(b, c.Park)
	if err != nil {
		return nil, err
	}
	p := &Poller{sel: sel, backend: b, sem: make(chan struct{}, 1)}
	p.wake = p.wakeFromCtx
	return p, nil
}

// Backend reports the Poller's backend (never DefaultBackend).
func (p *Poller) Backend() Backend { return p.backend }

// Supports reports whether the Poller's backend can do mode m, natively
// or emulated; Add and Modify refuse the others with ErrModeUnsupported.
func (p *Poller) Supports(m Mode) bool {
	return p.valid() && m <= EdgeOneshot && p.sel.supports(m) != refused
}

func (p *Poller) valid() bool { return p != nil && p.sel != nil }

// checkArgs validates the arguments the table methods share.
func checkArgs(fd int, i Interest, m Mode) error {
	if fd < 0 {
		return unix.EBADF
	}
	if i&^allInterests != 0 {
		return fmt.Errorf("reactor: unknown interest %v: %w", i, os.ErrInvalid)
	}
	if m > EdgeOneshot {
		return fmt.Errorf("reactor: unknown mode %v: %w", m, os.ErrInvalid)
	}
	return nil
}

// Add starts watching fd, reporting it under key when it is ready for i
// (Readable, Writable, Priority or a combination; an empty interest adds
// the fd without watching it, though epoll and poll still report a
// hang-up or an error, as those kernels do) in mode m. The fd should be
// in non-blocking mode; it is not changed.
//
// Errors (wrapped, for errors.Is): unix.EBADF for a negative or closed
// fd; unix.EEXIST if fd was added and not deleted; ErrModeUnsupported
// for a mode the backend cannot do; an error wrapping os.ErrInvalid for
// an unknown mode or interest; on epoll unix.EPERM for a file epoll
// cannot watch (a plain regular file); on select ErrFDSetSize for fd >=
// 1024; os.ErrClosed after Close. Add never blocks for long (on poll and
// select it interrupts a running Wait, which then watches fd too) and
// allocates nothing once the table has grown to hold fd.
func (p *Poller) Add(fd int, key uint64, i Interest, m Mode) error {
	if !p.valid() {
		return errZeroPoller
	}
	if err := checkArgs(fd, i, m); err != nil {
		return opErr("Add", fd, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return os.ErrClosed
	}
	if p.sel.supports(m) == refused {
		return opErr("Add", fd, ErrModeUnsupported)
	}
	if fd < len(p.byFd) && p.byFd[fd] != 0 {
		return opErr("Add", fd, unix.EEXIST)
	}
	var idx uint32
	if n := len(p.free); n > 0 {
		idx = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		idx = uint32(len(p.slots))
		p.slots = append(p.slots, pollerSlot{})
	}
	s := &p.slots[idx]
	if err := p.sel.add(fd, token{idx, s.gen}, i, m); err != nil {
		p.free = append(p.free, idx)
		return opErr("Add", fd, err)
	}
	s.fd, s.key, s.want, s.mode, s.live = fd, key, i, m, true
	for fd >= len(p.byFd) {
		p.byFd = append(p.byFd, 0)
	}
	p.byFd[fd] = idx + 1
	return nil
}

// Modify changes fd's key, interest and mode, and re-arms it: a Oneshot
// or EdgeOneshot fd that fired is watched again, and an fd that is ready
// now is reported by the next Wait. Errors are Add's, with unix.ENOENT
// for an fd that was not added. It allocates nothing.
func (p *Poller) Modify(fd int, key uint64, i Interest, m Mode) error {
	if !p.valid() {
		return errZeroPoller
	}
	if err := checkArgs(fd, i, m); err != nil {
		return opErr("Modify", fd, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return os.ErrClosed
	}
	if p.sel.supports(m) == refused {
		return opErr("Modify", fd, ErrModeUnsupported)
	}
	s, idx := p.lookupFd(fd)
	if s == nil {
		return opErr("Modify", fd, unix.ENOENT)
	}
	if err := p.sel.modify(fd, token{idx, s.gen}, i, m); err != nil {
		return opErr("Modify", fd, err)
	}
	s.key, s.want, s.mode = key, i, m
	return nil
}

// Delete stops watching fd. Once it returns, no event for fd's key is
// delivered by a later Wait, even if the kernel had queued one, and even
// after fd's number is reused and added again (the slot's generation has
// moved on); no system call of the Poller names fd, so the caller may
// close it. On poll and select a Wait in the kernel is interrupted and
// Delete waits for its system call to return. Errors: unix.EBADF for a
// negative fd, unix.ENOENT for an fd that was not added, os.ErrClosed
// after Close. It allocates nothing.
func (p *Poller) Delete(fd int) error {
	if !p.valid() {
		return errZeroPoller
	}
	if fd < 0 {
		return opErr("Delete", fd, unix.EBADF)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return os.ErrClosed
	}
	s, idx := p.lookupFd(fd)
	if s == nil {
		return opErr("Delete", fd, unix.ENOENT)
	}
	err := p.sel.del(fd, token{idx, s.gen})
	p.byFd[fd] = 0
	*s = pollerSlot{gen: s.gen + 1}
	p.free = append(p.free, idx)
	if err != nil {
		return opErr("Delete", fd, err)
	}
	return nil
}

// lookupFd returns fd's slot, or nil. mu held.
func (p *Poller) lookupFd(fd int) (*pollerSlot, uint32) {
	if fd >= len(p.byFd) || p.byFd[fd] == 0 {
		return nil, 0
	}
	idx := p.byFd[fd] - 1
	return &p.slots[idx], idx
}

// opErr wraps a table method's error with what was asked: an error path
// only, so its allocation costs the happy path nothing.
func opErr(op string, fd int, err error) error {
	return fmt.Errorf("reactor: Poller.%s(fd %d): %w", op, fd, err)
}

// Wait blocks until at least one added fd is ready, ctx is done, Notify
// is called, or the Poller is closed; it fills events with up to
// len(events) of them and returns how many. Ready events are always
// returned (n > 0, nil error), even when ctx is already done or Notify
// was called: then Wait only harvests what is ready, without blocking.
// Otherwise it returns 0, nil after a Notify (a Notify is answered by
// one Wait: the current one, or the next), 0 and ctx.Err() when ctx is
// done, 0 and os.ErrClosed after Close, ErrNoEvents for an empty events,
// ErrNilContext for a nil ctx.
//
// What fills events follows each fd's mode: a Oneshot fd is reported
// once and then not until Modify; a Level fd at every Wait while it is
// ready; an Edge fd once per edge. An event is only ever reported under
// the key its fd was added with at the time the kernel reported it: a
// deleted fd's late event is dropped.
//
// Wait calls are serialised: a second one waits for the first to return
// (or for its own ctx). On epoll with ParkRuntime Wait parks on the Go
// runtime's poller and holds no OS thread; on poll, select, epoll with
// ParkThread, and epoll while an fd is added for Priority (see the
// package documentation), it blocks in its system call on an OS thread,
// after letting the goroutines its caller woke run. Wait starts no
// goroutine, and allocates nothing once events is no longer than the
// longest it has seen, whatever ctx it is given, except for one
// context.AfterFunc registration each time it is given a cancellable ctx
// other than the previous Wait's.
func (p *Poller) Wait(ctx context.Context, events []Event) (int, error) {
	if !p.valid() {
		return 0, errZeroPoller
	}
	if ctx == nil {
		return 0, ErrNilContext
	}
	if len(events) == 0 {
		return 0, ErrNoEvents
	}
	if p.isClosed.Load() {
		return 0, os.ErrClosed
	}
	select {
	case p.sem <- struct{}{}:
	default:
		select {
		case p.sem <- struct{}{}:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	defer func() { <-p.sem }()
	if p.isClosed.Load() {
		return 0, os.ErrClosed
	}
	if done := ctx.Done(); done != nil && done != p.done {
		// A callback that wakes the selector when ctx is done, kept
		// for as long as Waits bring the same ctx (an event loop's
		// whole life, typically).
		if p.stop != nil {
			p.stop()
		}
		p.done = done
		p.stop = context.AfterFunc(ctx, p.wake)
	}
	if cap(p.evs) < len(events) {
		p.evs = make([]event, len(events))
	}
	evs := p.evs[:len(events)]
	for {
		block := !p.notified.Load() && ctx.Err() == nil && !p.isClosed.Load()
		if block {
			if h := testHookWait.Load(); h != nil {
				(*h)(p)
			}
			if p.sel.blocksThread() {
				// Let the goroutines the caller just woke (handing
				// work on, answering a request) run on this P before
				// the system call holds it: a P held by a goroutine in
				// a blocking syscall keeps its run queue until sysmon
				// retakes it, 20 µs to 10 ms later. The shards' loops
				// do the same.
				runtime.Gosched()
			}
		}
		n, err := p.sel.wait(evs, block)
		if err != nil && err != errBadFds {
			return 0, err
		}
		if n > 0 {
			if k := p.deliver(evs[:n], events); k > 0 {
				// This Wait returns: a Notify that came before is
				// answered by it, as smol-rs/polling's is.
				p.notified.Store(false)
				return k, nil
			}
		}
		if p.notified.CompareAndSwap(true, false) {
			return 0, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if p.isClosed.Load() {
			return 0, os.ErrClosed
		}
	}
}

// testHookWait, set only by tests, is called each time a Wait is about
// to block, so that a test can act once it is blocked instead of
// sleeping and hoping.
var testHookWait atomic.Pointer[func(*Poller)]

// deliver matches a batch against the table and fills events; stale
// tokens (an fd deleted since the kernel queued its event) are dropped.
func (p *Poller) deliver(evs []event, events []Event) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := 0
	for i := range evs {
		ev := &evs[i]
		if int(ev.tok.idx) >= len(p.slots) {
			continue
		}
		s := &p.slots[ev.tok.idx]
		if !s.live || s.gen != ev.tok.gen {
			continue
		}
		ready := ev.ready & s.want
		if ev.all {
			ready = s.want
		}
		if ready == 0 && !ev.hup && !ev.err {
			continue
		}
		events[k] = Event{Key: s.key, Ready: ready, HangUp: ev.hup, Err: ev.err}
		k++
	}
	return k
}

// Notify wakes the Wait running now, or, if none is, makes the next Wait
// return at once; that Wait returns 0, nil unless events are ready.
// Several Notify calls before a Wait returns end one Wait. It never
// blocks, allocates nothing and is safe from any goroutine. It returns
// os.ErrClosed after Close.
func (p *Poller) Notify() error {
	if !p.valid() {
		return errZeroPoller
	}
	p.life.RLock()
	defer p.life.RUnlock()
	if p.isClosed.Load() {
		return os.ErrClosed
	}
	p.notified.Store(true)
	p.sel.wake()
	return nil
}

// wakeFromCtx is the AfterFunc callback of Wait's ctx: it wakes the
// selector so that the Wait sees ctx done. It may run late, after a Wait
// with another ctx began (that Wait wakes once, spuriously, and goes on)
// or after Close (it then does nothing).
func (p *Poller) wakeFromCtx() {
	p.life.RLock()
	if !p.isClosed.Load() {
		p.sel.wake()
	}
	p.life.RUnlock()
}

// Close wakes a running Wait (which returns os.ErrClosed), waits for it to
// return, and releases the Poller's descriptors. The fds added are not
// closed: they stay the caller's. Every later call returns os.ErrClosed,
// and so does a second Close.
func (p *Poller) Close() error {
	if !p.valid() {
		return errZeroPoller
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return os.ErrClosed
	}
	p.closed = true
	p.mu.Unlock()
	p.life.Lock()
	p.isClosed.Store(true)
	p.life.Unlock()
	// Wake a Wait that is in the selector now: isClosed is set, so it
	// will not block again. No wake comes after this one (Notify and
	// the ctx callback see isClosed under life).
	p.sel.wake()
	p.sem <- struct{}{} // the running Wait, if any, has returned
	if p.stop != nil {
		p.stop()
		p.stop = nil
	}
	err := p.sel.close()
	<-p.sem
	return err
}
