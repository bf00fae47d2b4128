package reactor

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Guarantee 18: a token names one registration forever. Once a slot is
// released and reused, the old token finds nothing, so an event the
// kernel queued for the old registration wakes no stranger.
func TestStaleTokenIsDropped(t *testing.T) {
	for _, b := range []Backend{Epoll, Poll, Select} {
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
		oldTok := old.tok
		old.Deregister()
		neu, err := r.Register(fds[0])
		if err != nil {
			t.Fatal(err)
		}
		sh := r.shards[0]
		sh.mu.Lock()
		if neu.tok.idx != oldTok.idx {
			t.Errorf("%v: slot not reused (%d, %d)", b, neu.tok.idx, oldTok.idx)
		}
		if got := sh.lookup(oldTok); got != nil {
			t.Errorf("%v: stale token found a registration", b)
		}
		if got := sh.lookup(neu.tok); got != neu {
			t.Errorf("%v: live token lost its registration", b)
		}
		if got := sh.lookup(token{1 << 20, 0}); got != nil {
			t.Errorf("%v: out-of-range token found a registration", b)
		}
		sh.mu.Unlock()
		neu.Deregister()
		keep.Deregister()
		unix.Close(fds[0])
		unix.Close(fds[1])
	}
}

// Guarantee 47 for the Poller: an event the kernel harvested for an fd
// that was deleted before the Poller matched it (and whose number and
// slot were then given to another fd under another key) is dropped; the
// live token of the new holder still matches. The black-box test
// (TestPollerConformance, "Delete then fd reuse") cannot time the race;
// this feeds the late event straight into deliver.
func TestPollerStaleEventIsDropped(t *testing.T) {
	for _, b := range []Backend{Epoll, Poll, Select} {
		if b == Epoll && !haveEpoll {
			continue
		}
		p, err := NewPoller(Config{Backend: b})
		if err != nil {
			t.Fatal(err)
		}
		fds := make([]int, 2)
		if err := unix.Pipe(fds); err != nil {
			t.Fatal(err)
		}
		if err := p.Add(fds[0], 1, Readable, Level); err != nil {
			t.Fatal(err)
		}
		p.mu.Lock()
		idx := p.byFd[fds[0]] - 1
		old := token{idx, p.slots[idx].gen}
		p.mu.Unlock()
		if err := p.Delete(fds[0]); err != nil {
			t.Fatal(err)
		}
		if err := p.Add(fds[0], 2, Readable, Level); err != nil {
			t.Fatal(err)
		}
		p.mu.Lock()
		neu := token{p.byFd[fds[0]] - 1, p.slots[p.byFd[fds[0]]-1].gen}
		p.mu.Unlock()
		if neu.idx != old.idx || neu.gen == old.gen {
			t.Fatalf("%v: slot %+v after %+v: want the same index, a new generation", b, neu, old)
		}
		out := make([]Event, 2)
		if n := p.deliver([]event{{tok: old, ready: Readable}}, out); n != 0 {
			t.Errorf("%v: the deleted key's late event was delivered: %+v", b, out[:n])
		}
		if n := p.deliver([]event{{tok: neu, ready: Readable}}, out); n != 1 || out[0].Key != 2 {
			t.Errorf("%v: the live token delivered %+v, want key 2", b, out[:n])
		}
		p.Close()
		unix.Close(fds[0])
		unix.Close(fds[1])
	}
}

// The mode table in the package documentation is what the backends do:
// each row's Oneshot, Level, Edge and EdgeOneshot cells match the
// selector's supports (guarantee 46: a mode a backend cannot do natively
// is emulated or refused, and the table says which).
func TestModeTableMatchesDoc(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, l := range strings.Split(string(src), "\n") {
		code, ok := strings.CutPrefix(l, "//\t") // the table is a code block
		f := strings.Fields(code)
		if ok && len(f) > 5 && (f[0] == "epoll" || f[0] == "poll" || f[0] == "select") {
			rows[f[0]] = f[1:5]
		}
	}
	for _, b := range []Backend{Epoll, Poll, Select} {
		if b == Epoll && !haveEpoll {
			continue
		}
		row, ok := rows[b.String()]
		if !ok {
			t.Fatalf("no row for %v in doc.go's table", b)
		}
		sel, err := newSelector(b, ParkRuntime)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range []Mode{Oneshot, Level, Edge, EdgeOneshot} {
			if got := sel.supports(m).String(); got != row[i] {
				t.Errorf("%v %v: the doc says %s, the backend says %s", b, m, row[i], got)
			}
		}
		sel.close()
	}
}
