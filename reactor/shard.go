package reactor

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// shardEvents is how many events one wait of a shard's loop harvests.
const shardEvents = 128

// shard is one loop over a selector and the registrations it serves. It
// is written once, on the backend contract (selector.go): on a backend
// that does Edge natively (epoll) every fd is added once, for reading and
// writing, edge-triggered (register once), and a Wait arms nothing, except
// that the first Wait for Priority adds Priority to the entry (once: an
// epoll selector parked on the runtime poller keeps Priority entries
// apart, and waits on a thread while it has any; regular files, the
// kernel's attribute files, are watched for Priority from the start, see
// regularFile); on a level-triggered
// backend (poll, select) an fd is added unwatched, and a Wait arms the
// interests it waits for, oneshot, so that the loop watches exactly what
// someone waits for and never spins on an fd that stays ready.
type shard struct {
	r *Reactor

	wakeups, events, badFds atomic.Uint64 // Stats

	mu    sync.Mutex
	l     *loop // nil while the shard has no registration
	count int
	// slots maps a registration token's index to the registration; the
	// generation in the token must match, so an event harvested for a
	// registration that has since been removed (and whose index may be
	// reused) is dropped instead of waking a stranger (the runtime's
	// fdseq, tokio's tick).
	slots []slot
	free  []uint32
}

type slot struct {
	reg *Registration
	gen uint32
}

// loop is one running instance of the shard's backend: its selector,
// the goroutine waiting on it, and how to stop that goroutine.
type loop struct {
	sel      selector
	edge     bool // the selector does Edge natively: fds are added once, for everything
	stopping bool // guarded by the shard's mu
	done     chan struct{}
	evs      [shardEvents]event // the loop goroutine's
	// handle is sh.handle for this loop, made with it: made in the loop
	// goroutine, it would be an allocation counted against whoever
	// registered (see epollSelector.loop).
	handle func(n int, err error) bool
}

func (sh *shard) register(fd int) (*Registration, error) {
	r := &Registration{
		sh:      sh,
		fd:      fd,
		rd:      make(chan struct{}, 1),
		wr:      make(chan struct{}, 1),
		pri:     make(chan struct{}, 1),
		evicted: make(chan struct{}),
	}
	sh.mu.Lock()
	started := false
	if sh.l == nil {
		sel, err := newSelector(sh.r.loops, sh.r.park)
		if err != nil {
			sh.mu.Unlock()
			return nil, err
		}
		l := &loop{sel: sel, edge: sel.supports(Edge) == native, done: make(chan struct{})}
		l.handle = func(n int, err error) bool { return sh.handle(l, n, err) }
		sh.l = l
		started = true
		go sh.run(sh.l)
	}
	l := sh.l
	var idx uint32
	if n := len(sh.free); n > 0 {
		idx = sh.free[n-1]
		sh.free = sh.free[:n-1]
	} else {
		idx = uint32(len(sh.slots))
		sh.slots = append(sh.slots, slot{})
	}
	r.tok = token{idx, sh.slots[idx].gen}
	r.edge = l.edge
	sh.slots[idx].reg = r
	var err error
	if l.edge {
		in := Readable | Writable
		if regularFile(fd) {
			in, r.armed = allInterests, Priority
		}
		err = l.sel.add(fd, r.tok, in, Edge)
	} else {
		err = l.sel.add(fd, r.tok, 0, Oneshot)
	}
	if err != nil {
		sh.release(idx)
		var stop *loop
		if started {
			stop, sh.l = l, nil
			stop.stopping = true
		}
		sh.mu.Unlock()
		if stop != nil {
			stop.shutdown()
		}
		return nil, err
	}
	sh.count++
	sh.mu.Unlock()
	return r, nil
}

// release frees a slot and bumps its generation. mu held.
func (sh *shard) release(idx uint32) {
	sh.slots[idx].reg = nil
	sh.slots[idx].gen++
	sh.free = append(sh.free, idx)
}

func (sh *shard) deregister(r *Registration) error {
	sh.mu.Lock()
	if r.deregistered {
		sh.mu.Unlock()
		return os.ErrClosed
	}
	r.deregistered = true
	err := sh.l.sel.del(r.fd, r.tok)
	sh.release(r.tok.idx)
	sh.count--
	var stop *loop
	if sh.count == 0 {
		// Guarantee 9: no registrations, no loop. A new registration
		// arriving while stop shuts down starts a fresh one.
		stop, sh.l = sh.l, nil
		stop.stopping = true
	}
	sh.mu.Unlock()
	if stop != nil {
		stop.shutdown()
	}
	return err
}

// arm tells a level-triggered selector that r waits for i. On an edge
// backend it does nothing, like the runtime's netpollarm on epoll (the
// fd was added for reading and writing once), and takes no lock: it is
// on every wait's path. The first Wait for Priority adds it to the entry
// for good.
func (sh *shard) arm(r *Registration, i Interest) error {
	if r.edge && i&Priority == 0 {
		return nil
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r.deregistered {
		return os.ErrClosed
	}
	if r.edge {
		if r.armed&Priority == 0 {
			r.armed |= Priority
			return sh.l.sel.modify(r.fd, r.tok, allInterests, Edge)
		}
		return nil
	}
	if n := r.armed | i; n != r.armed {
		r.armed = n
		return sh.l.sel.modify(r.fd, r.tok, n, Oneshot)
	}
	return nil
}

// regularFile reports whether fd is a regular file to fstat. The ones
// epoll takes are the kernel's attribute files (sysfs, procfs, cgroupfs),
// which exist to signal exceptional conditions, and some of which report
// a change to the first poll only, whatever it asked for
// (/proc/self/mounts's mounts_poll): an epoll entry without Priority
// would be polled at every wake-up of the file and eat the change. So
// they are watched for Priority from the start.
func regularFile(fd int) bool {
	var st unix.Stat_t
	for {
		err := unix.Fstat(fd, &st)
		if err == unix.EINTR {
			continue
		}
		return err == nil && st.Mode&unix.S_IFMT == unix.S_IFREG
	}
}

// lookup returns the live registration for a token, or nil if the token is
// stale. mu held.
func (sh *shard) lookup(t token) *Registration {
	if int(t.idx) >= len(sh.slots) {
		return nil
	}
	s := &sh.slots[t.idx]
	if s.gen != t.gen {
		return nil
	}
	return s.reg
}

// run is the loop goroutine: the selector's loop, delivering each batch,
// until shutdown.
func (sh *shard) run(l *loop) {
	defer close(l.done)
	l.sel.loop(l.evs[:], l.handle)
}

// handle delivers one batch, and says whether the loop goes on.
func (sh *shard) handle(l *loop, n int, err error) bool {
	sh.mu.Lock()
	if l.stopping {
		sh.mu.Unlock()
		return false
	}
	sh.wakeups.Add(1)
	if err == errBadFds {
		sh.badFds.Add(1)
		err = nil
	}
	woke := sh.deliver(l, l.evs[:n])
	if err != nil {
		// The backend cannot wait any more (its own descriptor is
		// broken; not expected). Wake everyone so that each retries
		// its system call, and stop: later waits end on their ctx,
		// deadline or eviction.
		for i := range sh.slots {
			if r := sh.slots[i].reg; r != nil {
				r.notify(allInterests)
			}
		}
		sh.mu.Unlock()
		return false
	}
	sh.mu.Unlock()
	if woke && l.sel.blocksThread() {
		// Let the goroutines just woken run on this P before the loop
		// blocks in its system call again: a P held by a goroutine in a
		// blocking syscall keeps its run queue until sysmon retakes it,
		// which costs 20 µs to 10 ms per wake-up.
		runtime.Gosched()
	}
	return true
}

// deliver wakes the registrations a batch names. A hang-up or an error
// wakes every interest (guarantee 6): the reader will see EOF, the
// writer EPIPE. On a level-triggered selector the entry fired oneshot:
// what is still armed and was not delivered is armed again. mu held.
func (sh *shard) deliver(l *loop, evs []event) (woke bool) {
	delivered := 0
	for i := range evs {
		ev := &evs[i]
		r := sh.lookup(ev.tok)
		if r == nil {
			continue // stale: deregistered after the kernel queued it
		}
		in := ev.ready
		if ev.all || ev.err {
			in = allInterests
		}
		r.notify(in)
		delivered++
		if !l.edge {
			if r.armed &^= in; r.armed != 0 {
				l.sel.modify(r.fd, r.tok, r.armed, Oneshot)
			}
		}
	}
	sh.events.Add(uint64(delivered))
	return delivered > 0
}

// shutdown stops the loop goroutine, waits for it, and releases the
// selector. stopping was set under the shard's mu.
func (l *loop) shutdown() {
	l.sel.wake()
	<-l.done
	l.sel.close()
}
