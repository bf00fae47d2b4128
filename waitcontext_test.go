package fdstream_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/reactor"
)

// WaitContext for Readable and Writable is level-triggered on every
// reactor kind: it returns at once when the fd is ready, and otherwise
// blocks until it becomes ready, without consuming anything.
func TestStreamWaitContextReadableWritable(t *testing.T) {
	for _, c := range testReactors(t) {
		t.Run(c.name, func(t *testing.T) {
			r, w := mustPipe(t, fdstream.WithReactor(c.r))
			ctx := context.Background()
			if err := w.WaitContext(ctx, reactor.Writable); err != nil {
				t.Fatalf("Writable on an empty pipe = %v", err)
			}
			bw := watchBlocks(t)
			done := async(func() error { return r.WaitContext(ctx, reactor.Readable) })
			bw.await(t, r, 1)
			if _, err := w.Write([]byte("ab")); err != nil {
				t.Fatal(err)
			}
			if err := recvErr(t, done); err != nil {
				t.Fatalf("Readable after a write = %v", err)
			}
			// Level-triggered: ready again at once, and nothing consumed.
			for i := 0; i < 3; i++ {
				if err := r.WaitContext(ctx, reactor.Readable); err != nil {
					t.Fatalf("Readable with data waiting = %v", err)
				}
			}
			if got := readN(t, r, 2); string(got) != "ab" {
				t.Fatalf("read %q after the waits, want %q", got, "ab")
			}
			// Fill the pipe: Writable blocks until the reader makes room.
			big := make([]byte, 1<<20)
			wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			n, _ := w.WriteContext(wctx, big)
			cancel()
			if n == 0 || n == len(big) {
				t.Fatalf("filling the pipe wrote %d bytes", n)
			}
			done = async(func() error { return w.WaitContext(ctx, reactor.Writable) })
			bw.await(t, w, 2)
			readN(t, r, n)
			if err := recvErr(t, done); err != nil {
				t.Fatalf("Writable after the reader drained = %v", err)
			}
		})
	}
}

// WaitContext ends as every blocking call does: on ctx, on the deadline,
// on Close; for each interest (Priority on a pipe, which never reports
// one, exercises the Stream's own registration on a Stream parked on the
// runtime poller); and every error is an *os.PathError with Op "wait".
func TestStreamWaitContextEnds(t *testing.T) {
	for _, c := range testReactors(t) {
		t.Run(c.name, func(t *testing.T) {
			for _, i := range []reactor.Interest{reactor.Readable, reactor.Priority} {
				r, w := mustPipe(t, fdstream.WithReactor(c.r))
				bw := watchBlocks(t)
				ctx, cancel := context.WithCancel(context.Background())
				done := async(func() error { return r.WaitContext(ctx, i) })
				bw.await(t, r, 1)
				cancel()
				if err := recvErr(t, done); !errors.Is(err, context.Canceled) || !isPathErr(err, "wait") {
					t.Fatalf("%v: cancelled = %v", i, err)
				}
				r.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
				if err := r.WaitContext(context.Background(), i); !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) {
					t.Fatalf("%v: past the deadline = %v", i, err)
				}
				r.SetReadDeadline(time.Time{})
				n := blockedSoFar(bw, r)
				done = async(func() error { return r.WaitContext(context.Background(), i) })
				bw.await(t, r, n+1)
				r.Close()
				if err := recvErr(t, done); !errors.Is(err, os.ErrClosed) || !isPathErr(err, "wait") {
					t.Fatalf("%v: closed while waiting = %v", i, err)
				}
				if err := r.WaitContext(context.Background(), i); !errors.Is(err, os.ErrClosed) {
					t.Fatalf("%v: after Close = %v", i, err)
				}
				w.Close()
			}
			// Writable ends on the write deadline.
			_, w := mustPipe(t, fdstream.WithReactor(c.r))
			fill := make([]byte, 1<<20)
			fctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			w.WriteContext(fctx, fill)
			cancel()
			w.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
			if err := w.WaitContext(context.Background(), reactor.Writable); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Writable past the write deadline = %v", err)
			}
			if n := c.r.Registrations(); c.r.Backend() == reactor.Runtime && n != 0 {
				t.Fatalf("%d registrations on a runtime reactor after the Priority waits' Streams closed", n)
			}
		})
	}
}

// blockedSoFar is how many calls on s have blocked since w began.
func blockedSoFar(w *blockWatch, s *fdstream.Stream) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.waiting[s]
}

func isPathErr(err error, op string) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && pe.Op == op
}

// Bad input: a clear error, never a panic or a wait.
func TestStreamWaitContextBadInput(t *testing.T) {
	r, _ := mustPipe(t)
	for _, i := range []reactor.Interest{0, reactor.Readable | reactor.Writable, reactor.Readable | reactor.Priority, reactor.Interest(64)} {
		if err := r.WaitContext(context.Background(), i); !errors.Is(err, os.ErrInvalid) || !isPathErr(err, "wait") {
			t.Errorf("WaitContext(%v) = %v, want os.ErrInvalid", i, err)
		}
	}
	//lint:ignore SA1012 a nil ctx is the bad input under test
	if err := r.WaitContext(nil, reactor.Readable); !errors.Is(err, fdstream.ErrNilContext) { //nolint:staticcheck
		t.Errorf("WaitContext(nil ctx) = %v, want ErrNilContext", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.WaitContext(ctx, reactor.Priority); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitContext(done ctx) = %v, want context.Canceled", err)
	}
	var nilStream *fdstream.Stream
	if err := nilStream.WaitContext(context.Background(), reactor.Readable); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("nil Stream: %v, want os.ErrInvalid", err)
	}
	if err := (&fdstream.Stream{}).WaitContext(context.Background(), reactor.Readable); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("zero Stream: %v, want os.ErrInvalid", err)
	}
}

// A regular file does plain I/O: Readable and Writable return at once;
// Priority is refused on an epoll reactor (epoll cannot watch a plain
// regular file) and, on poll and select loops, which take it, waits for
// a condition that never comes until ctx ends it.
func TestStreamWaitContextRegularFile(t *testing.T) {
	for _, c := range testReactors(t) {
		t.Run(c.name, func(t *testing.T) {
			f, err := fdstream.Open(t.TempDir()+"/f", os.O_RDWR|os.O_CREATE, fdstream.WithReactor(c.r))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, i := range []reactor.Interest{reactor.Readable, reactor.Writable} {
				if err := f.WaitContext(context.Background(), i); err != nil {
					t.Fatalf("%v on a regular file = %v", i, err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			err = f.WaitContext(ctx, reactor.Priority)
			if c.r.LoopBackend() == reactor.Epoll {
				if !errors.Is(err, fdstream.ErrNotPollable) {
					t.Fatalf("Priority on a regular file, epoll loops = %v, want ErrNotPollable", err)
				}
			} else if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Priority on a regular file, %v loops = %v, want the ctx's end", c.r.LoopBackend(), err)
			}
		})
	}
}

// Close racing Priority waits, which make the Stream's own registration:
// every wait ends with os.ErrClosed (or never started), and no
// registration or loop is left behind.
func TestStreamWaitContextCloseRace(t *testing.T) {
	for _, c := range testReactors(t) {
		t.Run(c.name, func(t *testing.T) {
			for round := 0; round < 50; round++ {
				r, w, err := fdstream.Pipe(fdstream.WithReactor(c.r))
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				errs := make(chan error, 4)
				for g := 0; g < 4; g++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs <- r.WaitContext(context.Background(), reactor.Priority)
					}()
				}
				r.Close()
				wg.Wait()
				close(errs)
				for err := range errs {
					if !errors.Is(err, os.ErrClosed) {
						t.Fatalf("round %d: Priority wait racing Close = %v", round, err)
					}
				}
				w.Close()
			}
			if n, l := c.r.Registrations(), c.r.Loops(); n != 0 || l != 0 {
				t.Fatalf("after every Stream closed: %d registrations, %d loops", n, l)
			}
		})
	}
}
