package fdstream

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"time"

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
//     direction is registered when a call is about to park, kept while
//     later calls bring the same ctx, and replaced when another ctx comes.
//     A generation fences its callback, so a callback that runs late never
//     ends a later call and never changes the user's deadline (DESIGN.md,
//     "How a Stream waits").
//   - On the library's shard loops (reactor.Epoll, reactor.Select): the
//     call selects on the registration's readiness channel, ctx.Done(),
//     the deadline's channel and the Stream's closing channel.

// deadline is one direction's deadline. It starts no goroutine: a timer
// made once (and Reset after) closes the waiters' channel when the
// deadline passes, and setting a new deadline closes it too, so that a
// blocked call re-reads the deadline, as net.Conn requires.
type deadline struct {
	mu     sync.Mutex
	when   time.Time // zero: none
	timer  *time.Timer
	ch     chan struct{} // made by the first waiter; closed on expiry or change
	passed atomic.Bool   // the deadline is set and has passed

	// The runtime poller's side; setFile is nil for Streams on the shard
	// loops or doing plain I/O. Guarded by mu.
	setFile func(time.Time) error // the internal File's Set{Read,Write}Deadline
	applied time.Time             // what setFile last wrote (zero: none)
	closed  bool                  // Close ran: every park ends at once
	// The call parked now (between arm and disarm): its ctx's Done and
	// deadline.
	parked     bool
	parkedDone <-chan struct{}
	parkedDL   time.Time
	// The ctx whose AfterFunc is registered, by its Done channel (a ctx
	// value may not be comparable; two ctxs with one Done end together).
	done    <-chan struct{}
	stopCtx func() bool
	gen     uint64 // bumped when done changes; fences late callbacks
	fired   bool   // the AfterFunc of generation gen ran
}

// pastDeadline is what the File gets to end a park at once.
var pastDeadline = time.Unix(1, 0)

// closedChan is returned to waiters whose deadline already passed.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.when = t
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
	if d.stopCtx != nil {
		d.stopCtx()
		d.stopCtx = nil
	}
	d.gen++
	d.mu.Unlock()
}

// applyLocked writes the effective deadline to the File if it changed:
// the user's deadline, the parked call's ctx deadline if earlier, and a
// past instant once the parked call's ctx is done or the Stream closed.
// mu held.
func (d *deadline) applyLocked() error {
	eff := d.when
	if d.parked {
		if !d.parkedDL.IsZero() && (eff.IsZero() || d.parkedDL.Before(eff)) {
			eff = d.parkedDL
		}
		if d.fired && d.parkedDone != nil && d.parkedDone == d.done {
			eff = pastDeadline
		}
	}
	if d.closed {
		eff = pastDeadline
	}
	if eff.Equal(d.applied) {
		return nil
	}
	d.applied = eff
	return d.setFile(eff)
}

// arm prepares a park on the runtime poller for a call with ctx, which has
// just seen EAGAIN: it registers ctx's AfterFunc unless the one registered
// is ctx's already, and puts the effective deadline on the File. It fails
// with os.ErrClosed once Close ran.
func (d *deadline) arm(ctx context.Context) error {
	done := ctx.Done()
	var ctxDL time.Time
	if done != nil {
		ctxDL, _ = ctx.Deadline()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return os.ErrClosed
	}
	if done != nil && done != d.done {
		if d.stopCtx != nil {
			d.stopCtx()
		}
		d.gen++
		d.fired = false
		d.done = done
		g := d.gen
		d.stopCtx = context.AfterFunc(ctx, func() { d.cancel(g) })
	}
	d.parked = true
	d.parkedDone = done
	d.parkedDL = ctxDL
	return d.applyLocked()
}

// disarm ends a park. The File keeps its deadline until the next call
// that parks, or SetDeadline, changes it: a call that finds data ready
// never touches it.
func (d *deadline) disarm() {
	d.mu.Lock()
	d.parked = false
	d.parkedDone = nil
	d.parkedDL = time.Time{}
	d.mu.Unlock()
}

// cancel is the AfterFunc callback of generation g: it ends the parked
// call if that call's ctx is the one that is done. A callback of an older
// generation, or one that finds a call with another ctx parked, does
// nothing but note that its ctx is done.
func (d *deadline) cancel(g uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if g != d.gen {
		return
	}
	d.fired = true
	if d.parked {
		d.applyLocked()
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
// direction and tell the test hook. It reports whether the call may park
// (the callback then returns false); if not, *errp says why.
func (s *Stream) park(ctx context.Context, i reactor.Interest, d *deadline, errp *error) bool {
	if err := d.arm(ctx); err != nil {
		*errp = err
		return false
	}
	if h := testHookBlock.Load(); h != nil {
		(*h)(s, i)
	}
	return true
}
