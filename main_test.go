package fdstream_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/internal/fdtest"
	"github.com/fdstream/fdstream/reactor"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// blockWatch records which Streams have calls blocked, through the
// package's test hook, so a test can act once a call is really waiting
// instead of sleeping and hoping.
type blockWatch struct {
	mu      sync.Mutex
	ch      chan struct{}
	waiting map[*fdstream.Stream]int
}

// watchBlocks installs the hook for the duration of t. Tests using it must
// not run in parallel.
func watchBlocks(t *testing.T) *blockWatch {
	w := &blockWatch{ch: make(chan struct{}, 1), waiting: map[*fdstream.Stream]int{}}
	fdstream.SetTestHookBlock(func(s *fdstream.Stream, _ reactor.Interest) {
		w.mu.Lock()
		w.waiting[s]++
		w.mu.Unlock()
		select {
		case w.ch <- struct{}{}:
		default:
		}
	})
	t.Cleanup(func() { fdstream.SetTestHookBlock(nil) })
	return w
}

// blockSignal installs the package's block hook for the duration of t and
// returns a channel that gets a value (at most one pending) each time a
// call on any Stream blocks: for a child process that must tell its
// parent when a read is really waiting.
func blockSignal(t *testing.T) <-chan struct{} {
	blocked := make(chan struct{}, 1)
	fdstream.SetTestHookBlock(func(*fdstream.Stream, reactor.Interest) {
		select {
		case blocked <- struct{}{}:
		default:
		}
	})
	t.Cleanup(func() { fdstream.SetTestHookBlock(nil) })
	return blocked
}

// reset forgets every count, for a test that reuses the watch round after
// round on new Streams.
func (w *blockWatch) reset() {
	w.mu.Lock()
	w.waiting = map[*fdstream.Stream]int{}
	w.mu.Unlock()
}

// await blocks until s has had at least n calls block since the watch
// began.
func (w *blockWatch) await(t *testing.T, s *fdstream.Stream, n int) {
	t.Helper()
	w.awaitCount(t, n, s.Name(), func() int { return w.waiting[s] })
}

// awaitAny blocks until at least n calls, on any Stream, blocked since the
// watch began: for a Stream the test cannot name (inside a Conn).
func (w *blockWatch) awaitAny(t *testing.T, n int) {
	t.Helper()
	w.awaitCount(t, n, "any Stream", func() int {
		got := 0
		for _, c := range w.waiting {
			got += c
		}
		return got
	})
}

// awaitCount waits until count (called with mu held) reaches n.
func (w *blockWatch) awaitCount(t *testing.T, n int, what string, count func() int) {
	t.Helper()
	deadline := time.After(fdtest.Hang)
	for {
		w.mu.Lock()
		got := count()
		w.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-w.ch:
		case <-deadline:
			t.Fatalf("%s: %d calls blocked, want %d", what, got, n)
		}
	}
}

func mustPipe(t testing.TB, opts ...fdstream.Option) (r, w *fdstream.Stream) {
	t.Helper()
	r, w, err := fdstream.Pipe(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

// readN reads exactly n bytes from s, failing the test on a hang.
func readN(t *testing.T, s *fdstream.Stream, n int) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	buf := make([]byte, n)
	got := 0
	for got < n {
		m, err := s.ReadContext(ctx, buf[got:])
		got += m
		if err != nil {
			t.Fatalf("read %d of %d bytes: %v", got, n, err)
		}
	}
	return buf
}

// async runs f in a goroutine and returns a channel with its error.
func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

func recvErr(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(fdtest.Hang):
		t.Fatal("call did not return")
		return nil
	}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
