//go:build linux

package reactor

import (
	"os"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const haveEpoll = true

// epollEvents is how many events one epoll_wait harvests.
const epollEvents = 128

// wakeIdx marks the wake-up eventfd's event (ParkThread only); slot indexes
// never reach it.
const wakeIdx = ^uint32(0)

// epollPoller is one shard's epoll instance. Every fd is added once, for
// both directions, edge-triggered (register once), so the wait path needs no
// epoll_ctl.
type epollPoller struct {
	sh   *shard
	epfd int
	park Park

	// ParkRuntime: the epoll fd wrapped in an os.File so that the Go
	// runtime's poller tells the loop when it is readable; closing the
	// File both stops the loop and, once the loop's Read returns,
	// closes epfd.
	file *os.File
	// ParkThread: an eventfd in the epoll set, written to stop the loop.
	evfd     int
	stopping bool // ParkThread; written before the eventfd is, read after

	events [epollEvents]unix.EpollEvent
	done   chan struct{}
}

// newEpollPoller's errors are *os.SyscallError naming the call that
// failed (EMFILE from epoll_create1 or eventfd when the process is out of
// descriptors), so that the caller's error does not read as if its own
// open had failed.
func newEpollPoller(sh *shard, park Park) (poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	p := &epollPoller{sh: sh, epfd: epfd, park: park, evfd: -1, done: make(chan struct{})}
	if park == ParkThread {
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
	// An epoll fd is itself pollable: in non-blocking mode os.NewFile
	// hands it to the runtime poller.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	p.file = os.NewFile(uintptr(epfd), "reactor-epoll")
	// NewFile does not say whether the runtime poller took the fd; a
	// deadline can only be set on one it did. If it did not, the loop
	// could never park: block on a thread instead.
	if err := p.file.SetReadDeadline(time.Time{}); err != nil {
		p.file.Close()
		return newEpollPoller(sh, ParkThread)
	}
	return p, nil
}

func (p *epollPoller) add(r *Registration) error {
	ev := unix.EpollEvent{
		Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET,
		Fd:     int32(r.idx),
		Pad:    int32(r.gen),
	}
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, r.fd, &ev)
}

func (p *epollPoller) del(r *Registration) error {
	err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, r.fd, nil)
	if err == unix.EBADF || err == unix.ENOENT {
		// The fd was closed behind our back: the kernel already dropped
		// it from the set. The registration is gone either way.
		err = nil
	}
	return err
}

func (p *epollPoller) run() {
	defer close(p.done)
	if p.park == ParkThread {
		p.runThread()
		return
	}
	rc, err := p.file.SyscallConn()
	if err != nil {
		return
	}
	harvest := func(fd uintptr) bool {
		n := epollWaitNow(int(fd), p.events[:])
		if n <= 0 {
			return false // park until the runtime poller says readable
		}
		p.deliver(p.events[:n])
		// A full batch may have left events behind: harvest again at
		// once. Otherwise the inner ready list is empty and any later
		// event re-arms the runtime's edge on epfd, so park without
		// another (empty) epoll_wait.
		return n == len(p.events)
	}
	// rc.Read returns an error only once shutdown closed the File (the
	// File was checked to be on the runtime poller in newEpollPoller).
	for rc.Read(harvest) == nil {
	}
}

func (p *epollPoller) runThread() {
	for {
		n, err := unix.EpollWait(p.epfd, p.events[:], -1)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			return // EBADF/EINVAL: our own epfd is broken; nothing to wait on
		}
		evs := p.events[:n]
		stop := false
		for i := range evs {
			if uint32(evs[i].Fd) == wakeIdx {
				var buf [8]byte
				unix.Read(p.evfd, buf[:])
				p.sh.mu.Lock()
				stop = p.stopping
				p.sh.mu.Unlock()
				evs[i].Events = 0
			}
		}
		p.deliver(evs)
		if stop {
			return
		}
		// Let the goroutines just woken run on this P before the loop
		// blocks in epoll_wait again: a P held by a goroutine in a
		// blocking syscall keeps its run queue until sysmon retakes it,
		// which costs 20 µs to 10 ms per wake-up.
		runtime.Gosched()
	}
}

// epollWaitNow harvests without blocking. A raw syscall: with a zero
// timeout it cannot block, so it need not tell the scheduler.
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

// deliver decodes a batch and wakes the waiters. Hang-ups and errors wake
// both directions (guarantee 6): the reader will see EOF, the writer EPIPE.
func (p *epollPoller) deliver(evs []unix.EpollEvent) {
	const (
		rdMask = unix.EPOLLIN | unix.EPOLLPRI | unix.EPOLLRDHUP | unix.EPOLLHUP | unix.EPOLLERR
		wrMask = unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLHUP | unix.EPOLLERR
	)
	sh := p.sh
	sh.wakeups.Add(1)
	delivered := 0
	sh.mu.Lock()
	for i := range evs {
		e := evs[i].Events
		if e == 0 {
			continue
		}
		r := sh.lookup(uint32(evs[i].Fd), uint32(evs[i].Pad))
		if r == nil {
			continue // stale: deregistered after the kernel queued it
		}
		var in Interest
		if e&rdMask != 0 {
			in |= Readable
		}
		if e&wrMask != 0 {
			in |= Writable
		}
		r.notify(in)
		delivered++
	}
	sh.mu.Unlock()
	sh.events.Add(uint64(delivered))
}

func (p *epollPoller) shutdown() {
	if p.park == ParkThread {
		p.sh.mu.Lock()
		p.stopping = true
		p.sh.mu.Unlock()
		one := [8]byte{1}
		for {
			_, err := unix.Write(p.evfd, one[:])
			if err != unix.EINTR {
				break
			}
		}
		<-p.done
		unix.Close(p.evfd)
		unix.Close(p.epfd)
		return
	}
	// Close evicts the loop's parked Read; the descriptor is closed when
	// that Read lets go of it.
	p.file.Close()
	<-p.done
}
