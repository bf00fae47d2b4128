package reactor

import (
	"testing"

	"golang.org/x/sys/unix"
)

// Guarantee 45: a token names one registration forever. Once a slot is
// released and reused, the old token finds nothing, so an event the
// kernel queued for the old registration wakes no stranger.
func TestStaleTokenIsDropped(t *testing.T) {
	for _, b := range []Backend{Epoll, Select} {
		if b == Epoll && !haveEpoll {
			continue
		}
		r, err := New(Config{Backend: b, Shards: 1})
		if err != nil {
			t.Fatal(err)
		}
		fds := make([]int, 2)
		if err := unix.Pipe(fds); err != nil {
			t.Fatal(err)
		}
		keep, err := r.Register(fds[1]) // keeps the loop (and slot table) alive
		if err != nil {
			t.Fatal(err)
		}
		old, err := r.Register(fds[0])
		if err != nil {
			t.Fatal(err)
		}
		oldIdx, oldGen := old.idx, old.gen
		old.Deregister()
		neu, err := r.Register(fds[0])
		if err != nil {
			t.Fatal(err)
		}
		sh := r.shards[0]
		sh.mu.Lock()
		if neu.idx != oldIdx {
			t.Errorf("%v: slot not reused (%d, %d)", b, neu.idx, oldIdx)
		}
		if got := sh.lookup(oldIdx, oldGen); got != nil {
			t.Errorf("%v: stale token found a registration", b)
		}
		if got := sh.lookup(neu.idx, neu.gen); got != neu {
			t.Errorf("%v: live token lost its registration", b)
		}
		if got := sh.lookup(1<<20, 0); got != nil {
			t.Errorf("%v: out-of-range token found a registration", b)
		}
		sh.mu.Unlock()
		neu.Deregister()
		keep.Deregister()
		unix.Close(fds[0])
		unix.Close(fds[1])
	}
}
