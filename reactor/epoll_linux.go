//go:build linux

package reactor

import (
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const haveEpoll = true

// wakeIdx marks the wake-up eventfd's event (ParkThread only); slot
// indexes never reach it.
const wakeIdx = ^uint32(0)

// epollSelector is the epoll backend. Every mode is native (EPOLLONESHOT,
// EPOLLET), an entry is changed in place with EPOLL_CTL_MOD, and the
// token rides in the event's data, so a harvest decodes without a lookup.
//
// How it waits depends on Park. With ParkRuntime (the default) the epoll
// fd itself is parked on the Go runtime's poller (an epoll fd is pollable,
// readable while its ready list is not empty): wait runs a zero-timeout
// epoll_wait inside the fd's RawConn.Read, so no OS thread is held, and
// wake puts a past read deadline on the File, which ends the park at once
// without a system call. With ParkThread wait blocks in epoll_wait(-1),
// and wake writes to an eventfd in the set.
type epollSelector struct {
	epfd int
	park Park

	// ParkRuntime: the File owns epfd; rc is its RawConn, harvest the
	// callback RawConn.Read runs (made once: a closure per wait would be
	// an allocation per wait).
	file    *os.File
	rc      syscall.RawConn
	harvest func(fd uintptr) bool
	// ParkThread: the eventfd wake writes to.
	evfd int

	rung atomic.Bool // a wake is pending (coalesces wakes)

	// The wait's own (one goroutine waits at a time): the kernel's
	// buffer, and what harvest found.
	raw []unix.EpollEvent
	got int
}

// newEpoll's errors are *os.SyscallError naming the call that failed
// (EMFILE from epoll_create1 or eventfd when the process is out of
// descriptors), so that the caller's error does not read as if its own
// open had failed.
func newEpoll(park Park) (selector, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	p := &epollSelector{epfd: epfd, park: park, evfd: -1}
	if park == ParkRuntime {
		// An epoll fd is itself pollable: in non-blocking mode
		// os.NewFile hands it to the runtime poller.
		if err := unix.SetNonblock(epfd, true); err != nil {
			unix.Close(epfd)
			return nil, os.NewSyscallError("fcntl", err)
		}
		p.file = os.NewFile(uintptr(epfd), "reactor-epoll")
		// NewFile does not say whether the runtime poller took the fd;
		// a deadline can only be set on one it did. If it did not, the
		// wait could never park: block on a thread instead.
		if err := p.file.SetReadDeadline(time.Time{}); err != nil {
			p.file.Close()
			return newEpoll(ParkThread)
		}
		p.rc, _ = p.file.SyscallConn() // fails only on a closed File
		p.harvest = p.harvestNow
		return p, nil
	}
	p.evfd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1} // wakeIdx
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, p.evfd, &ev); err != nil {
		unix.Close(p.evfd)
		unix.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return p, nil
}

func (p *epollSelector) supports(Mode) support { return native }

func (p *epollSelector) blocksThread() bool { return p.park == ParkThread }

// epollFlags is the epoll_event mask for i in mode m. EPOLLRDHUP comes
// with Readable, so that a peer's shutdown reads as a hang-up.
func epollFlags(i Interest, m Mode) uint32 {
	var f uint32
	if i&Readable != 0 {
		f |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if i&Writable != 0 {
		f |= unix.EPOLLOUT
	}
	if i&Priority != 0 {
		f |= unix.EPOLLPRI
	}
	switch m {
	case Oneshot:
		f |= unix.EPOLLONESHOT
	case Edge:
		f |= unix.EPOLLET
	case EdgeOneshot:
		f |= unix.EPOLLET | unix.EPOLLONESHOT
	}
	return f
}

func (p *epollSelector) ctl(op, fd int, tok token, i Interest, m Mode) error {
	ev := unix.EpollEvent{Events: epollFlags(i, m), Fd: int32(tok.idx), Pad: int32(tok.gen)}
	return unix.EpollCtl(p.epfd, op, fd, &ev)
}

func (p *epollSelector) add(fd int, tok token, i Interest, m Mode) error {
	return p.ctl(unix.EPOLL_CTL_ADD, fd, tok, i, m)
}

func (p *epollSelector) modify(fd int, tok token, i Interest, m Mode) error {
	return p.ctl(unix.EPOLL_CTL_MOD, fd, tok, i, m)
}

func (p *epollSelector) del(fd int, _ token) error {
	err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	if err == unix.EBADF || err == unix.ENOENT {
		// The fd was closed behind the owner's back: the kernel already
		// dropped it from the set. The entry is gone either way.
		err = nil
	}
	return err
}

func (p *epollSelector) wait(evs []event, block bool) (int, error) {
	if cap(p.raw) < len(evs) {
		p.raw = make([]unix.EpollEvent, len(evs))
	}
	p.raw = p.raw[:len(evs)]
	raw := p.raw
	n := 0
	switch {
	case !block:
		if n = epollWaitNow(p.epfd, raw); n < 0 {
			return 0, os.NewSyscallError("epoll_wait", unix.EBADF)
		}
	case p.park == ParkRuntime:
		p.got = 0
		if err := p.rc.Read(p.harvest); err != nil {
			if err != os.ErrDeadlineExceeded {
				return 0, err // the File is closed: not expected before close
			}
			// wake's deadline ended the park. Clear it before looking
			// at rung, so that a later wake's deadline is not erased.
			p.file.SetReadDeadline(time.Time{})
			p.rung.Store(false)
			return 0, nil
		}
		n = p.got
	default:
		var err error
		n, err = unix.EpollWait(p.epfd, raw, -1)
		if err == unix.EINTR {
			return 0, nil
		}
		if err != nil {
			return 0, os.NewSyscallError("epoll_wait", err)
		}
	}
	return p.decode(raw[:n], evs), nil
}

// harvestNow is the RawConn callback: it harvests without blocking, and
// asks to park (returns false) when nothing is ready. A full buffer may
// have left events behind; the next wait's first harvest takes them at
// once, before it parks.
func (p *epollSelector) harvestNow(fd uintptr) bool {
	n := epollWaitNow(int(fd), p.raw)
	if n <= 0 {
		return false // park until the runtime poller says readable
	}
	p.got = n
	return true
}

// epollWaitNow harvests without blocking; -1 on an error. A raw syscall:
// with a zero timeout it cannot block, so it need not tell the scheduler.
// epoll_pwait with a nil mask is epoll_wait on every architecture, arm64
// included, which lacks the plain syscall.
func epollWaitNow(epfd int, evs []unix.EpollEvent) int {
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
			uintptr(unsafe.Pointer(&evs[0])), uintptr(len(evs)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1
		}
		return int(n)
	}
}

// decode turns the kernel's events into the contract's; the wake-up
// eventfd's event only drains it.
func (p *epollSelector) decode(raw []unix.EpollEvent, evs []event) int {
	k := 0
	for i := range raw {
		e := raw[i].Events
		idx := uint32(raw[i].Fd)
		if idx == wakeIdx {
			var buf [8]byte
			unix.Read(p.evfd, buf[:])
			p.rung.Store(false)
			continue
		}
		var ev event
		ev.tok = token{idx, uint32(raw[i].Pad)}
		if e&(unix.EPOLLIN|unix.EPOLLRDHUP) != 0 {
			ev.ready |= Readable
		}
		if e&unix.EPOLLOUT != 0 {
			ev.ready |= Writable
		}
		if e&unix.EPOLLPRI != 0 {
			ev.ready |= Priority
		}
		ev.hup = e&(unix.EPOLLHUP|unix.EPOLLRDHUP) != 0
		ev.err = e&unix.EPOLLERR != 0
		ev.all = e&(unix.EPOLLHUP|unix.EPOLLERR) != 0
		evs[k] = ev
		k++
	}
	return k
}

func (p *epollSelector) wake() {
	if !p.rung.CompareAndSwap(false, true) {
		return
	}
	if p.park == ParkRuntime {
		p.file.SetReadDeadline(pastDeadline)
		return
	}
	one := [8]byte{1}
	for {
		_, err := unix.Write(p.evfd, one[:])
		if err != unix.EINTR {
			return
		}
	}
}

// pastDeadline ends a park on the runtime poller at once.
var pastDeadline = time.Unix(1, 0)

func (p *epollSelector) close() error {
	if p.park == ParkRuntime {
		// The File owns epfd: closing it takes epfd off the runtime
		// poller, then closes it.
		return p.file.Close()
	}
	unix.Close(p.evfd)
	return unix.Close(p.epfd)
}
