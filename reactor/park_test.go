package reactor_test

import (
	"bytes"
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/fdstream/fdstream/reactor"
)

// Parking: a Poller's Wait on epoll with ParkRuntime (the default) parks
// on the Go runtime's poller and holds no OS thread: its goroutine is in
// the scheduler's "IO wait" state, not in a system call. On epoll with
// ParkThread, poll and select, Wait blocks in its system call, on an OS
// thread each (the documented cost). Each kind runs 16 Pollers with a
// Wait blocked on each, and the test waits (bounded by hang) until every
// one of those goroutines shows the state its kind promises.
func TestPollerWaitParking(t *testing.T) {
	const waiters = 16
	for _, k := range pollerKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			want := "[syscall"
			if k.cfg.Backend == reactor.Epoll && k.cfg.Park == reactor.ParkRuntime {
				want = "[IO wait"
			}
			done := make(chan error, waiters)
			var ps []*reactor.Poller
			for i := 0; i < waiters; i++ {
				p := newPoller(t, k.cfg)
				r, _ := pipe(t)
				if err := p.Add(r, 1, reactor.Readable, reactor.Oneshot); err != nil {
					t.Fatal(err)
				}
				ps = append(ps, p)
				go waitParked(p, done)
			}
			deadline := time.Now().Add(hang)
			for {
				states := parkedStates()
				if states[want] == waiters {
					t.Logf("%d Waits: %v", waiters, states)
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("Wait goroutines' states %v, want all %d in %s]", states, waiters, want)
				}
				time.Sleep(time.Millisecond)
			}
			for _, p := range ps {
				p.Notify()
			}
			for i := 0; i < waiters; i++ {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// waitParked is a named function so that its goroutines can be found in
// a stack dump.
func waitParked(p *reactor.Poller, done chan<- error) {
	_, err := p.Wait(context.Background(), make([]reactor.Event, 1))
	done <- err
}

// parkedStates counts the goroutines running waitParked by the state
// the runtime reports for them ("[IO wait", "[syscall", ...).
func parkedStates() map[string]int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	states := map[string]int{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if !bytes.Contains(g, []byte("reactor_test.waitParked(")) {
			continue
		}
		head, _, _ := bytes.Cut(g, []byte("\n"))
		_, st, _ := bytes.Cut(head, []byte(" ["))
		st, _, _ = bytes.Cut(st, []byte("]"))
		st, _, _ = bytes.Cut(st, []byte(","))
		states["["+string(st)]++
	}
	return states
}
