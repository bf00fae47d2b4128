package reactor

import (
	"os"
	"sync"
	"sync/atomic"
)

// poller is one running instance of a backend: a kernel object (epoll fd,
// or nothing for select), its wake-up descriptor and the loop that reads it.
// A shard makes one when its first registration arrives and shuts it down
// when its last one leaves. Methods marked "mu" are called with the
// shard's mu held.
type poller interface {
	add(r *Registration) error // mu
	del(r *Registration) error // mu
	run()                      // the loop; returns once shutdown was called
	shutdown()                 // stops run, waits for it, releases descriptors
}

// shard is one loop and the registrations it serves.
type shard struct {
	r *Reactor

	wakeups, events, badFds atomic.Uint64 // Stats

	mu    sync.Mutex
	p     poller // nil while the shard has no registration
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

func (sh *shard) newPoller() (poller, error) {
	if sh.r.loops == Select {
		return newSelectPoller(sh)
	}
	return newEpollPoller(sh, sh.r.park)
}

func (sh *shard) register(fd int) (*Registration, error) {
	r := &Registration{
		sh:       sh,
		fd:       fd,
		rd:       make(chan struct{}, 1),
		wr:       make(chan struct{}, 1),
		evicted:  make(chan struct{}),
		watchIdx: -1,
	}
	sh.mu.Lock()
	started := false
	if sh.p == nil {
		p, err := sh.newPoller()
		if err != nil {
			sh.mu.Unlock()
			return nil, err
		}
		sh.p = p
		started = true
		go p.run()
	}
	var idx uint32
	if n := len(sh.free); n > 0 {
		idx = sh.free[n-1]
		sh.free = sh.free[:n-1]
	} else {
		idx = uint32(len(sh.slots))
		sh.slots = append(sh.slots, slot{})
	}
	r.idx, r.gen = idx, sh.slots[idx].gen
	sh.slots[idx].reg = r
	if err := sh.p.add(r); err != nil {
		sh.release(idx)
		var stop poller
		if started {
			stop, sh.p = sh.p, nil
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
	err := sh.p.del(r)
	sh.release(r.idx)
	sh.count--
	var stop poller
	if sh.count == 0 {
		// Guarantee 9: no registrations, no loop. A new registration
		// arriving while stop shuts down starts a fresh poller.
		stop, sh.p = sh.p, nil
	}
	sh.mu.Unlock()
	if stop != nil {
		stop.shutdown()
	}
	return err
}

// arm tells a level-triggered backend that r waits for i. Edge-triggered
// epoll needs nothing: the fd was registered for both directions once.
func (sh *shard) arm(r *Registration, i Interest) error {
	if sh.r.loops != Select {
		return nil
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if r.deregistered {
		return os.ErrClosed
	}
	sh.p.(*selectPoller).arm(r, i)
	return nil
}

// lookup returns the live registration for a token, or nil if the token is
// stale. mu held.
func (sh *shard) lookup(idx, gen uint32) *Registration {
	if int(idx) >= len(sh.slots) {
		return nil
	}
	s := &sh.slots[idx]
	if s.gen != gen {
		return nil
	}
	return s.reg
}
