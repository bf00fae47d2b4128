package fdstream

import (
	"context"
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/reactor"
)

// This file runs the syscalls of the operations beyond ReadContext and
// WriteContext (vectored I/O, and a Copy's reads, writes and splices) with
// the Stream's own waits: on the Go runtime poller through a RawConn
// callback made once, or on the reactor's shard loops. Like ReadContext,
// a step tries its syscall first and waits only after EAGAIN (DESIGN.md,
// "How a Stream waits"); it starts no goroutine.

// errPeerClosed ends a wait of a Copy whose other Stream was closed.
var errPeerClosed = errors.New("fdstream: the other end of the copy was closed")

// step is one direction of one Stream, running one syscall at a time with
// that direction's waits. Its owner holds the direction's lock and a
// reference on s for as long as it runs steps.
type step struct {
	s    *Stream
	i    reactor.Interest
	d    *deadline
	ctx  context.Context
	peer *Stream // the other end of a Copy, whose Close also ends a wait
	// sys is the syscall on s's fd. It returns EAGAIN when the call
	// must wait for i; any other result ends the step.
	sys func(fd int) (int, error)
	// cb is sys as a RawConn callback, made once by init so that a
	// step allocates nothing; o holds its results (n, err, armed) as a
	// ReadContext's op does, for park.
	cb func(fd uintptr) bool
	o  op
}

// init readies st for s in direction i. It allocates the callback, once.
func (st *step) init(s *Stream, i reactor.Interest, sys func(fd int) (int, error)) {
	st.s, st.i, st.sys = s, i, sys
	st.d = &s.rdl
	if i == reactor.Writable {
		st.d = &s.wdl
	}
	st.cb = st.callback
}

// run does the syscall until it succeeds or fails with anything but EINTR
// and EAGAIN, waiting for readiness after each EAGAIN. It returns the
// syscall's result, or why a wait ended: ctx.Err(), os.ErrDeadlineExceeded,
// os.ErrClosed, errPeerClosed. A Stream doing plain I/O never waits.
func (st *step) run() (int, error) {
	s := st.s
	switch {
	case s.rc != nil:
		o := &st.o
		o.ctx = st.ctx
		defer func() { o.ctx = nil }()
		for {
			var err error
			if st.i == reactor.Writable {
				err = s.rc.Write(st.cb)
			} else {
				err = s.rc.Read(st.cb)
			}
			if err == nil && o.err == errArmShallow {
				// Arming would go deep (deadline.go): arm here, out of
				// the callback, and try the syscall again.
				o.err = nil
				if o.armed, err = st.d.arm(st.ctx, false); err == nil {
					continue
				}
			}
			if o.armed {
				o.armed = false
				st.d.disarm()
			}
			if err == nil {
				n, err := o.n, o.err
				o.n, o.err = 0, nil
				return n, err
			}
			if st.peer != nil && !s.life.closed() && st.peer.life.closed() {
				// Checked before resolve, which would take the past
				// deadline the peer's Close put on the File for a
				// stale one and park again.
				return 0, errPeerClosed
			}
			if err = st.d.resolve(s, st.ctx, err); err != nil {
				return 0, err
			}
		}
	case s.reg != nil:
		for {
			n, err := st.sys(s.fd)
			switch err {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				if err = s.waitPeer(st.ctx, st.i, st.d, st.peer); err == nil {
					continue
				}
				return 0, err
			}
			return n, err
		}
	default:
		for {
			n, err := st.sys(s.fd)
			if err != unix.EINTR {
				return n, err
			}
		}
	}
}

// callback is run's RawConn callback: on EAGAIN it arms the direction
// and parks, as runtimeRead does.
func (st *step) callback(fd uintptr) bool {
	for {
		n, err := st.sys(int(fd))
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return !st.s.park(&st.o, st.i, st.d)
		}
		st.o.n, st.o.err = n, err
		return true
	}
}

// waitPeer is waitLoop for a Copy: it also ends when peer is closed.
func (s *Stream) waitPeer(ctx context.Context, i reactor.Interest, d *deadline, peer *Stream) error {
	if peer == nil {
		return s.waitLoop(ctx, i, d)
	}
	for {
		expired := d.wait()
		// After d.wait: peer's Close closes that very channel, or, if it
		// ran before the channel was made, is seen here.
		if peer.life.closed() {
			return errPeerClosed
		}
		if h := testHookBlock.Load(); h != nil {
			(*h)(s, i)
		}
		err := s.reg.Wait(ctx, i, expired)
		if err == os.ErrDeadlineExceeded && !d.passed.Load() {
			continue // changed, or poked by peer's Close: look again
		}
		return err
	}
}

// lockPeer is lock for the second Stream a Copy locks: it also gives up
// when peer, the Stream whose lock the Copy already holds, is closed.
func (s *Stream) lockPeer(ctx context.Context, l *dirLock, d *deadline, peer *Stream) error {
	if !s.life.incref() {
		return os.ErrClosed
	}
	if err := s.checkEntry(ctx, d); err != nil {
		s.decref()
		return err
	}
	if !l.tryLock() {
		if err := s.lockPeerSlow(ctx, l, d, peer); err != nil {
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

// lockPeerSlow is lockSlow with peer's Close as one more way out.
func (s *Stream) lockPeerSlow(ctx context.Context, l *dirLock, d *deadline, peer *Stream) error {
	if h := testHookBlock.Load(); h != nil {
		(*h)(s, 0)
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
		case <-peer.closing:
			return errPeerClosed
		}
	}
}

// link ties src's read direction and dst's write direction together for
// a Copy that holds both locks: from now on closing either Stream ends a
// wait on the other. It reports false if either was closed already.
// Close sets its closed bit and then loads the link (wakeCopyPeer); link
// stores the link and then loads the closed bits: one of the two sees
// the other.
func link(src, dst *Stream) bool {
	src.rdl.setPeer(dst)
	dst.wdl.setPeer(src)
	src.copyDst.Store(dst)
	dst.copySrc.Store(src)
	return !src.life.closed() && !dst.life.closed()
}

func unlink(src, dst *Stream) {
	src.copyDst.Store(nil)
	dst.copySrc.Store(nil)
	src.rdl.setPeer(nil)
	dst.wdl.setPeer(nil)
}

// wakeCopyPeer is Close's part in a Copy: it wakes the other Stream's
// wait, whose deadline now sees s closed.
func (s *Stream) wakeCopyPeer() {
	if src := s.copySrc.Load(); src != nil {
		src.rdl.peerWake()
	}
	if dst := s.copyDst.Load(); dst != nil {
		dst.wdl.peerWake()
	}
}

func (d *deadline) setPeer(p *Stream) {
	d.mu.Lock()
	d.peer = p
	d.mu.Unlock()
}

// peerWake ends a wait in this direction because its Copy's other Stream
// was closed: a runtime park through the File's deadline (effective sees
// the peer closed), a loop wait through the waiters' channel.
func (d *deadline) peerWake() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.setFile != nil {
		d.applyLocked()
	}
	if d.ch != nil {
		close(d.ch)
		d.ch = nil
	}
}

// pollable reports whether s waits for readiness (false: plain I/O).
func (s *Stream) pollable() bool { return s.rc != nil || s.reg != nil }
