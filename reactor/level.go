//go:build unix

package reactor

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// This file is what the level-triggered backends (poll_unix.go,
// select_unix.go) share: their slot table, the emulation of oneshot mode,
// the self-pipe that interrupts their wait, and the gate that lets the
// owner change the table while a wait is in the kernel. Neither poll(2)
// nor select(2) has a registration: each call is built from the table as
// it is when the call starts.

// levelSlot is one entry of a level-triggered table, at the index of its
// token.
type levelSlot struct {
	fd   int // -1: free
	gen  uint32
	want Interest
	mode Mode // Level, or Oneshot (emulated)
	// on: the next call watches the entry (want is not empty, and it is
	// not a oneshot entry that fired and was not re-armed since).
	on bool
}

// levelTable is the table and its gate. Its mu guards everything below.
type levelTable struct {
	mu    sync.Mutex
	slots []levelSlot
	// sleeping: a blocking wait is in the kernel (or about to enter it)
	// with a call built from the table; rounds counts the calls that
	// returned, and returned is broadcast each time it grows.
	sleeping bool
	rounds   uint64
	returned sync.Cond
	bell     doorbell
}

func (t *levelTable) init(b doorbell) {
	t.bell = b
	t.returned.L = &t.mu
}

// set stores an entry at tok's index and makes a sleeping wait rebuild
// its call. mu held.
func (t *levelTable) set(fd int, tok token, i Interest, m Mode) *levelSlot {
	for int(tok.idx) >= len(t.slots) {
		t.slots = append(t.slots, levelSlot{fd: -1})
	}
	s := &t.slots[tok.idx]
	*s = levelSlot{fd: fd, gen: tok.gen, want: i, mode: m, on: i != 0}
	t.kick()
	return s
}

// clear frees tok's entry. If a wait is in the kernel with a call that
// may name the fd, it interrupts it and waits for it to return, so that
// once clear returns no system call names the fd (selector.del's
// promise). mu held; the wait releases it.
func (t *levelTable) clear(tok token) {
	if int(tok.idx) >= len(t.slots) {
		return
	}
	t.slots[tok.idx] = levelSlot{fd: -1}
	t.awaitRound()
}

// kick interrupts a sleeping wait so that it rebuilds its call. mu held.
func (t *levelTable) kick() {
	if t.sleeping {
		t.bell.ring()
	}
}

// awaitRound interrupts a sleeping wait and waits until it has returned.
// mu held; the wait releases it.
func (t *levelTable) awaitRound() {
	if !t.sleeping {
		return
	}
	t.bell.ring()
	for round := t.rounds; t.rounds == round; {
		t.returned.Wait()
	}
}

// enter is called, mu held, just before the system call: mu is released
// for its duration.
func (t *levelTable) enter(block bool) {
	t.sleeping = block
	t.mu.Unlock()
}

// leave is called just after the system call; it takes mu back.
func (t *levelTable) leave() {
	t.mu.Lock()
	t.sleeping = false
	t.rounds++
	t.returned.Broadcast()
}

// fire turns what the kernel reported for slot idx into an event, masked
// by what the entry wants (a hang-up or an error is always reported),
// and disarms a oneshot entry (emulated oneshot: it stays registered,
// unwatched, until modify re-arms it) and an entry whose fd is not open
// (gone: reported once, so that a Level entry does not spin). mu held.
func (t *levelTable) fire(idx uint32, ready Interest, hup, err, all, gone bool) (event, bool) {
	s := &t.slots[idx]
	if !s.on {
		return event{}, false // disarmed while the call ran
	}
	ready &= s.want
	if ready == 0 && !hup && !err {
		return event{}, false
	}
	if s.mode == Oneshot || gone {
		s.on = false
	}
	return event{tok: token{idx, s.gen}, ready: ready, hup: hup, err: err, all: all}, true
}

// loopWait is selector.loop for a backend whose waits gain nothing from
// following each other: wait, hand over, until the owner says stop.
func loopWait(s selector, evs []event, handle func(n int, err error) bool) {
	for handle(s.wait(evs, true)) {
	}
}

// checkOpen fails with EBADF for an fd that is not open: poll would
// report it POLLNVAL every time, and select would fail whole.
func checkOpen(fd int) error {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err
}

// doorbell is a non-blocking self-pipe that a level-triggered wait
// watches beside the table's fds: a byte in it ends the call. Rings are
// coalesced: the first ring writes a byte, later ones write nothing
// until a wait has drained the pipe.
type doorbell struct {
	r, w int
	rung *atomic.Bool
}

func newDoorbell() (doorbell, error) {
	r, w, err := newWakePipe()
	if err != nil {
		return doorbell{}, err
	}
	return doorbell{r: r, w: w, rung: new(atomic.Bool)}, nil
}

// ring is safe from any goroutine and never blocks.
func (b doorbell) ring() {
	if !b.rung.CompareAndSwap(false, true) {
		return
	}
	one := [1]byte{1}
	for {
		_, err := unix.Write(b.w, one[:])
		if err != unix.EINTR {
			return // EAGAIN: the pipe is full of wake-ups already
		}
	}
}

// drain empties the pipe, then lets the next ring write again. A ring
// that comes between the two writes nothing and is not seen by this
// wait: its owner set its own state (a flag, the table) before ringing,
// and looks at it after every wait.
func (b doorbell) drain() {
	var buf [64]byte
	for {
		n, err := unix.Read(b.r, buf[:])
		if n <= 0 && err != unix.EINTR {
			break
		}
	}
	b.rung.Store(false)
}

func (b doorbell) close() {
	unix.Close(b.r)
	unix.Close(b.w)
}
