package reactor

import "fmt"

// This file states the backend contract once, as the Go runtime's
// netpoll.go lists what each netpoll_*.go implements (netpollinit,
// netpollopen, netpollclose, netpoll, netpollBreak) and as mio's
// selector modules share one shape. Every backend file (epoll_linux.go,
// poll_unix.go, select_unix.go) implements selector and nothing above it;
// the shards (shard.go) and the Poller (poller.go) are written once, on
// this interface, and never ask which backend they hold: what differs is
// told by supports and blocksThread.

// selector is one instance of a backend: its kernel object (an epoll fd;
// for poll and select, a table the next call is built from), its
// wake-up mechanism, and the decoding of what the kernel reports.
//
// Its owner (a shard or a Poller) keeps the slot table that maps a token
// back to a registration and a key; the selector stores the token beside
// the fd and hands it back with every event, and the owner drops an event
// whose token's generation is stale. add, modify and del may be called
// from any goroutine, also while wait is running in another; the owner
// serialises them with each other. One goroutine at a time calls wait.
type selector interface {
	// supports says how the backend does mode m: natively, emulated in
	// software, or not at all (the owner refuses the mode).
	supports(m Mode) support
	// blocksThread reports whether a blocking wait holds an OS thread
	// (a blocking system call) rather than parking on the Go runtime's
	// poller.
	blocksThread() bool
	// add starts watching fd under tok for i in mode m (a mode supports
	// does not refuse). Errors: EBADF for a closed fd; on epoll EPERM
	// for a file epoll cannot watch; on select ErrFDSetSize.
	add(fd int, tok token, i Interest, m Mode) error
	// modify changes what fd is watched for, and re-arms a oneshot entry
	// that fired.
	modify(fd int, tok token, i Interest, m Mode) error
	// del stops watching fd. Once it returns no system call of this
	// selector names fd, so the caller may close it and the kernel may
	// reuse its number.
	del(fd int, tok token) error
	// wait fills evs with ready entries and returns how many, at most
	// len(evs) (which is at least 1). With block it waits until an entry
	// is ready or wake is called; without, it only harvests what is
	// ready now. It may return 0 with block: a wake-up, or a spurious
	// return (EINTR, or a change to the watched set while it slept); the
	// owner checks its own state and calls again. An error other than
	// errBadFds means the backend cannot wait any more.
	wait(evs []event, block bool) (int, error)
	// loop is a shard's loop: it waits, blocking, and hands each batch
	// (or wait's error) to handle, until handle returns false. It is
	// wait in a loop (loopWait), except where waits that follow each
	// other without returning to the owner can park more cheaply (epoll
	// on the runtime poller). handle runs on loop's goroutine; a wake
	// calls it with 0.
	loop(evs []event, handle func(n int, err error) bool)
	// wake makes a blocked wait (or loop's wait) return, or the next one
	// return at once.
	// It is safe from any goroutine, never blocks, and is coalesced: many
	// wakes before a wait returns cost one system call at most.
	wake()
	// close releases the selector's descriptors. No wait is running or
	// will start; nothing is watched any more, or the owner is gone.
	close() error
}

// support is how a backend does a Mode; the table in the package
// documentation lists it per backend.
type support uint8

const (
	refused  support = iota // the owner returns ErrModeUnsupported
	native                  // the kernel does it
	emulated                // the selector does it in software
)

func (s support) String() string {
	switch s {
	case refused:
		return "refused"
	case native:
		return "native"
	case emulated:
		return "emulated"
	}
	return fmt.Sprintf("support(%d)", uint8(s))
}

// token names one entry for its owner: an index into the owner's slot
// table and the generation that slot had when the entry was added. A
// slot's generation grows every time it is released, so a token is never
// reused (guarantee 18): an event the kernel queued for an entry
// since deleted, whose fd number and slot may both have new holders,
// finds a generation that does not match and is dropped (the runtime's
// fdseq, tokio's tick, gVisor's FileIdentifier).
type token struct {
	idx, gen uint32
}

// event is one readiness report from a selector, before its owner has
// matched the token to a slot.
type event struct {
	tok token
	// ready is what the kernel reported, by interest: data or end of
	// stream (Readable; a peer's shutdown of its write side included),
	// room (Writable), an exceptional condition (Priority).
	ready Interest
	// hup: the peer hung up (POLLHUP, EPOLLHUP, EPOLLRDHUP); err: an
	// error condition (POLLERR, EPOLLERR) or an fd that is not open
	// (POLLNVAL, select's EBADF).
	hup, err bool
	// all: the condition ends every direction (a full hang-up or an
	// error), so every interest is woken: a reader will see end of
	// stream, a writer EPIPE (guarantee 6).
	all bool
}

// errBadFds is returned by a select wait that failed with EBADF: the fds
// found closed are reported as events with err set, and are no longer
// watched. The owner counts it (Stats.BadFds) and delivers the events.
var errBadFds = fmt.Errorf("reactor: a watched fd was closed while registered")

// newSelector makes an instance of backend b (Epoll, Poll or Select).
func newSelector(b Backend, park Park) (selector, error) {
	switch b {
	case Epoll:
		return newEpoll(park)
	case Poll:
		return newPoll()
	case Select:
		return newSelect()
	}
	return nil, fmt.Errorf("reactor: backend %v has no selector", b)
}
