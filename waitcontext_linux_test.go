package fdstream_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/internal/fdtest"
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

// A Stream's Priority wait returns when /proc/self/mounts reports a
// change of the mount table, on every reactor kind: the file is a
// regular file to fstat, so the Stream does plain I/O, and the wait goes
// through the Stream's own registration with its reactor's loops. In a
// child with its own mount namespace (as root, or else in a new user
// namespace; skipped, saying so, only where neither is allowed), a tmpfs
// is mounted while the wait is blocked, then unmounted before the next
// wait begins; both changes end a wait, and with no change since, a
// wait ends only on its ctx. Closing the Streams leaves no
// registration behind.
func TestStreamWaitContextPriorityMounts(t *testing.T) {
	const child = "TestStreamWaitContextPriorityMountsChild"
	parentNS, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Skipf("no /proc/self/ns/mnt (%v): mount namespaces unavailable", err)
	}
	var startErrs []string
	for _, attr := range []*syscall.SysProcAttr{
		{Unshareflags: syscall.CLONE_NEWNS},
		{
			Cloneflags:   syscall.CLONE_NEWUSER,
			Unshareflags: syscall.CLONE_NEWNS,
			UidMappings:  []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings:  []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		},
	} {
		cmd, stderr := fdtest.HelperCommand(t, child, parentNS)
		cmd.Args = append(cmd.Args, "-test.v")
		cmd.SysProcAttr = attr
		var out strings.Builder
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			startErrs = append(startErrs, err.Error())
			continue
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), stderr)
		}
		if !strings.Contains(out.String(), "--- PASS: "+child) {
			t.Fatalf("the child did not run:\n%s", out.String())
		}
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.Contains(l, "priority:") {
				t.Log(strings.TrimSpace(l))
			}
		}
		return
	}
	t.Skipf("cannot start a process in a new mount namespace, as root or in a user namespace: %s", strings.Join(startErrs, "; "))
}

func TestStreamWaitContextPriorityMountsChild(t *testing.T) {
	parentNS := fdtest.HelperMode(t, "TestStreamWaitContextPriorityMountsChild", "TestStreamWaitContextPriorityMounts")
	if ns, err := os.Readlink("/proc/self/ns/mnt"); err != nil || ns == parentNS {
		t.Fatalf("child mount namespace %q (%v) is the parent's: refusing to mount", ns, err)
	}
	type watch struct {
		name string
		r    *reactor.Reactor
		s    *fdstream.Stream
	}
	var ws []watch
	for _, c := range testReactors(t) {
		s, err := fdstream.Open("/proc/self/mounts", os.O_RDONLY, fdstream.WithReactor(c.r))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		ws = append(ws, watch{c.name, c.r, s})
	}
	dir := t.TempDir()
	mounted := false
	t.Cleanup(func() {
		if mounted {
			unix.Unmount(dir, unix.MNT_DETACH)
		}
	})
	bw := watchBlocks(t)
	// The first change lands while every wait is blocked.
	var done []<-chan error
	for _, w := range ws {
		ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
		t.Cleanup(cancel)
		done = append(done, async(func() error { return w.s.WaitContext(ctx, reactor.Priority) }))
		bw.await(t, w.s, 1)
	}
	mounted = true
	if err := unix.Mount("none", dir, "tmpfs", 0, "size=16k"); err != nil {
		t.Fatalf("mount: %v", err)
	}
	for i, w := range ws {
		if err := recvErr(t, done[i]); err != nil {
			t.Fatalf("%s: Priority wait across a mount = %v", w.name, err)
		}
		t.Logf("priority: Stream on %s, wait blocked across the mount: returned", w.name)
	}
	// The second lands before the waits begin.
	mounted = false
	if err := unix.Unmount(dir, 0); err != nil {
		t.Fatalf("umount: %v", err)
	}
	for _, w := range ws {
		ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
		err := w.s.WaitContext(ctx, reactor.Priority)
		cancel()
		if err != nil {
			t.Fatalf("%s: Priority wait after an unmount = %v", w.name, err)
		}
		t.Logf("priority: Stream on %s, wait begun after the unmount: returned", w.name)
	}
	// No change since: a wait blocks until its ctx ends it (no stale
	// report is left from the two changes).
	for _, w := range ws {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		err := w.s.WaitContext(ctx, reactor.Priority)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: Priority wait with no change = %v, want the ctx's deadline", w.name, err)
		}
	}
	for _, w := range ws {
		if err := w.s.Close(); err != nil {
			t.Fatal(err)
		}
		if n := w.r.Registrations(); n != 0 {
			t.Fatalf("%s: %d registrations left after Close", w.name, n)
		}
	}
}
