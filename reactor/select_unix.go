//go:build unix

package reactor

import (
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdSetSize is FD_SETSIZE: select(2) cannot watch an fd at or above it,
// and x/sys's FdSet.Set would index out of range for one.
const fdSetSize = int(unsafe.Sizeof(unix.FdSet{}) * 8)

// selectPoller is one shard's select(2) loop. select is level-triggered
// and has no registration: the loop builds its fd sets from the
// registrations that are waiting right now (armed), and a waiter that
// arms a new direction while the loop sleeps wakes it through a
// self-pipe so that the sets are rebuilt.
type selectPoller struct {
	sh           *shard
	wakeR, wakeW int

	// Guarded by sh.mu.
	watch    []*Registration // armed registrations
	sleeping bool            // the loop is in, or about to enter, select(2)
	woken    bool            // a wake-up byte is in the pipe
	stopping bool
	rounds   uint64     // select(2) calls returned
	returned *sync.Cond // on sh.mu; broadcast when rounds grows

	rset, wset unix.FdSet // loop only
	done       chan struct{}
}

func newSelectPoller(sh *shard) (poller, error) {
	r, w, err := newWakePipe()
	if err != nil {
		return nil, err
	}
	if r >= fdSetSize {
		unix.Close(r)
		unix.Close(w)
		return nil, ErrFDSetSize
	}
	p := &selectPoller{sh: sh, wakeR: r, wakeW: w, done: make(chan struct{})}
	p.returned = sync.NewCond(&sh.mu)
	return p, nil
}

func (p *selectPoller) add(r *Registration) error {
	if r.fd >= fdSetSize {
		return ErrFDSetSize
	}
	if _, err := unix.FcntlInt(uintptr(r.fd), unix.F_GETFD, 0); err != nil {
		return err // EBADF: select would fail on it every time
	}
	return nil
}

// del stops watching r. If r.fd may be in the sets of a select(2) that is
// running now, it wakes the loop and waits for that call to return, so
// that once Deregister returns no syscall will name the fd again: the
// caller may close it and the kernel may reuse its number (guarantee 4).
// mu held; the wait releases it.
func (p *selectPoller) del(r *Registration) error {
	if r.armed == 0 {
		return nil // not in the current sets: arming while asleep would have set armed
	}
	p.unwatch(r)
	if !p.sleeping {
		return nil // the loop rebuilds its sets before it calls select again
	}
	p.wake()
	for round := p.rounds; p.rounds == round && !p.stopping; {
		p.returned.Wait()
	}
	return nil
}

// arm adds i to what r waits for. mu held.
func (p *selectPoller) arm(r *Registration, i Interest) {
	n := r.armed | i
	if n == r.armed {
		return
	}
	if r.armed == 0 {
		r.watchIdx = len(p.watch)
		p.watch = append(p.watch, r)
	}
	r.armed = n
	p.wake()
}

// unwatch drops r from the watch list. mu held.
func (p *selectPoller) unwatch(r *Registration) {
	last := len(p.watch) - 1
	moved := p.watch[last]
	p.watch[r.watchIdx] = moved
	moved.watchIdx = r.watchIdx
	p.watch[last] = nil
	p.watch = p.watch[:last]
	r.watchIdx = -1
	r.armed = 0
}

// wake interrupts a sleeping select so that it rebuilds its sets. mu held.
func (p *selectPoller) wake() {
	if !p.sleeping || p.woken {
		return
	}
	p.woken = true
	one := [1]byte{1}
	for {
		_, err := unix.Write(p.wakeW, one[:])
		if err != unix.EINTR {
			return // EAGAIN: the pipe is full of wake-ups already
		}
	}
}

func (p *selectPoller) run() {
	defer close(p.done)
	sh := p.sh
	for {
		sh.mu.Lock()
		if p.stopping {
			sh.mu.Unlock()
			return
		}
		p.rset.Zero()
		p.wset.Zero()
		p.rset.Set(p.wakeR)
		maxfd := p.wakeR
		for _, r := range p.watch {
			if r.armed&Readable != 0 {
				p.rset.Set(r.fd)
			}
			if r.armed&Writable != 0 {
				p.wset.Set(r.fd)
			}
			if r.fd > maxfd {
				maxfd = r.fd
			}
		}
		p.sleeping = true
		sh.mu.Unlock()

		_, err := unix.Select(maxfd+1, &p.rset, &p.wset, nil, nil)

		sh.mu.Lock()
		p.sleeping = false
		p.rounds++
		p.returned.Broadcast()
		sh.wakeups.Add(1)
		woke := false
		switch err {
		case nil:
			woke = p.harvest()
		case unix.EINTR:
		case unix.EBADF:
			sh.badFds.Add(1)
			p.dropBad()
		default:
			// Not expected (the sets are bounded by fdSetSize). Wake
			// everyone rather than spin: each retries its syscall and
			// sees the fd's real state.
			p.flush(false)
		}
		sh.mu.Unlock()
		if woke {
			// Let the goroutines just woken run on this P before the loop
			// blocks in select again: a P held by a goroutine in a
			// blocking syscall keeps its run queue until sysmon retakes
			// it, 20 µs to 10 ms later.
			runtime.Gosched()
		}
	}
}

// harvest wakes the registrations select reported and disarms them; a
// waiter that still finds EAGAIN arms again. It reports whether it woke
// anyone. mu held.
func (p *selectPoller) harvest() (woke bool) {
	if p.rset.IsSet(p.wakeR) {
		var buf [64]byte
		for {
			n, err := unix.Read(p.wakeR, buf[:])
			if n <= 0 && err != unix.EINTR {
				break
			}
		}
		p.woken = false
	}
	for i := len(p.watch) - 1; i >= 0; i-- {
		r := p.watch[i]
		var in Interest
		if r.armed&Readable != 0 && p.rset.IsSet(r.fd) {
			in |= Readable
		}
		if r.armed&Writable != 0 && p.wset.IsSet(r.fd) {
			in |= Writable
		}
		if in == 0 {
			continue
		}
		r.notify(in)
		p.sh.events.Add(1)
		woke = true
		if r.armed &^= in; r.armed == 0 {
			p.unwatch(r)
		}
	}
	return woke
}

// dropBad handles EBADF from select: some watched fd was closed behind the
// library's back. Its waiters are woken (their syscall reports EBADF) and
// it is no longer watched, so the loop does not spin. mu held.
func (p *selectPoller) dropBad() {
	p.flush(true)
}

// flush wakes and disarms every watched registration, or only those whose
// fd is no longer open. mu held.
func (p *selectPoller) flush(onlyBad bool) {
	for i := len(p.watch) - 1; i >= 0; i-- {
		r := p.watch[i]
		if onlyBad {
			if _, err := unix.FcntlInt(uintptr(r.fd), unix.F_GETFD, 0); err != unix.EBADF {
				continue
			}
		}
		r.notify(Readable | Writable)
		p.unwatch(r)
	}
}

func (p *selectPoller) shutdown() {
	p.sh.mu.Lock()
	p.stopping = true
	p.wake()
	p.sh.mu.Unlock()
	<-p.done
	unix.Close(p.wakeR)
	unix.Close(p.wakeW)
}
