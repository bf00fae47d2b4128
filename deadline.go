package fdstream

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/fdstream/fdstream/reactor"
)

// This file holds the deadlines, and how a wait combines a ctx and a
// deadline into one wake-up, as internal/poll keeps its wait beside
// SetDeadline in fd_poll_runtime.go. A Stream waits in one of two ways:
//
//   - On the Go runtime poller (Streams of a reactor.Runtime Reactor, the
//     default): the call parks in its internal File's RawConn.Read or
//     RawConn.Write, and the only things that can end the park are
//     readiness, Close, and the File's deadline. So the File's deadline
//     is the composition: min(user deadline, ctx deadline), or a past
//     instant once the ctx is done or the Stream closed. A ctx whose
//     Done() is nil costs nothing; otherwise one context.AfterFunc per
//     direction is registered when a call is about to park. A ctx seen
//     by one park only is unregistered when its call returns (so a fresh
//     ctx per call leaves nothing behind, and cancelling it later starts
//     no callback); one that comes back is kept while later calls bring
//     it, and replaced when another ctx comes. The callback acts only if
//     the ctx now registered is done and a call with that ctx is parked,
//     so a callback that runs late never ends a later call and never
//     changes the user's deadline (DESIGN.md, "How a Stream waits").
//   - On the library's shard loops (reactor.Epoll, reactor.Select): the
//     call selects on the registration's readiness channel, ctx.Done(),
//     the deadline's channel and the Stream's closing channel.

// deadline is one direction's deadline. It starts no goroutine: a timer
// made once (and Reset after) closes the waiters' channel when the
// deadline passes, and setting a new deadline closes it too, so that a
// blocked call re-reads the deadline, as net.Conn requires.
type deadline struct {
	// The head, 40 bytes on 64-bit platforms: all that a call's entry
	// check and disarm touch, so that a read ending its wait touches one
	// cache line of its Stream (see Stream's layout).
	mu sync.Mutex
	// The call parked now (between arm and disarm), if its ctx has a
	// Done: that Done (and, below, the ctx's deadline).
	parked bool
	keep   bool // the registration outlives its call
	fired  bool // the registration's callback found its ctx done
	closed bool // Close ran: every park ends at once
	// fileIsUser says the File's deadline is the user's and the Stream is
	// open: a call with a Done-less ctx may park without taking mu.
	fileIsUser atomic.Bool
	passed     atomic.Bool // the deadline is set and has passed
	parkedDone <-chan struct{}
	// The ctx whose AfterFunc is registered, by its Done channel (a ctx
	// value may not be comparable; two ctxs with one Done end together).
	done <-chan struct{}

	lastDone <-chan struct{} // the Done of the previous park's ctx
	// The runtime poller's side; setFile is nil for Streams on the shard
	// loops or doing plain I/O. Guarded by mu, but for fileIsUser.
	// Instants are Unix nanoseconds here, 0 for none: the composition
	// runs at the bottom of a parking goroutine's stack, where every
	// byte of frame counts (see errArmShallow).
	whenNs   int64 // when, in nanoseconds
	applied  int64 // what setFile last wrote
	parkedNs int64 // the parked call's ctx deadline; valid while parked
	stopCtx  func() bool
	regCtx   context.Context // the registered ctx itself (see armFile)
	// peer is the other Stream of a Copy that waits in this direction
	// (copy.go): once it is closed, every park ends at once, as on this
	// Stream's own Close.
	peer     *Stream
	parkedDL time.Time // parkedNs as a Time; valid while parked

	when    time.Time // zero: none
	timer   *time.Timer
	ch      chan struct{}         // made by the first waiter; closed on expiry or change
	setFile func(time.Time) error // the internal File's Set{Read,Write}Deadline
	onDone  func()                // d.ctxDone, made once: the AfterFunc callback
}

// unixNs is t in Unix nanoseconds, 0 for the zero Time (and 1 for the
// one instant that would collide with it).
func unixNs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	if ns := t.UnixNano(); ns != 0 {
		return ns
	}
	return 1
}

// pastDeadline is what the File gets to end a park at once.
var pastDeadline = time.Unix(1, 0)

const pastNs = 1e9 // pastDeadline in nanoseconds

// closedChan is returned to waiters whose deadline already passed.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.when = t
	d.whenNs = unixNs(t)
	if d.setFile != nil {
		// A parked call sees the new deadline at once: the runtime
		// re-arms its timer, or wakes it if t already passed.
		d.applyLocked()
	}
	if d.ch != nil {
		close(d.ch) // wake waiters to re-read the deadline
		d.ch = nil
	}
	if d.timer != nil {
		d.timer.Stop()
	}
	if t.IsZero() {
		d.passed.Store(false)
		return
	}
	dur := time.Until(t)
	d.passed.Store(dur <= 0)
	if dur <= 0 {
		return
	}
	if d.timer == nil {
		d.timer = time.AfterFunc(dur, d.fire)
	} else {
		d.timer.Reset(dur)
	}
}

// fire runs on the timer. A stale firing (the deadline was cleared, or
// moved later, while the timer started to fire) finds nothing to do. A
// deadline not yet passed when the timer fires (a wall-clock time without
// a monotonic reading, after the clock stepped back) is re-armed for what
// remains rather than dropped.
func (d *deadline) fire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.when.IsZero() {
		return
	}
	if left := time.Until(d.when); left > 0 {
		d.timer.Reset(left)
		return
	}
	d.passed.Store(true)
	if d.ch != nil {
		close(d.ch)
		d.ch = nil
	}
}

// wait returns the channel a blocked call selects on: closed when the
// deadline passed, and otherwise one that is closed when it passes or
// changes. It allocates only the first time after a change.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.passed.Load() {
		return closedChan
	}
	// Even with no deadline the waiter gets a channel, so that a deadline
	// set while it waits reaches it (net.Conn's rule for pending calls).
	if d.ch == nil {
		d.ch = make(chan struct{})
	}
	return d.ch
}

// expired reports whether the user's deadline is set and has passed,
// without waiting for the timer to say so.
func (d *deadline) expired() bool {
	if d.passed.Load() {
		return true
	}
	d.mu.Lock()
	when := d.when
	d.mu.Unlock()
	return !when.IsZero() && !time.Now().Before(when)
}

// stop releases the timer and the ctx registration; destroy calls it.
func (d *deadline) stop() {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.unregister()
	d.lastDone = nil
	d.mu.Unlock()
}

// initRuntime readies d for a Stream on the runtime poller; set is the
// File's Set{Read,Write}Deadline.
func (d *deadline) initRuntime(set func(time.Time) error) {
	d.setFile = set
	d.onDone = d.ctxDone
	d.fileIsUser.Store(true)
}

// effective is the deadline the File should have now: the user's, the
// parked call's ctx deadline if earlier, and a past instant once the
// parked call's ctx is done, the Stream closed, or the other Stream of
// a Copy waiting here closed. mu held.
func (d *deadline) effective() int64 {
	eff := d.whenNs
	if d.parked {
		if d.parkedNs != 0 && (eff == 0 || d.parkedNs < eff) {
			eff = d.parkedNs
		}
		if d.fired && d.parkedDone == d.done {
			eff = pastNs
		}
	}
	if d.closed || d.peer != nil && d.peer.life.closed() {
		eff = pastNs
	}
	return eff
}

// applyLocked writes the effective deadline to the File if it changed.
// mu held.
func (d *deadline) applyLocked() error {
	eff := d.effective()
	var err error
	if eff != d.applied {
		d.applied = eff
		t := d.when
		switch {
		case eff == pastNs && eff != d.whenNs:
			t = pastDeadline
		case eff != d.whenNs:
			t = d.parkedDL
		}
		err = d.setFile(t)
	}
	d.fileIsUser.Store(!d.closed && eff == d.whenNs)
	return err
}

// errArmShallow tells a RawConn callback that arming would go deep: it
// must register an AfterFunc or write a new deadline to the File, and
// both are left to the caller of RawConn.Read, nearer the top of the
// goroutine's stack (a blocked goroutine whose stack grew past its first
// 2 KiB keeps 4 KiB: 1.74× os.File's RSS per blocked reader at 9,800
// pipes, with context.AfterFunc's propagateCancel and mapassign frames at
// the bottom of the deepest path).
var errArmShallow = errors.New("fdstream: arm outside the callback")

// arm prepares a park on the runtime poller for a call with ctx, which has
// just seen EAGAIN: the ctx's AfterFunc is registered, and the File has
// the effective deadline. From a RawConn callback (deep), it returns
// errArmShallow when that needs more than a look; the caller then arms
// with deep false and retries its syscall. It fails with os.ErrClosed
// once Close ran. armed reports whether disarm must follow.
func (d *deadline) arm(ctx context.Context, deep bool) (bool, error) {
	done := ctx.Done()
	if done == nil && d.fileIsUser.Load() {
		return false, nil // Background: the File already has the user's deadline
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return false, os.ErrClosed
	}
	// Deep is fine where the ctx changes from park to park (a fresh ctx
	// per call): those calls pay for a registration each time anyway, and
	// going shallow would add a syscall to each. It is the first park,
	// and a ctx that comes back, that may stay parked long on the stack
	// it grew.
	if deep && d.lastDone != nil && d.lastDone != done {
		deep = false
	}
	if done != nil && done != d.done {
		if deep {
			d.mu.Unlock()
			return false, errArmShallow
		}
		d.register(ctx, done)
	}
	d.setParked(ctx, done)
	if d.effective() == d.applied {
		d.mu.Unlock()
		return d.parked, nil
	}
	if deep {
		d.parked = false
		d.parkedDone = nil
		d.mu.Unlock()
		return false, errArmShallow
	}
	err := d.applyLocked()
	d.mu.Unlock()
	return d.parked, err
}

// setParked records the call about to park, with ctx (whose Done is
// done). mu held.
func (d *deadline) setParked(ctx context.Context, done <-chan struct{}) {
	d.parked = done != nil
	d.parkedDone = done
	if done != nil {
		d.parkedDL, _ = ctx.Deadline()
		d.parkedNs = unixNs(d.parkedDL)
	}
}

// armFile arms for a call that waits in the File's own Read, which cannot
// be stepped into between its EAGAIN and its park: so it serves only the
// calls that need no registration, Background and TODO and the ctx
// registered now (kept because it came back, or registered by ReadContext
// for this very call), and arms before the call rather than at its park.
// ok false sends the call through RawConn.Read, which registers a new ctx
// only if the call parks. armed reports whether disarm must follow; it
// fails with os.ErrClosed once Close ran.
//
// It never calls ctx.Done() on a ctx that may not have made its channel
// yet (a cancelCtx makes it lazily, and a ready call must not allocate):
// Background and TODO have none, and the registered ctx made its own when
// it was registered. Any other ctx goes through RawConn.Read.
func (d *deadline) armFile(ctx context.Context) (armed, ok bool, err error) {
	bg := ctx == context.Background() || ctx == context.TODO()
	if bg && d.fileIsUser.Load() {
		return false, true, nil // the File already has the user's deadline
	}
	// regCtx is written only by this direction's lock holders (register
	// and unregister, from arm and disarm) and by destroy, after the last
	// call: the holder may read it without mu.
	if !bg && (d.regCtx == nil || !sameCtx(ctx, d.regCtx)) {
		return false, false, nil
	}
	d.mu.Lock()
	var done <-chan struct{}
	if !bg {
		done = d.done
	}
	if d.closed {
		d.mu.Unlock()
		return false, true, os.ErrClosed
	}
	d.setParked(ctx, done)
	err = d.applyLocked()
	d.mu.Unlock()
	return d.parked, true, err
}

// register replaces the AfterFunc registration with one for ctx (whose
// Done channel is done). A ctx that parked in the previous call too is kept from
// now on; one seen once is dropped by disarm. mu held.
func (d *deadline) register(ctx context.Context, done <-chan struct{}) {
	d.unregister()
	d.done = done
	d.regCtx = ctx
	d.keep = done == d.lastDone // it came back: keep it from now on
	d.stopCtx = context.AfterFunc(ctx, d.onDone)
}

// disarm ends a park. A registration made for a ctx seen once is dropped
// now; the File keeps its deadline until the next call that parks, or
// SetDeadline, changes it: a call that finds data ready never touches it.
func (d *deadline) disarm() {
	d.mu.Lock()
	// While a kept registration's ctx parks, lastDone is that ctx's Done
	// already (register kept it because it was, and a park with another
	// ctx replaces it): it is not written then, being in another cache
	// line than the head.
	if !d.keep || d.done != d.parkedDone {
		d.lastDone = d.parkedDone
		if !d.keep && d.done == d.parkedDone {
			d.unregister()
		}
	}
	// parkedNs and parkedDL are left as they are (valid only while
	// parked): clearing them would touch another cache line.
	d.parked = false
	d.parkedDone = nil
	d.mu.Unlock()
}

// unregister drops the AfterFunc registration. mu held.
func (d *deadline) unregister() {
	if d.stopCtx != nil {
		d.stopCtx()
		d.stopCtx = nil
	}
	d.done = nil
	d.regCtx = nil
	d.keep = false
	d.fired = false
}

// ctxDone is the AfterFunc callback, for whichever ctx it was registered:
// it ends the parked call if the ctx registered now is done and is that
// call's. A callback of a replaced registration finds a ctx that is not
// done, or a call with another ctx parked, and does nothing.
func (d *deadline) ctxDone() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !isDone(d.done) {
		return // a replaced registration's callback
	}
	d.fired = true
	if d.parked && d.parkedDone == d.done {
		d.applyLocked()
	}
}

// sameCtx reports whether a and b are one ctx: the same dynamic type and
// the same data word. It never panics, as a == b does for a ctx type that
// is not comparable, and never says true for two different ctxs: a data
// word is a pointer to the value, or to a boxed copy of it that the
// interface keeps alive (equal words then mean one box; for a type of
// size zero, whose boxes share an address, all values are equal). Two
// equal ctxs boxed apart are told apart, which costs such a call the
// RawConn path only.
func sameCtx(a, b context.Context) bool {
	type iface struct{ tab, data unsafe.Pointer }
	x, y := (*iface)(unsafe.Pointer(&a)), (*iface)(unsafe.Pointer(&b))
	return x.tab == y.tab && x.data == y.data
}

// isDone reports whether a Done channel is closed; nil never is.
func isDone(done <-chan struct{}) bool {
	if done == nil {
		return false
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// closeWake ends every park at once and for good; Close calls it.
func (d *deadline) closeWake() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.setFile != nil {
		d.applyLocked()
	}
	d.fileIsUser.Store(false)
}

// resolve turns the error of a park on the runtime poller into the error
// the call returns, or nil when the wake-up was spurious and the call must
// try again. The runtime ends a park with os.ErrDeadlineExceeded for every
// reason this package puts a deadline on the File, so the reason is found
// here: Close, then ctx, then the user's deadline. A stale deadline (from
// an earlier call's ctx) is replaced by the user's before the retry.
func (d *deadline) resolve(s *Stream, ctx context.Context, err error) error {
	if s.life.closed() {
		return os.ErrClosed
	}
	if err != os.ErrDeadlineExceeded {
		return err // not expected: the File is closed only by destroy
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		// The runtime's timer ran before the ctx's own, which is due
		// now: wait for it, so that errors.Is(err, ctx.Err()) holds
		// when the caller looks.
		if done := ctx.Done(); done != nil {
			<-done
			return ctx.Err()
		}
		return context.DeadlineExceeded
	}
	if d.expired() {
		return os.ErrDeadlineExceeded
	}
	d.mu.Lock()
	d.applyLocked()
	d.mu.Unlock()
	return nil
}

// waitLoop blocks until the fd may be ready for i, on a shard loop. A
// deadline that changes while it waits is re-read; one that passes ends
// the wait.
func (s *Stream) waitLoop(ctx context.Context, i reactor.Interest, d *deadline) error {
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

// park is what a runtime poller callback does on EAGAIN: arm the
// direction (deep: see errArmShallow) and tell the test hook. It reports
// whether the call may park (the callback then returns false); if not,
// o.err says why.
func (s *Stream) park(o *op, i reactor.Interest, d *deadline) bool {
	armed, err := d.arm(o.ctx, true)
	if err != nil {
		o.err = err
		return false
	}
	o.armed = armed
	o.waited = true
	if h := testHookBlock.Load(); h != nil {
		(*h)(s, i)
	}
	return true
}
