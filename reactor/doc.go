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
// # How an epoll shard waits: measured, not guessed
//
// Two ways to run a shard were measured on the project's 2-core Linux
// machine (Go 1.26, GOMAXPROCS=2), in one `go test -bench` run of the
// root package against os.File on the Go runtime poller, ctx bridged with
// context.AfterFunc (BenchmarkPingPong: 1-byte messages over two pipes,
// cancellable ctx on every call; BenchmarkThroughput: 64 KiB writes
// through one pipe):
//
//	                     ping-pong RTT   ratio    64 KiB MB/s   ratio   allocs/RTT
//	os.File + AfterFunc     2970 ns      1.00       9066        1.00       12
//	ParkRuntime             3913 ns      1.32       6486        0.72        0
//	ParkThread             19233 ns      6.48       1628        0.18        0
//	select                 12633 ns      4.25       1929        0.21        0
//
// ParkThread blocks the loop goroutine in epoll_wait(-1): the shard holds
// an OS thread, and every wake-up crosses threads; worse, a goroutine the
// loop wakes waits on the loop's P until sysmon retakes it from the
// syscall (20 µs to 10 ms; before the loop yielded after each batch it
// measured 39774 ns, and select 300329 ns). ParkRuntime parks the
// shard's epoll fd (an epoll fd is itself pollable) on the Go runtime's
// poller through an os.File's RawConn, and harvests with a zero-timeout
// epoll_wait once the runtime reports it readable: wake-ups stay on the
// scheduler's fast path, no thread is held, and no eventfd is needed
// (closing the File stops the loop). ParkRuntime is the default.
//
// What ParkRuntime still pays over os.File is structural: one
// epoll_wait harvest and one goroutine hand-off per wake-up (strace:
// 2 epoll_pwait per wake against os.File's 1), the price of a wait that
// is a select on channels (ctx, deadline, close) rather than a park on
// the runtime's pollDesc, which only deadlines can interrupt.
package reactor
