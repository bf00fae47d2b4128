//go:build linux

package fdstream_test

// This file specifies Close: it unblocks every call, and nothing touches the fd after it.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
)

// Guarantee 4: Close from another goroutine unblocks every blocked call:
// a reader waiting for data, readers queued behind it, a ReadContext with
// a live ctx, and a writer on a full pipe; all see os.ErrClosed.
func TestStreamCloseUnblocksEverything(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			watch := watchBlocks(t)
			r, _ := tr.make(t) // the peer stays open: nothing to read, no EOF
			var calls []<-chan error
			for i := 0; i < 3; i++ {
				calls = append(calls, async(func() error {
					_, err := r.Read(make([]byte, 10))
					return err
				}))
			}
			calls = append(calls, async(func() error {
				_, err := r.ReadContext(context.Background(), make([]byte, 10))
				return err
			}))
			watch.await(t, r, 4)

			// A writer blocked on a full buffer of a second pair that
			// nobody reads.
			_, writer := tr.make(t)
			calls = append(calls, async(func() error {
				_, err := writer.Write(make([]byte, 16<<20))
				return err
			}))
			watch.await(t, writer, 1)
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if err := writer.Close(); err != nil {
				t.Fatal(err)
			}
			for i, c := range calls {
				err := recvErr(t, c)
				if !errors.Is(err, os.ErrClosed) {
					t.Errorf("call %d: err = %v, want os.ErrClosed", i, err)
				}
			}
			// A second Close is an error, not a panic.
			if err := r.Close(); !errors.Is(err, os.ErrClosed) {
				t.Fatalf("second Close = %v, want os.ErrClosed", err)
			}
		})
	}
}

// Guarantee 4: after Close, nothing touches the old fd number, even once a
// new pipe has taken it over.
func TestStreamClosedNeverTouchesReusedFd(t *testing.T) {
	r, w := mustPipe(t)
	oldR, oldW := r.Fd(), w.Fd()
	r.Close()
	w.Close()
	// Put a new pipe on exactly the old numbers.
	fds := make([]int, 2)
	if err := unix.Pipe2(fds, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	for i, old := range []int{oldR, oldW} {
		if fds[i] != old {
			if err := unix.Dup3(fds[i], old, unix.O_CLOEXEC); err != nil {
				t.Fatal(err)
			}
			unix.Close(fds[i])
		}
	}
	nr, err := fdstream.NewStream(oldR, "new|0")
	if err != nil {
		t.Fatal(err)
	}
	defer nr.Close()
	nw, err := fdstream.NewStream(oldW, "new|1")
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	nw.Write([]byte("mine"))
	if _, err := w.Write([]byte("stale")); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Write on closed Stream = %v, want os.ErrClosed", err)
	}
	if _, err := r.Read(make([]byte, 10)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Read on closed Stream = %v, want os.ErrClosed", err)
	}
	if err := r.SetDeadline(time.Now()); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("SetDeadline on closed Stream = %v, want os.ErrClosed", err)
	}
	if _, err := r.SyscallConn(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("SyscallConn on closed Stream = %v, want os.ErrClosed", err)
	}
	if got := readN(t, nr, 4); string(got) != "mine" {
		t.Fatalf("new pipe read %q, want \"mine\"", got)
	}
	if p := pending(t, nr); p != 0 {
		t.Fatalf("the closed Stream's write reached the new pipe: %d bytes", p)
	}
}

// Guarantee 4 under load: Close races with blocked and running reads and
// writes while new pipes reuse the fd numbers; the new pipes' bytes are
// never stolen or corrupted, and every call ends.
func TestStreamCloseRacesWithIOAndFdReuse(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 50
	}
	for i := 0; i < rounds; i++ {
		r, w := mustPipe(t)
		var wg sync.WaitGroup
		for j := 0; j < 4; j++ {
			wg.Add(2)
			go func() {
				defer wg.Done()
				buf := make([]byte, 64)
				for {
					if _, err := r.Read(buf); err != nil {
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				for {
					if _, err := w.Write([]byte("racing bytes")); err != nil {
						return
					}
				}
			}()
		}
		closed := make(chan struct{})
		go func() {
			if i%2 == 0 {
				runtime.Gosched()
			}
			r.Close()
			w.Close()
			close(closed)
		}()
		// Make pipes that may take over the numbers while calls unwind.
		nr, nw := mustPipe(t)
		msg := []byte(fmt.Sprintf("round %d", i))
		if _, err := nw.Write(msg); err != nil {
			t.Fatal(err)
		}
		<-closed
		wg.Wait()
		if got := readN(t, nr, len(msg)); !bytes.Equal(got, msg) {
			t.Fatalf("round %d: new pipe read %q, want %q", i, got, msg)
		}
		if p := pending(t, nr); p != 0 {
			t.Fatalf("round %d: %d stray bytes in the new pipe", i, p)
		}
		nr.Close()
		nw.Close()
	}
}
