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

// wakeIdx marks the wake-up eventfd's event, and mainIdx the main set's
// epoll fd in the Priority set; slot indexes never reach them.
const (
	wakeIdx = ^uint32(0)
	mainIdx = ^uint32(0) - 1
)

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
//
// Priority under ParkRuntime: the runtime's own epoll_wait polls a nested
// epoll fd's ready entries to learn whether it is readable, and some
// files report an exceptional condition to the first poll only
// (/proc/self/mounts's mounts_poll records, per open file, the change it
// last reported): the runtime would take the event and the harvest would
// find nothing. So entries watched for Priority live in a second set,
// made when the first one is added and never given to the runtime; while
// it has entries, a blocking wait blocks in epoll_wait on it, on a
// thread, with the main set nested inside it (whose entries are polled
// without side effects) and an eventfd for wake.
type epollSelector struct {
	epfd int
	park Park

	// ParkRuntime: the File owns epfd; rc is its RawConn, harvest the
	// callback RawConn.Read runs (made once: a closure per wait would be
	// an allocation per wait).
	file    *os.File
	rc      syscall.RawConn
	harvest func(fd uintptr) bool

	// The eventfd a thread-blocked wait watches (ParkThread: in the main
	// set, made with it; ParkRuntime: in the Priority set, made with it);
	// -1 until there is one. Atomic: wake reads it from any goroutine.
	evfd atomic.Int32

	// ParkRuntime's Priority set: its epoll fd (-1 until the first
	// Priority entry), which entries are in it (by token index), and how
	// many. The owner serialises add, modify and del, which alone touch
	// prioEp and inPrio; wait reads nPrio.
	prioEp int
	inPrio []bool
	nPrio  atomic.Int32

	rung atomic.Bool // a wake is pending (coalesces wakes)

	// The wait's own (one goroutine waits at a time): the kernel's
	// buffer, and what harvest found.
	raw []unix.EpollEvent
	got int

	// loop's own, set as it starts (loop runs in one goroutine, once).
	loopFn     func(fd uintptr) bool // p.loopHarvest, made once
	loopRaw    []unix.EpollEvent
	loopEvs    []event
	loopHandle func(n int, err error) bool
	loopMore   bool
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
	p := &epollSelector{epfd: epfd, park: park, prioEp: -1}
	p.raw = make([]unix.EpollEvent, shardEvents)
	p.evfd.Store(-1)
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
		p.loopFn = p.loopHarvest
		return p, nil
	}
	evfd, err := addEventfd(epfd)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	p.evfd.Store(int32(evfd))
	return p, nil
}

// asInt32 stores a marker index in an epoll_event's data word.
func asInt32(u uint32) int32 { return int32(u) }

// addEventfd makes an eventfd and adds it to epfd under wakeIdx.
func addEventfd(epfd int) (int, error) {
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return -1, os.NewSyscallError("eventfd", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: asInt32(wakeIdx)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(evfd)
		return -1, os.NewSyscallError("epoll_ctl", err)
	}
	return evfd, nil
}

// prioSet returns the Priority set's epoll fd, making it (with its
// eventfd, and the main set nested in it) the first time. Owner-serialised.
func (p *epollSelector) prioSet() (int, error) {
	if p.prioEp >= 0 {
		return p.prioEp, nil
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return -1, os.NewSyscallError("epoll_create1", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: asInt32(mainIdx)}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, p.epfd, &ev); err != nil {
		unix.Close(ep)
		return -1, os.NewSyscallError("epoll_ctl", err)
	}
	evfd, err := addEventfd(ep)
	if err != nil {
		unix.Close(ep)
		return -1, err
	}
	p.prioEp = ep
	p.evfd.Store(int32(evfd))
	return ep, nil
}

func (p *epollSelector) supports(Mode) support { return native }

func (p *epollSelector) blocksThread() bool { return p.park == ParkThread || p.nPrio.Load() > 0 }

// loop is a shard's loop. On the runtime poller it stays inside one
// RawConn.Read across batches: the callback harvests, hands the batch
// over, and parks again at once when the harvest drained the ready list
// (any later event gives the runtime's poller a fresh edge on epfd). A
// new RawConn.Read would start with prepareRead, which forgets an edge
// that came meanwhile, and so would have to begin with an epoll_wait
// that usually finds nothing: one system call per wake-up saved.
//
// It allocates nothing: its callback is a method value made with the
// selector, and the kernel's buffer is made there too (for a loop of
// shardEvents). A loop starts in a goroutine of its own, which may run
// while the goroutine that registered the first fd goes on with its
// calls; an allocation here would be counted against theirs.
func (p *epollSelector) loop(evs []event, handle func(n int, err error) bool) {
	if p.park != ParkRuntime {
		loopWait(p, evs, handle)
		return
	}
	if cap(p.raw) < len(evs) {
		p.raw = make([]unix.EpollEvent, len(evs))
	}
	p.loopRaw, p.loopEvs, p.loopHandle, p.loopMore = p.raw[:len(evs)], evs, handle, true
	for p.loopMore {
		if p.nPrio.Load() > 0 {
			p.loopMore = handle(p.wait(evs, true)) // on a thread, see the type
			continue
		}
		err := p.rc.Read(p.loopFn)
		switch {
		case err == os.ErrDeadlineExceeded:
			// A wake (the owner's, or a switch to the Priority set).
			p.file.SetReadDeadline(time.Time{})
			p.rung.Store(false)
			p.loopMore = handle(0, nil)
		case err != nil:
			handle(0, err) // the File is closed: not expected before close
			return
		}
	}
}

// loopHarvest is loop's RawConn callback (p.loopFn): it harvests and
// hands each batch over, and parks when the ready list is drained.
func (p *epollSelector) loopHarvest(fd uintptr) bool {
	raw := p.loopRaw
	for {
		n := epollWaitNow(int(fd), raw)
		if n <= 0 {
			return false // park
		}
		if p.loopMore = p.loopHandle(p.decode(raw[:n], p.loopEvs), nil); !p.loopMore {
			return true
		}
		if n < len(raw) {
			return false // drained: park without another harvest
		}
	}
}

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

func ctl(epfd, op, fd int, tok token, i Interest, m Mode) error {
	ev := unix.EpollEvent{Events: epollFlags(i, m), Fd: int32(tok.idx), Pad: int32(tok.gen)}
	return unix.EpollCtl(epfd, op, fd, &ev)
}

// setFor is the set an entry watched for i belongs in: the Priority set
// for Priority under ParkRuntime, the main set otherwise.
func (p *epollSelector) setFor(i Interest) (epfd int, prio bool, err error) {
	if p.park == ParkRuntime && i&Priority != 0 {
		ep, err := p.prioSet()
		return ep, true, err
	}
	return p.epfd, false, nil
}

func (p *epollSelector) isPrio(idx uint32) bool {
	return int(idx) < len(p.inPrio) && p.inPrio[idx]
}

// markPrio records which set idx's entry is in; when the Priority set
// gains its first entry or loses its last, a blocking wait is woken so
// that it waits the other way.
func (p *epollSelector) markPrio(idx uint32, prio bool) {
	for int(idx) >= len(p.inPrio) {
		p.inPrio = append(p.inPrio, false)
	}
	if p.inPrio[idx] == prio {
		return
	}
	p.inPrio[idx] = prio
	d := int32(-1)
	if prio {
		d = 1
	}
	if n := p.nPrio.Add(d); n == 0 || (n == 1 && prio) {
		p.wake()
	}
}

func (p *epollSelector) add(fd int, tok token, i Interest, m Mode) error {
	ep, prio, err := p.setFor(i)
	if err != nil {
		return err
	}
	if err := ctl(ep, unix.EPOLL_CTL_ADD, fd, tok, i, m); err != nil {
		return err
	}
	p.markPrio(tok.idx, prio)
	return nil
}

func (p *epollSelector) modify(fd int, tok token, i Interest, m Mode) error {
	ep, prio, err := p.setFor(i)
	if err != nil {
		return err
	}
	if prio == p.isPrio(tok.idx) {
		return ctl(ep, unix.EPOLL_CTL_MOD, fd, tok, i, m)
	}
	// Moving between sets: the ADD polls the fd, so what is ready now is
	// reported (and a oneshot entry is armed), as a MOD would.
	if err := ctl(ep, unix.EPOLL_CTL_ADD, fd, tok, i, m); err != nil {
		return err
	}
	p.delFrom(p.setOf(tok.idx), fd)
	p.markPrio(tok.idx, prio)
	return nil
}

func (p *epollSelector) setOf(idx uint32) int {
	if p.isPrio(idx) {
		return p.prioEp
	}
	return p.epfd
}

func (p *epollSelector) del(fd int, tok token) error {
	err := p.delFrom(p.setOf(tok.idx), fd)
	if int(tok.idx) < len(p.inPrio) {
		p.markPrio(tok.idx, false)
	}
	return err
}

func (p *epollSelector) delFrom(epfd, fd int) error {
	err := unix.EpollCtl(epfd, unix.EPOLL_CTL_DEL, fd, nil)
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
		if p.nPrio.Load() > 0 { // before prioEp: the atomic orders its write
			n = max(epollWaitNow(p.prioEp, raw), 0)
			n = p.dropMain(raw[:n])
		}
		if n < len(raw) {
			m := epollWaitNow(p.epfd, raw[n:])
			if m < 0 {
				return 0, os.NewSyscallError("epoll_wait", unix.EBADF)
			}
			n += m
		}
	case p.park == ParkRuntime && p.nPrio.Load() > 0:
		// Block on a thread in the Priority set (see the type's
		// documentation); the main set's readiness shows as mainIdx.
		k, err := unix.EpollWait(p.prioEp, raw, -1)
		if err == unix.EINTR {
			return 0, nil
		}
		if err != nil {
			return 0, os.NewSyscallError("epoll_wait", err)
		}
		n = p.dropMain(raw[:k])
		if n < k && n < len(raw) {
			n += max(epollWaitNow(p.epfd, raw[n:]), 0)
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

// dropMain removes the main set's own event from a harvest of the
// Priority set, and returns how many events are left (moved to the
// front).
func (p *epollSelector) dropMain(raw []unix.EpollEvent) int {
	k := 0
	for i := range raw {
		if uint32(raw[i].Fd) != mainIdx {
			raw[k] = raw[i]
			k++
		}
	}
	return k
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
			unix.Read(int(p.evfd.Load()), buf[:])
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
	}
	// A ParkRuntime wait may be blocked in the Priority set instead;
	// the signal the wait did not take ends a later wait at once
	// (spuriously), which the owner allows.
	if evfd := p.evfd.Load(); evfd >= 0 {
		one := [8]byte{1}
		for {
			_, err := unix.Write(int(evfd), one[:])
			if err != unix.EINTR {
				return
			}
		}
	}
}

// pastDeadline ends a park on the runtime poller at once.
var pastDeadline = time.Unix(1, 0)

func (p *epollSelector) close() error {
	if evfd := p.evfd.Load(); evfd >= 0 {
		unix.Close(int(evfd))
	}
	if p.prioEp >= 0 {
		unix.Close(p.prioEp)
	}
	if p.park == ParkRuntime {
		// The File owns epfd: closing it takes epfd off the runtime
		// poller, then closes it.
		return p.file.Close()
	}
	return unix.Close(p.epfd)
}
