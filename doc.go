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
// to a wait. By default (a reactor.Runtime reactor) the Stream keeps an
// *os.File over its fd, never reached through Fd, and a wait parks in
// the File: in its own Read for a read with Background or with the ctx
// the Stream keeps registered, in its RawConn.Read or RawConn.Write
// otherwise. The Go runtime's poller wakes the goroutine itself, as it
// does an os.File's. The File's deadline
// carries the composition of the Stream's deadline and the call's ctx:
// a ctx whose Done is nil costs nothing, and otherwise one
// context.AfterFunc per direction is registered when a call is about to
// park, and kept while later calls bring the same ctx. FIFOs and
// terminals on darwin and the BSDs, Streams of an Epoll or Select reactor
// (WithReactor, or -tags noepoll), and fds of other code registered
// through package reactor wait in the library's own shard loops instead,
// selecting on the fd's readiness signal, ctx.Done(), the deadline and
// the Stream's closing signal. Either way no goroutine is started per
// call, per cancellation or per deadline, and a call that gives up has
// consumed nothing, so the next call reads the bytes it did not.
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
//
// # Copying and vectored I/O
//
// Stream is an io.ReaderFrom and an io.WriterTo, and Copy uses them:
// between two Streams on Linux the bytes move with splice(2), on the
// Streams' own waits, so that ctx, deadlines and a Close of either end
// stop a copy in the middle; bytes a copy took but could not write come
// back in a *CopyError. WriteBuffersContext and ReadBuffersContext do
// vectored I/O (writev, readv) with the same rules as WriteContext and
// ReadContext. Package ctxiotest checks any ReadContext/WriteContext
// implementation against the promises this package keeps.
//
// # API stability
//
// The module has no tagged version yet: until v1.0.0 its API may still
// change between minor versions, every change listed in CHANGELOG.md;
// from v1.0.0 on, it will not break code written against it, on the
// terms of the Go 1 compatibility promise.
package fdstream
