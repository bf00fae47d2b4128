// Package fdstream gives context-aware, goroutine-safe I/O on any pollable
// file descriptor that is not (necessarily) a socket: serial ports and
// ttys, ptys, pipes, FIFOs, character devices, eventfd.
//
// It is for programs that do cancellable device I/O, that plug a tty into
// bufio or encoding/json, or that need a net.Conn over a pipe or a serial
// line (see package adapters). A Stream wraps one fd:
//
//	s, err := fdstream.Open("/dev/ttyUSB0", os.O_RDWR)
//	...
//	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
//	defer cancel()
//	n, err := s.ReadContext(ctx, buf)
//
// # How it works
//
// Every operation first tries its non-blocking syscall; only EAGAIN leads
// to a wait. The fd was registered once, when the Stream was made, with a
// shard of a reactor (package reactor): an epoll set on Linux, a select
// loop elsewhere or with -tags noepoll. A waiting call selects on the
// fd's readiness signal, ctx.Done(), its deadline and the Stream's closing
// signal: no goroutine is started per call, per cancellation or per
// deadline, and no allocation is made. A call that gives up has consumed
// nothing, so the next call reads the bytes it did not.
//
// Close wakes every blocked call, waits until no syscall on the fd is in
// flight, deregisters, and only then closes the fd, so the fd number can
// never be reused under a running call. A reactor shard runs its loop
// goroutine only while it has registrations: with every Stream closed,
// the package holds no goroutine, and goleak-style tests pass.
//
// Descriptors epoll cannot watch (regular files, block devices) get plain
// I/O: ctx and deadlines are checked before each syscall, but a syscall
// that has started is not interrupted.
package fdstream
