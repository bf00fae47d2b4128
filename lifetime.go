package fdstream

import (
	"context"
	"errors"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/reactor"
)

// This file is the whole close/in-flight protocol, as internal/poll's
// fd_mutex.go holds it: the reference count with its closed bit, the
// per-direction locks, and destroy.

// lifetime is the Stream's close/in-flight primitive, in the spirit of
// internal/poll's fdMutex: a closed bit and a reference count in one word.
// Every operation (Read, Write, SetDeadline, SyscallConn's callbacks)
// holds a reference while it may touch the fd; Close sets the closed bit,
// wakes every waiter, and the goroutine that drops the last reference
// deregisters and closes the fd. So an fd number is never closed under a
// running syscall, and never reused under one either (README and
// DESIGN.md: guarantee 4). The Stream's closing and destroyed channels go
// with it; they live apart from the word, which shares a cache line with
// the read side's lock and deadline (see Stream).
type lifetime struct {
	state atomic.Uint64
}

const closedBit = 1 << 63

// incref takes a reference; it fails once Close has started.
func (l *lifetime) incref() bool {
	for {
		old := l.state.Load()
		if old&closedBit != 0 {
			return false
		}
		if l.state.CompareAndSwap(old, old+1) {
			return true
		}
	}
}

// decref drops a reference and reports whether it was the last one after
// Close started: the caller must then destroy.
func (l *lifetime) decref() bool {
	return l.state.Add(^uint64(0)) == closedBit
}

// markClosed sets the closed bit and takes a reference for Close itself. It
// reports false if Close had already started.
func (l *lifetime) markClosed() bool {
	for {
		old := l.state.Load()
		if old&closedBit != 0 {
			return false
		}
		if l.state.CompareAndSwap(old, (old+1)|closedBit) {
			return true
		}
	}
}

func (l *lifetime) closed() bool { return l.state.Load()&closedBit != 0 }

// testHookBlock, set only by tests, is called each time a call is about to
// block: waiting for readiness (i is the direction) or queued behind
// another call (i is 0). Tests use it to act once a call is blocked
// instead of sleeping and hoping.
var testHookBlock atomic.Pointer[func(s *Stream, i reactor.Interest)]

// testHookRefuseRuntime, set only by tests, makes constructors act as if
// the runtime poller did not take the fd, as darwin's does not take a
// FIFO: the Stream must fall back to its reactor's shard loops.
var testHookRefuseRuntime atomic.Bool

// dirLock serializes one direction's calls, as fdMutex's read and write
// locks do, but a caller queued behind a blocked call can still give up
// when its ctx is done, its deadline passes or the Stream closes. The
// uncontended path is one CAS to lock and one store and load to unlock
// (BenchmarkPingPong: a buffered channel used as a semaphore cost about
// 300 of 831 extra profile samples against os.File on a Background
// ping-pong).
type dirLock struct {
	held    atomic.Int32
	waiters atomic.Int32
	wake    chan struct{} // capacity 1: a token for one queued caller
}

func (l *dirLock) init() { l.wake = make(chan struct{}, 1) }

func (l *dirLock) tryLock() bool { return l.held.CompareAndSwap(0, 1) }

func (l *dirLock) unlock() {
	l.held.Store(0)
	if l.waiters.Load() > 0 {
		select {
		case l.wake <- struct{}{}:
		default: // a token is pending already: someone will look
		}
	}
}

// lock takes a reference and the direction's lock, giving up when ctx is
// done, the deadline passes, or s is closed.
func (s *Stream) lock(ctx context.Context, l *dirLock, d *deadline) error {
	if ctx == nil {
		return ErrNilContext
	}
	if !s.life.incref() {
		return os.ErrClosed
	}
	if err := s.checkEntry(ctx, d); err != nil {
		s.decref()
		return err
	}
	if !l.tryLock() {
		if err := s.lockSlow(ctx, l, d); err != nil {
			s.decref()
			return err
		}
	}
	if s.life.closed() {
		s.unlock(l)
		return os.ErrClosed
	}
	return nil
}

// lockSlow queues for l. A queued caller counts itself in waiters before
// it tries again, so an unlock either sees it and leaves a token, or
// happened before the retry, which then succeeds.
func (s *Stream) lockSlow(ctx context.Context, l *dirLock, d *deadline) error {
	if h := testHookBlock.Load(); h != nil {
		(*h)(s, 0) // queued behind another call
	}
	l.waiters.Add(1)
	defer l.waiters.Add(-1)
	for {
		if l.tryLock() {
			return nil
		}
		select {
		case <-l.wake:
		case <-ctx.Done():
			return ctx.Err()
		case <-d.wait():
			if d.passed.Load() {
				return os.ErrDeadlineExceeded
			}
		case <-s.closing:
			return os.ErrClosed
		}
	}
}

func (s *Stream) unlock(l *dirLock) {
	l.unlock()
	s.decref()
}

func (s *Stream) decref() {
	if s.life.decref() {
		s.destroy()
	}
}

// checkEntry fails a call whose ctx is done or whose deadline passed
// before it does any I/O. It asks ctx.Err(), not ctx.Done(): a
// cancelCtx makes its Done channel lazily, and a call that does not wait
// must not pay for it.
func (s *Stream) checkEntry(ctx context.Context, d *deadline) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d.passed.Load() {
		return os.ErrDeadlineExceeded
	}
	return nil
}

// Close closes the Stream. It wakes every blocked call on s, which return
// errors for which errors.Is(err, os.ErrClosed) holds, waits until no
// syscall on the fd is in flight, removes the fd from its poller,
// restores O_NONBLOCK as it was when the Stream adopted it, and only then
// closes the fd, so an fd number is never reused under a running call. It
// is safe to call from any goroutine. A second Close returns an
// *os.PathError wrapping os.ErrClosed; the error of close(2) itself is
// returned as an *os.PathError with Op "close".
func (s *Stream) Close() error {
	if !s.valid() {
		return os.ErrInvalid
	}
	if !s.life.markClosed() {
		return s.pathErr("close", os.ErrClosed)
	}
	close(s.closing)
	// Wake every parked call: on the runtime poller by a past deadline
	// on the File, on a shard loop by evicting the registration; callers
	// queued for a direction's lock see s.closing.
	s.rdl.closeWake()
	s.wdl.closeWake()
	s.wakeCopyPeer()
	if s.reg != nil {
		s.reg.Evict()
	}
	s.aux.evict()
	s.decref()
	<-s.destroyed
	return s.closeErr
}

// destroy runs once, in whichever goroutine drops the last reference after
// Close started: no syscall on the fd is in flight, and none will start.
func (s *Stream) destroy() {
	s.rdl.stop()
	s.wdl.stop()
	if s.reg != nil {
		s.reg.Deregister()
	}
	s.aux.release()
	// O_NONBLOCK goes back before the fd is closed (guarantee 11).
	releaseNonblock(s.nb, s.fd, &s.st)
	var err error
	if s.file != nil {
		// The File owns the fd: closing it takes the fd off the runtime
		// poller, then closes it.
		err = s.file.Close()
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
	} else {
		err = unix.Close(s.fd)
	}
	if err != nil {
		s.closeErr = s.pathErr("close", err)
	}
	close(s.destroyed)
}
