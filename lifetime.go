package fdstream

import "sync/atomic"

// lifetime is the Stream's close/in-flight primitive, in the spirit of
// internal/poll's fdMutex: a closed bit and a reference count in one word.
// Every operation (Read, Write, SetDeadline, SyscallConn's callbacks)
// holds a reference while it may touch the fd; Close sets the closed bit,
// wakes every waiter, and the goroutine that drops the last reference
// deregisters and closes the fd. So an fd number is never closed under a
// running syscall, and never reused under one either (invariant 6).
type lifetime struct {
	state     atomic.Uint64
	closing   chan struct{} // closed when Close starts: wakes lock waiters
	destroyed chan struct{} // closed once the fd itself is closed
}

const closedBit = 1 << 63

func (l *lifetime) init() {
	l.closing = make(chan struct{})
	l.destroyed = make(chan struct{})
}

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
			close(l.closing)
			return true
		}
	}
}

func (l *lifetime) closed() bool { return l.state.Load()&closedBit != 0 }
