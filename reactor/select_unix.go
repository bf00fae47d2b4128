//go:build unix

package reactor

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdSetSize is FD_SETSIZE: select(2) cannot watch an fd at or above it,
// and x/sys's FdSet.Set would index out of range for one.
const fdSetSize = int(unsafe.Sizeof(unix.FdSet{}) * 8)

// selectSelector is the select(2) backend, on every Unix, for fds below
// FD_SETSIZE. It is kept because select works on devices where some
// systems' poll(2) does not (macOS's poll does not support devices), and
// it is the backend -tags noepoll gives Streams. Each wait builds its
// three sets from the table (levelTable), so add and modify only write
// the slot; del waits for a call that may name the fd to return.
//
// select reports a hang-up or an error as readiness, and cannot say which
// it was: events from this backend never have hup set, and have err set
// only for an fd found closed (the call fails with EBADF; the backend
// finds the culprits with fcntl, reports each once and stops watching it).
type selectSelector struct {
	t levelTable
	// The call's sets and the entries they were built from: the wait's
	// own (one goroutine waits at a time).
	rset, wset, eset unix.FdSet
	inCall           []uint32
}

func newSelect() (selector, error) {
	b, err := newDoorbell()
	if err != nil {
		return nil, err
	}
	if b.r >= fdSetSize {
		b.close()
		return nil, ErrFDSetSize
	}
	p := &selectSelector{}
	p.t.init(b)
	return p, nil
}

func (p *selectSelector) supports(m Mode) support {
	switch m {
	case Level:
		return native
	case Oneshot:
		return emulated
	}
	return refused // select(2) has no edges to report
}

func (p *selectSelector) blocksThread() bool { return true }

func (p *selectSelector) add(fd int, tok token, i Interest, m Mode) error {
	if fd >= fdSetSize {
		return ErrFDSetSize
	}
	if err := checkOpen(fd); err != nil {
		return err // select would fail on it every time
	}
	p.t.mu.Lock()
	p.t.set(fd, tok, i, m)
	p.t.mu.Unlock()
	return nil
}

func (p *selectSelector) modify(fd int, tok token, i Interest, m Mode) error {
	p.t.mu.Lock()
	p.t.set(fd, tok, i, m)
	p.t.mu.Unlock()
	return nil
}

func (p *selectSelector) del(fd int, tok token) error {
	p.t.mu.Lock()
	p.t.clear(tok)
	p.t.mu.Unlock()
	return nil
}

func (p *selectSelector) wait(evs []event, block bool) (int, error) {
	t := &p.t
	t.mu.Lock()
	p.rset.Zero()
	p.wset.Zero()
	p.eset.Zero()
	p.rset.Set(t.bell.r)
	maxfd := t.bell.r
	p.inCall = p.inCall[:0]
	for idx := range t.slots {
		s := &t.slots[idx]
		if !s.on {
			continue
		}
		if s.want&Readable != 0 {
			p.rset.Set(s.fd)
		}
		if s.want&Writable != 0 {
			p.wset.Set(s.fd)
		}
		if s.want&Priority != 0 {
			p.eset.Set(s.fd)
		}
		maxfd = max(maxfd, s.fd)
		p.inCall = append(p.inCall, uint32(idx))
	}
	var tv *unix.Timeval
	var zero unix.Timeval
	if !block {
		tv = &zero
	}
	t.enter(block)
	_, err := unix.Select(maxfd+1, &p.rset, &p.wset, &p.eset, tv)
	t.leave()
	defer t.mu.Unlock()
	switch err {
	case nil:
	case unix.EINTR:
		return 0, nil
	case unix.EBADF:
		return p.dropBad(evs), errBadFds
	default:
		// Not expected (the sets are bounded by fdSetSize). Report every
		// entry rather than spin: each owner retries its own system
		// call and sees the fd's real state.
		return p.flush(evs), nil
	}
	if p.rset.IsSet(t.bell.r) {
		t.bell.drain()
	}
	k := 0
	for _, idx := range p.inCall {
		if k == len(evs) {
			break
		}
		s := &t.slots[idx]
		if !s.on {
			continue // cleared or disarmed while the call ran
		}
		var ready Interest
		if p.rset.IsSet(s.fd) {
			ready |= Readable
		}
		if p.wset.IsSet(s.fd) {
			ready |= Writable
		}
		if p.eset.IsSet(s.fd) {
			ready |= Priority
		}
		if ev, ok := t.fire(idx, ready, false, false, false, false); ok {
			evs[k] = ev
			k++
		}
	}
	return k, nil
}

// dropBad reports every watched fd that is no longer open, once, with
// err set, and stops watching it. mu held.
func (p *selectSelector) dropBad(evs []event) int {
	k := 0
	for _, idx := range p.inCall {
		if k == len(evs) {
			break
		}
		s := &p.t.slots[idx]
		if !s.on || checkOpen(s.fd) != unix.EBADF {
			continue
		}
		if ev, ok := p.t.fire(idx, s.want, false, true, true, true); ok {
			evs[k] = ev
			k++
		}
	}
	return k
}

// flush reports every watched entry as ready for what it wants. mu held.
func (p *selectSelector) flush(evs []event) int {
	k := 0
	for _, idx := range p.inCall {
		if k == len(evs) {
			break
		}
		s := &p.t.slots[idx]
		if !s.on {
			continue
		}
		if ev, ok := p.t.fire(idx, s.want, false, false, false, false); ok {
			evs[k] = ev
			k++
		}
	}
	return k
}

func (p *selectSelector) loop(evs []event, handle func(n int, err error) bool) {
	loopWait(p, evs, handle)
}

func (p *selectSelector) wake() { p.t.bell.ring() }

func (p *selectSelector) close() error {
	p.t.bell.close()
	return nil
}
