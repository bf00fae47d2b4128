// Package reactor tells waiting operations when their file descriptor is
// ready, without an OS thread per blocked call and without a goroutine per
// wait. It is the engine under package fdstream, and it is public so that
// code which does its own I/O on an fd (a C library, a protocol
// implementation) can wait for readiness with a context, in the spirit of
// tokio's AsyncFd and smol-rs/polling:
//
//	r, _ := reactor.New(reactor.Config{})
//	reg, err := r.Register(fd) // fd in non-blocking mode
//	if err != nil {
//		return err
//	}
//	defer reg.Deregister() // before fd is closed
//	for {
//		n, err := unix.Read(fd, buf)
//		if err != unix.EAGAIN {
//			return n, err
//		}
//		if err := reg.Wait(ctx, reactor.Readable, nil); err != nil {
//			return 0, err // ctx.Err(), os.ErrClosed, ...
//		}
//	}
//
// A Reactor is a set of shards; an fd belongs to shard fd % Shards. Each
// shard runs one loop goroutine, only while it has registrations.
//
// Backends: epoll (Linux) registers every fd once, for both directions,
// edge-triggered; select (every Unix) builds its fd sets from the
// operations waiting right now and refuses fds >= FD_SETSIZE. Both are
// compiled on Linux and can be chosen at run time with Config.Backend;
// DefaultBackend is epoll on Linux unless built with -tags noepoll.
//
// A Reactor made with Backend Runtime is what package fdstream uses by
// default: its Streams park on the Go runtime's own poller and never reach
// the shard loops, which serve Register (fds owned by other code, and fds
// the runtime poller is not known to handle) with Config.Loops as their
// backend.
//
// An epoll shard's loop parks its own epoll fd on the Go runtime poller
// (Park ParkRuntime, the default), so it holds no OS thread while it
// waits; ParkThread blocks it in epoll_wait instead, kept for measurement.
// The measurements behind these choices are in the repository's
// DESIGN.md.
package reactor
