package fdstream

import (
	"context"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/reactor"
)

// This file is the readiness wait on a Stream, WaitContext: for
// Readable and Writable, a wait without I/O; for Priority, the
// exceptional conditions (POLLPRI) that sysfs and procfs attribute files,
// cgroup.events, a pty master in packet mode or a socket's out-of-band
// data signal, which the Go runtime's poller never watches.

// WaitContext blocks until s's fd is ready for i, which is exactly one
// of reactor.Readable, reactor.Writable and reactor.Priority, until ctx
// is done, the deadline passes, or s is closed. It does no I/O: it tells
// the caller when a read, a write, or a re-read of an attribute file is
// worth doing.
//
// Readable and Writable are level-triggered: WaitContext returns nil at
// once if a read (a write) would not block now, end of stream and errors
// included, and otherwise when that becomes true. A Stream doing plain
// I/O (a regular file, a device without poll support) is always ready.
//
// Priority returns nil when the kernel reports an exceptional condition
// (POLLPRI): on sysfs and cgroup files a change of the attribute, on
// /proc/self/mounts a change of the mount table. Follow the kernel's
// protocol for those files: after WaitContext returns, read the file
// again from offset 0 (ReadAt, or a seek through SyscallConn) before
// waiting again. It may return spuriously; treat a return as "look
// again". A Priority wait first asks the kernel whether a condition is
// pending; then it waits through a registration with the Stream's
// reactor's shard loops (for a Stream parked on the Go runtime poller,
// or doing plain I/O, one made by the first Priority wait and kept
// until Close), so it holds no OS thread unless that reactor's loops are
// poll or select, or epoll watching Priority (see package reactor). A
// file whose poll consumes the condition (/proc/self/mounts) can lose a
// change that lands between that first question and the registration.
//
// Readable and Priority waits are bounded by the read deadline, Writable
// waits by the write deadline; ctx bounds only this call. A Readable
// wait is serialized with reads, a Writable one with writes, Priority
// waits with each other. It starts no goroutine.
//
// Errors are *os.PathError with Op "wait" wrapping ctx.Err(),
// os.ErrDeadlineExceeded, os.ErrClosed, ErrNilContext, os.ErrInvalid for
// any other i, ErrNotPollable for a Priority wait on a file the reactor
// cannot watch (a plain regular file, on epoll), or the reactor's error.
func (s *Stream) WaitContext(ctx context.Context, i reactor.Interest) error {
	if !s.valid() {
		return os.ErrInvalid
	}
	var sem *dirLock
	d := &s.rdl
	switch i {
	case reactor.Readable:
		sem = &s.rlock
	case reactor.Writable:
		sem, d = &s.wlock, &s.wdl
	case reactor.Priority:
		sem = s.aux.semaphore()
	default:
		return s.pathErr("wait", fmt.Errorf("fdstream: WaitContext on interest %v, want one of readable, writable, priority: %w", i, os.ErrInvalid))
	}
	if err := s.lock(ctx, sem, d); err != nil {
		return s.pathErr("wait", err)
	}
	defer s.unlock(sem)
	var err error
	switch {
	case i == reactor.Priority:
		err = s.waitPriority(ctx, d)
	case s.rc != nil:
		err = s.waitReadyRuntime(ctx, i, d)
	case s.reg != nil:
		err = s.waitReadyLoop(ctx, i, d)
	}
	// Neither: plain I/O, which never blocks.
	if err != nil {
		return s.pathErr("wait", err)
	}
	return nil
}

// waitPriority waits for POLLPRI: asked at once (which also reports a
// condition that arose before the Stream's registration watched for
// it), then through s.reg or the Stream's own registration.
func (s *Stream) waitPriority(ctx context.Context, d *deadline) error {
	if readyNow(s.fd, reactor.Priority) {
		return nil
	}
	reg := s.reg
	if reg == nil {
		var err error
		if reg, err = s.aux.get(s.fd); err != nil {
			if err == unix.EPERM {
				return ErrNotPollable // epoll refuses files without a poll method
			}
			return err
		}
	}
	return s.waitOn(ctx, reg, reactor.Priority, d)
}

// waitReadyLoop waits, on a shard loop, until the fd is ready for i. The
// loop's registration is edge-triggered, so readiness is asked of the
// kernel before each wait, and again after it, to return only when it is
// true.
func (s *Stream) waitReadyLoop(ctx context.Context, i reactor.Interest, d *deadline) error {
	for !readyNow(s.fd, i) {
		if err := s.waitOn(ctx, s.reg, i, d); err != nil {
			return err
		}
	}
	return nil
}

// waitOn blocks in reg.Wait until the fd may be ready for i, re-reading
// a deadline that changes meanwhile, as waitLoop does for s.reg.
func (s *Stream) waitOn(ctx context.Context, reg *reactor.Registration, i reactor.Interest, d *deadline) error {
	for {
		expired := d.wait()
		if h := testHookBlock.Load(); h != nil {
			(*h)(s, i)
		}
		err := reg.Wait(ctx, i, expired)
		if err == os.ErrDeadlineExceeded && !d.passed.Load() {
			continue // the deadline was changed, not passed
		}
		return err
	}
}

// waitReadyRuntime waits on the Go runtime poller until the fd is ready
// for i: the RawConn callback asks the kernel, and parks (with ctx and
// the deadline armed, as a read that found EAGAIN does) while the answer
// is no.
func (s *Stream) waitReadyRuntime(ctx context.Context, i reactor.Interest, d *deadline) error {
	o := op{ctx: ctx}
	fn := func(fd uintptr) bool {
		if readyNow(int(fd), i) {
			return true
		}
		return !s.park(&o, i, d)
	}
	rawWait := s.rc.Read
	if i == reactor.Writable {
		rawWait = s.rc.Write
	}
	for {
		err := rawWait(fn)
		if err == nil && o.err == errArmShallow {
			o.err = nil
			if o.armed, err = d.arm(ctx, false); err == nil {
				continue
			}
		}
		if o.armed {
			o.armed = false
			d.disarm()
		}
		if err == nil {
			return o.err
		}
		if err = d.resolve(s, ctx, err); err != nil {
			return err
		}
	}
}

// readyNow asks the kernel, without blocking, whether fd is ready for i
// (a hang-up or an error counts as ready: the caller's next call will
// see it). poll(2) answers POLLNVAL for a closed fd, and on macOS for
// any device, which its poll does not support: then select(2) is asked.
func readyNow(fd int, i reactor.Interest) bool {
	var ev int16
	switch i {
	case reactor.Readable:
		ev = unix.POLLIN
	case reactor.Writable:
		ev = unix.POLLOUT
	case reactor.Priority:
		ev = unix.POLLPRI
	}
	pfd := [1]unix.PollFd{{Fd: int32(fd), Events: ev}}
	for {
		n, err := unix.Poll(pfd[:], 0)
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			return false
		}
		if pfd[0].Revents&unix.POLLNVAL == 0 {
			return true
		}
		return selectNow(fd, i)
	}
}

// fdSetBits is FD_SETSIZE, the first fd select(2) cannot take.
const fdSetBits = int(unsafe.Sizeof(unix.FdSet{}) * 8)

// selectNow is readyNow with select(2); an fd it cannot take, or one
// that is closed (EBADF), is reported ready, so that the caller's next
// system call says what is wrong.
func selectNow(fd int, i reactor.Interest) bool {
	if fd >= fdSetBits {
		return true
	}
	var set unix.FdSet
	set.Set(fd)
	var r, w, e *unix.FdSet
	switch i {
	case reactor.Readable:
		r = &set
	case reactor.Writable:
		w = &set
	default:
		e = &set
	}
	for {
		n, err := unix.Select(fd+1, r, w, e, &unix.Timeval{})
		if err == unix.EINTR {
			set.Zero()
			set.Set(fd)
			continue
		}
		return err != nil || n > 0
	}
}

// auxReg is a Stream's own registration with its reactor's shard loops,
// for the waits the Stream cannot do where it parks: Priority on a
// Stream parked on the Go runtime poller (which never watches POLLPRI)
// or doing plain I/O (sysfs and procfs attribute files are regular files
// to fstat, yet pollable for POLLPRI). It is made by the first Priority
// wait, kept until the Stream is destroyed (register once: registered
// once), evicted by Close and deregistered by destroy, before the fd is
// closed.
type auxReg struct {
	r *reactor.Reactor // the Stream's reactor; set by adopt

	mu     sync.Mutex
	sem    *dirLock // serializes Priority waits; made on first use
	reg    *reactor.Registration
	closed bool // Close began: no registration is made any more
}

func (a *auxReg) semaphore() *dirLock {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sem == nil {
		a.sem = new(dirLock)
		a.sem.init()
	}
	return a.sem
}

// get returns the registration, making it the first time. The caller
// holds a reference on the Stream, so fd is open.
func (a *auxReg) get(fd int) (*reactor.Registration, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, os.ErrClosed
	}
	if a.reg == nil {
		reg, err := a.r.Register(fd)
		if err != nil {
			return nil, err
		}
		a.reg = reg
	}
	return a.reg, nil
}

// evict wakes a Priority wait blocked in the registration; Close calls it.
func (a *auxReg) evict() {
	a.mu.Lock()
	a.closed = true
	if a.reg != nil {
		a.reg.Evict()
	}
	a.mu.Unlock()
}

// release deregisters; destroy calls it before the fd is closed.
func (a *auxReg) release() {
	a.mu.Lock()
	if a.reg != nil {
		a.reg.Deregister()
		a.reg = nil
	}
	a.mu.Unlock()
}
