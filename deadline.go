package fdstream

import (
	"sync"
	"sync/atomic"
	"time"
)

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
}

// closedChan is returned to waiters whose deadline already passed.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.when = t
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

func (d *deadline) stop() {
	d.mu.Lock()
	if d.timer != nil {
		d.timer.Stop()
	}
	d.mu.Unlock()
}
