// Package reactor tells waiting code when a file descriptor is ready,
// without an OS thread per blocked call and without a goroutine per wait.
// It is the engine under package fdstream, and it is public for code that
// does its own I/O on fds (a C library, a protocol implementation, an
// event loop ported from another language). It offers two shapes:
//
//   - Registration, tokio's AsyncFd: Reactor.Register(fd), then, in any
//     number of goroutines, Wait(ctx, Readable) after a system call said
//     EAGAIN, or Do(ctx, Readable, f), which runs that loop for the
//     caller. See ExampleReactor_Register and ExampleRegistration_Do.
//   - Poller, smol-rs/polling's Poller: one goroutine adds fds under keys,
//     waits for a batch of events, handles them, and re-arms what it wants
//     to hear about again (Add, Modify, Delete, Wait, Notify). See
//     ExamplePoller.
//
// Interests are Readable, Writable and Priority (an exceptional
// condition, POLLPRI: a sysfs attribute, /proc/self/mounts or a
// cgroup.events file changed, a pty master in packet mode has status,
// out-of-band data arrived), which the Go runtime's poller never watches.
//
// # Backends
//
// Each backend is one file implementing one unexported contract, the
// selector interface of selector.go, as the Go runtime's netpoll_*.go
// files each implement the set netpoll.go lists: epoll (epoll_linux.go),
// poll(2) (poll_unix.go) and select(2) (select_unix.go). The shards of a
// Reactor and the Poller are written once, on that contract. Config.Backend
// picks one at run time; all are compiled on Linux.
//
//	backend  Oneshot   Level   Edge     EdgeOneshot  Priority  HangUp/Err          fds       a blocked wait
//	epoll    native    native  native   native       native    native              any       parks on the runtime poller (ParkRuntime)*
//	poll     emulated  native  refused  refused      native    native              any       holds an OS thread
//	select   emulated  native  refused  refused      native    as readiness only** < 1024    holds an OS thread
//
// Emulated oneshot: the entry stays registered but is left out of the
// next calls until Modify re-arms it. Refused: Poller.Add and Modify
// return ErrModeUnsupported (poll and select report levels, not edges).
// An fd closed while added is reported once with Err by poll and select,
// then ignored; epoll drops it silently, as the kernel does.
//
// * An epoll Poller or shard whose Wait is parked on the runtime poller
// holds no OS thread: its epoll fd sits in the runtime's own epoll set
// and wake-ups stay on the scheduler's fast path. While it watches an fd
// for Priority it waits on a thread instead, in a second epoll set that
// the runtime never polls: the runtime's poll of a nested epoll fd polls
// the ready fds inside, and some files report a change to the first poll
// only (/proc/self/mounts), which would then never reach the harvest.
// With Park ParkThread, an epoll wait always blocks in epoll_wait on a
// thread; it is kept for measurement.
//
// ** select cannot tell a hang-up or an error from readiness: it reports
// them as Readable (and Writable), never sets HangUp, and sets Err only
// for an fd found closed (select fails with EBADF; the culprit is found
// and reported once).
//
// DefaultBackend is epoll on Linux; built with -tags noepoll it is select
// for a Reactor (so that fdstream's tests cover the select loops) and
// poll for a Poller; elsewhere it is select for a Reactor and poll for a
// Poller. macOS's poll(2) does not support devices: there, use Select for
// ttys and serial ports.
//
// # Reactors and shards
//
// A Reactor is a set of shards; an fd belongs to shard fd % Shards. Each
// shard runs one loop goroutine, only while it has registrations. On
// epoll every fd is registered once, for reading and writing,
// edge-triggered (regular files, the kernel's attribute files, for
// Priority too; other fds get Priority added by their first Wait for
// it); on poll and select a Wait arms what it waits for, oneshot, and the
// loop re-arms what is still awaited.
//
// A Reactor made with Backend Runtime is what package fdstream uses by
// default: its Streams park on the Go runtime's own poller and never
// reach the shard loops, which serve Register (fds owned by other code,
// fds the runtime poller is not known to handle, and a Stream's Priority
// waits) with Config.Loops as their backend.
//
// The measurements behind these choices are in the repository's
// DESIGN.md and in the output of its bench module (go -C bench run .).
//
// Package reactor is safe for concurrent use as each method documents.
// Its API may still change before fdstream's first tagged release.
package reactor
