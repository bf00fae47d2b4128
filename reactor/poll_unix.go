//go:build unix

package reactor

import (
	"golang.org/x/sys/unix"
)

// pollSelector is the poll(2) backend, on every Unix, with no limit on fd
// numbers. Following ocaml-iomux, its table is the pollfd array itself:
// entry idx+1 mirrors slot idx (entry 0 is the doorbell), an unwatched
// entry has a negative fd (which poll(2) skips), and add, modify and del
// write one entry in place. Nothing is allocated per add, modify or
// wait once the array has grown to the highest index in use; a wait
// passes the array as it is, one system call, and scans it once.
//
// The kernel copies the array in when the call starts and writes revents
// back when it returns, so an entry changed meanwhile is harvested
// against the table as it is then (fire masks by what the slot wants
// now), and del waits for the call to return (levelTable.clear).
type pollSelector struct {
	t    levelTable
	pfds []unix.PollFd // guarded by t.mu
}

func newPoll() (selector, error) {
	b, err := newDoorbell()
	if err != nil {
		return nil, err
	}
	p := &pollSelector{pfds: []unix.PollFd{{Fd: int32(b.r), Events: unix.POLLIN}}}
	p.t.init(b)
	return p, nil
}

func (p *pollSelector) supports(m Mode) support {
	switch m {
	case Level:
		return native
	case Oneshot:
		return emulated
	}
	return refused // poll(2) has no edges to report
}

func (p *pollSelector) blocksThread() bool { return true }

func (p *pollSelector) add(fd int, tok token, i Interest, m Mode) error {
	if err := checkOpen(fd); err != nil {
		return err
	}
	p.t.mu.Lock()
	p.mirror(tok.idx, p.t.set(fd, tok, i, m))
	p.t.mu.Unlock()
	return nil
}

func (p *pollSelector) modify(fd int, tok token, i Interest, m Mode) error {
	p.t.mu.Lock()
	p.mirror(tok.idx, p.t.set(fd, tok, i, m))
	p.t.mu.Unlock()
	return nil
}

func (p *pollSelector) del(fd int, tok token) error {
	p.t.mu.Lock()
	if int(tok.idx)+1 < len(p.pfds) {
		p.pfds[tok.idx+1] = unix.PollFd{Fd: -1}
	}
	p.t.clear(tok)
	p.t.mu.Unlock()
	return nil
}

// mirror writes slot idx into its pollfd entry. mu held.
func (p *pollSelector) mirror(idx uint32, s *levelSlot) {
	for int(idx)+1 >= len(p.pfds) {
		p.pfds = append(p.pfds, unix.PollFd{Fd: -1})
	}
	e := unix.PollFd{Fd: -1}
	if s.on {
		e.Fd = int32(s.fd)
		e.Events = pollEvents(s.want)
	}
	p.pfds[idx+1] = e
}

func pollEvents(i Interest) int16 {
	var ev int16
	if i&Readable != 0 {
		ev |= unix.POLLIN
	}
	if i&Writable != 0 {
		ev |= unix.POLLOUT
	}
	if i&Priority != 0 {
		ev |= unix.POLLPRI
	}
	return ev
}

func (p *pollSelector) wait(evs []event, block bool) (int, error) {
	t := &p.t
	t.mu.Lock()
	fds := p.pfds // the call's array, even if an add grows p.pfds meanwhile
	timeout := 0
	if block {
		timeout = -1
	}
	t.enter(block)
	n, err := unix.Poll(fds, timeout)
	t.leave()
	defer t.mu.Unlock()
	if err != nil {
		if err == unix.EINTR {
			return 0, nil
		}
		return 0, err // EINVAL, ENOMEM: nothing the next call would fix
	}
	if fds[0].Revents != 0 {
		t.bell.drain()
		n--
	}
	k := 0
	for i := 1; i < len(fds) && n > 0 && k < len(evs); i++ {
		r := fds[i].Revents
		if r == 0 {
			continue
		}
		n--
		idx := uint32(i - 1)
		if idx >= uint32(len(t.slots)) {
			continue
		}
		var ready Interest
		if r&unix.POLLIN != 0 {
			ready |= Readable
		}
		if r&unix.POLLOUT != 0 {
			ready |= Writable
		}
		if r&unix.POLLPRI != 0 {
			ready |= Priority
		}
		hup := r&unix.POLLHUP != 0
		gone := r&unix.POLLNVAL != 0
		bad := r&unix.POLLERR != 0 || gone
		ev, ok := t.fire(idx, ready, hup, bad, hup || bad, gone)
		if !ok {
			continue
		}
		if !t.slots[idx].on {
			p.pfds[idx+1].Fd = -1 // disarmed: a oneshot that fired, or gone
		}
		evs[k] = ev
		k++
	}
	return k, nil
}

func (p *pollSelector) loop(evs []event, handle func(n int, err error) bool) {
	loopWait(p, evs, handle)
}

func (p *pollSelector) wake() { p.t.bell.ring() }

func (p *pollSelector) close() error {
	p.t.bell.close()
	return nil
}
