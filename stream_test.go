//go:build linux

package fdstream_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/internal/fdtest"
	"github.com/fdstream/fdstream/reactor"
)

// Semantic 1: the io.Reader contract, checked by testing/iotest on every
// transport.
func TestStreamIOReaderContract(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			r, w := tr.make(t)
			content := bytes.Repeat([]byte("fdstream "), 300)
			errc := async(func() error {
				_, err := w.Write(content)
				return err
			})
			if err := iotest.TestReader(io.LimitReader(r, int64(len(content))), content); err != nil {
				t.Fatal(err)
			}
			if err := recvErr(t, errc); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Semantic 1: ReadContext returns as soon as at least one byte is read.
func TestStreamReadReturnsWhatIsThere(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			r, w := tr.make(t)
			if _, err := w.Write([]byte("abc")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 100)
			ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
			defer cancel()
			n, err := r.ReadContext(ctx, buf)
			if err != nil || string(buf[:n]) != "abc" {
				t.Fatalf("ReadContext = %d %q, %v; want 3 \"abc\", nil", n, buf[:n], err)
			}
		})
	}
}

// Semantic 1: len(p) == 0 returns 0, nil at once, even with nothing to read.
func TestStreamReadZeroLength(t *testing.T) {
	r, _ := mustPipe(t)
	n, err := r.ReadContext(context.Background(), nil)
	if n != 0 || err != nil {
		t.Fatalf("ReadContext(nil) = %d, %v; want 0, nil", n, err)
	}
	n, err = r.Read([]byte{})
	if n != 0 || err != nil {
		t.Fatalf("Read(empty) = %d, %v; want 0, nil", n, err)
	}
}

// Semantics 1 and 6: end of stream is 0, io.EOF, also for a reader that was
// blocked when the writer went away, on every transport (a pty master
// after its slave closed included: EIO becomes EOF), and stays so.
func TestStreamReadEOFWhenWriterGone(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			watch := watchBlocks(t)
			r, w := tr.make(t)
			errc := async(func() error {
				_, err := r.Read(make([]byte, 10))
				return err
			})
			watch.await(t, r, 1)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := recvErr(t, errc); err != io.EOF {
				t.Fatalf("blocked Read after peer closed = %v, want io.EOF", err)
			}
			// Again, at once: no wait, no spin.
			for i := 0; i < 3; i++ {
				n, err := r.Read(make([]byte, 10))
				if n != 0 || err != io.EOF {
					t.Fatalf("Read %d after EOF = %d, %v; want 0, io.EOF", i, n, err)
				}
			}
		})
	}
}

// Semantic 6: a pty master whose slave hung up reads io.EOF, not EIO, and
// the reactor does not spin on the hang-up: while the master stays open
// and registered, its shard loop stays asleep.
func TestStreamPTYHangupIsEOFWithoutSpinning(t *testing.T) {
	for _, c := range testReactors(t) {
		t.Run(c.name, func(t *testing.T) {
			watch := watchBlocks(t)
			master, slave := mustPTY(t, fdstream.WithReactor(c.r))
			errc := async(func() error {
				_, err := master.Read(make([]byte, 10))
				return err
			})
			watch.await(t, master, 1)
			slave.Close()
			if err := recvErr(t, errc); err != io.EOF {
				t.Fatalf("master Read after slave closed = %v, want io.EOF", err)
			}
			if _, err := master.Read(make([]byte, 10)); err != io.EOF {
				t.Fatalf("second master Read = %v, want io.EOF", err)
			}
			// A quiet window: a spinning loop would harvest thousands of
			// batches in it; a correct one harvests none.
			before := c.r.Stats().Wakeups
			idleR, _ := mustPipe(t, fdstream.WithReactor(c.r))
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			idleR.ReadContext(ctx, make([]byte, 1))
			cancel()
			if n := c.r.Stats().Wakeups - before; n > 3 {
				t.Fatalf("the reactor woke %d times in a quiet window after a pty hang-up", n)
			}
		})
	}
}

// Semantic 6: a write after the reader is gone returns EPIPE (a blocked
// writer on a full pipe is woken for it) and does not kill the process.
func TestStreamWriteEPIPEWhenReaderGone(t *testing.T) {
	for _, name := range []string{"pipe", "socketpair"} {
		t.Run(name, func(t *testing.T) {
			watch := watchBlocks(t)
			var r, w *fdstream.Stream
			if name == "pipe" {
				r, w = mustPipe(t)
			} else {
				r, w = mustSocketpair(t)
			}
			big := make([]byte, 8<<20)
			errc := async(func() error {
				_, err := w.Write(big)
				return err
			})
			watch.await(t, w, 1)
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			err := recvErr(t, errc)
			if !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("blocked Write after reader closed = %v, want EPIPE", err)
			}
			if _, err := w.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("Write after reader closed = %v, want EPIPE", err)
			}
		})
	}
}

// Semantic 1: WriteContext writes all of p, across many partial writes,
// while a reader drains the other end; the bytes arrive intact.
func TestStreamWriteContextWritesAll(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			r, w := tr.make(t)
			data := make([]byte, 4<<20)
			rand.New(rand.NewSource(1)).Read(data)
			want := sha256.Sum256(data)
			type result struct {
				sum [32]byte
				err error
			}
			got := make(chan result, 1)
			go func() {
				h := sha256.New()
				_, err := io.CopyN(h, r, int64(len(data)))
				var res result
				copy(res.sum[:], h.Sum(nil))
				res.err = err
				got <- res
			}()
			ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
			defer cancel()
			n, err := w.WriteContext(ctx, data)
			if n != len(data) || err != nil {
				t.Fatalf("WriteContext = %d, %v; want %d, nil", n, err, len(data))
			}
			res := <-got
			if res.err != nil || res.sum != want {
				t.Fatalf("reader: %v, checksum match %v", res.err, res.sum == want)
			}
		})
	}
}

// Semantics 1 and 3: a write that cannot finish returns n < len(p) with
// an error, never a short write with nil, and n is exactly what reached
// the fd: the reader then gets those n bytes and nothing more.
func TestStreamWriteShortOnlyWithError(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			r, w := tr.make(t)
			data := make([]byte, 4<<20)
			for i := range data {
				data[i] = byte(i % 251)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			n, err := w.WriteContext(ctx, data)
			if n >= len(data) || err == nil {
				t.Fatalf("WriteContext into a full %s = %d, %v; want n < %d and an error", tr.name, n, err, len(data))
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want context.DeadlineExceeded", err)
			}
			got := readN(t, r, n)
			if !bytes.Equal(got, data[:n]) {
				t.Fatal("bytes read differ from the bytes the short write reported")
			}
			if p := pending(t, r); p != 0 {
				t.Fatalf("%d bytes beyond the reported n reached the reader", p)
			}
			// The Stream stays usable.
			if _, err := w.Write([]byte("ok")); err != nil {
				t.Fatal(err)
			}
			if got := readN(t, r, 2); string(got) != "ok" {
				t.Fatalf("after the short write read %q", got)
			}
		})
	}
}

// Semantic 2: a ctx already done at entry returns at once, without I/O.
func TestStreamContextDoneAtEntry(t *testing.T) {
	r, w := mustPipe(t)
	if _, err := w.Write([]byte("keep")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n, err := r.ReadContext(ctx, make([]byte, 10))
	if n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadContext(done ctx) = %d, %v; want 0, context.Canceled", n, err)
	}
	if p := pending(t, r); p != 4 {
		t.Fatalf("a read with a done ctx consumed bytes: %d left, want 4", p)
	}
	n, err = w.WriteContext(ctx, []byte("more"))
	if n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteContext(done ctx) = %d, %v; want 0, context.Canceled", n, err)
	}
	if p := pending(t, r); p != 4 {
		t.Fatalf("a write with a done ctx wrote: %d pending, want 4", p)
	}
}

// Semantic 2: ctx and the read deadline compose; the earlier wins, and a
// ctx deadline never changes the deadline SetReadDeadline set.
func TestStreamContextAndDeadlineCompose(t *testing.T) {
	r, _ := mustPipe(t)
	buf := make([]byte, 1)

	// The ctx is earlier: its error comes back.
	if err := r.SetReadDeadline(time.Now().Add(fdtest.Hang)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	_, err := r.ReadContext(ctx, buf)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ctx earlier: err = %v, want context.DeadlineExceeded only", err)
	}

	// The deadline is earlier: os.ErrDeadlineExceeded comes back, even
	// though a ctx with a later deadline was given.
	if err := r.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), fdtest.Hang)
	_, err = r.ReadContext(ctx, buf)
	cancel()
	if !errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline earlier: err = %v, want os.ErrDeadlineExceeded only", err)
	}

	// The ctx deadline did not touch the Stream's deadline: it has passed
	// and stays passed for a call with no ctx deadline...
	_, err = r.Read(buf)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read after passed deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	// ...and clearing it makes reads wait again (here: for a ctx).
	if err := r.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err = r.ReadContext(ctx, buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("after clearing the deadline: %v, want context.Canceled", err)
	}
}

// Semantic 2 (net.Conn's rule): a deadline set while a call is blocked
// applies to that call; so does moving it later, then earlier.
func TestStreamDeadlineChangedWhileBlocked(t *testing.T) {
	watch := watchBlocks(t)
	r, w := mustPipe(t)
	w.SetWriteDeadline(time.Time{})
	errc := async(func() error {
		_, err := r.Read(make([]byte, 1))
		return err
	})
	watch.await(t, r, 1)
	r.SetReadDeadline(time.Now().Add(time.Hour))
	// A later deadline does not end the call (on the shard loops the
	// call re-reads it and blocks again; on the runtime poller the
	// runtime re-arms its timer). The check cannot prove the call stays
	// blocked forever, only that it has not returned yet.
	select {
	case err := <-errc:
		t.Fatalf("read returned %v after the deadline moved an hour later", err)
	default:
	}
	r.SetReadDeadline(time.Now().Add(-time.Second))
	if err := recvErr(t, errc); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want os.ErrDeadlineExceeded", err)
	}
}

// Semantic 3: a cancelled or timed-out read consumes nothing; the Stream
// stays usable, and a byte written afterwards is read by the next call.
func TestStreamReadContextCanceledDuring(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			watch := watchBlocks(t)
			r, w := tr.make(t)
			for i := 0; i < 3; i++ {
				ctx, cancel := context.WithCancel(context.Background())
				errc := async(func() error {
					_, err := r.ReadContext(ctx, make([]byte, 10))
					return err
				})
				watch.await(t, r, i+1)
				cancel()
				if err := recvErr(t, errc); !errors.Is(err, context.Canceled) {
					t.Fatalf("cancelled read = %v, want context.Canceled", err)
				}
				msg := fmt.Sprintf("after-%d", i)
				if _, err := w.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				if got := readN(t, r, len(msg)); string(got) != msg {
					t.Fatalf("next read = %q, want %q", got, msg)
				}
			}
		})
	}
}

// Semantic 3 for deadlines: a timed-out read consumes nothing either.
func TestStreamReadDeadlineConsumesNothing(t *testing.T) {
	r, w := mustPipe(t)
	r.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := r.Read(make([]byte, 4)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want os.ErrDeadlineExceeded", err)
	}
	r.SetReadDeadline(time.Time{})
	w.Write([]byte("late"))
	if got := readN(t, r, 4); string(got) != "late" {
		t.Fatalf("read %q, want \"late\"", got)
	}
}

// Semantic 4: Close from another goroutine unblocks every blocked call:
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

// Semantic 4: after Close, nothing touches the old fd number, even once a
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

// Semantic 4 under load: Close races with blocked and running reads and
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

// Semantic 5: errors are *os.PathError naming the op and the Stream, and
// wrap the std sentinels callers match on.
func TestStreamErrors(t *testing.T) {
	r, w := mustPipe(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	closedR, closedW := mustPipe(t)
	closedR.Close()
	closedW.Close()

	tests := []struct {
		name    string
		call    func() error
		op      string
		path    string
		is      error
		timeout bool
		text    string
	}{
		{"read canceled", func() error { _, err := r.ReadContext(canceled, make([]byte, 1)); return err },
			"read", "|0", context.Canceled, false, "read |0: context canceled"},
		{"read ctx deadline", func() error { _, err := r.ReadContext(expired, make([]byte, 1)); return err },
			"read", "|0", context.DeadlineExceeded, true, "read |0: context deadline exceeded"},
		{"write canceled", func() error { _, err := w.WriteContext(canceled, []byte("x")); return err },
			"write", "|1", context.Canceled, false, "write |1: context canceled"},
		{"read deadline", func() error {
			r.SetReadDeadline(time.Now().Add(-time.Second))
			defer r.SetReadDeadline(time.Time{})
			_, err := r.Read(make([]byte, 1))
			return err
		}, "read", "|0", os.ErrDeadlineExceeded, true, "read |0: i/o timeout"},
		{"write deadline", func() error {
			w.SetWriteDeadline(time.Now().Add(-time.Second))
			defer w.SetWriteDeadline(time.Time{})
			_, err := w.Write([]byte("x"))
			return err
		}, "write", "|1", os.ErrDeadlineExceeded, true, "write |1: i/o timeout"},
		{"read closed", func() error { _, err := closedR.Read(make([]byte, 1)); return err },
			"read", "|0", os.ErrClosed, false, "read |0: file already closed"},
		{"write closed", func() error { _, err := closedW.Write([]byte("x")); return err },
			"write", "|1", os.ErrClosed, false, "write |1: file already closed"},
		{"close twice", func() error { return closedR.Close() },
			"close", "|0", os.ErrClosed, false, "close |0: file already closed"},
		{"nil ctx write", func() error {
			//lint:ignore SA1012 a nil ctx is the bad input under test
			_, err := w.WriteContext(nil, []byte("x")) //nolint:staticcheck
			return err
		}, "write", "|1", fdstream.ErrNilContext, false, "write |1: fdstream: nil Context"},
		{"nil ctx", func() error {
			//lint:ignore SA1012 a nil ctx is the bad input under test
			_, err := r.ReadContext(nil, make([]byte, 1)) //nolint:staticcheck
			return err
		}, "read", "|0", fdstream.ErrNilContext, false, "read |0: fdstream: nil Context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var pe *os.PathError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %T %v, want *os.PathError", err, err)
			}
			if pe.Op != tt.op || pe.Path != tt.path {
				t.Errorf("Op, Path = %q, %q; want %q, %q", pe.Op, pe.Path, tt.op, tt.path)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if got := isTimeout(err); got != tt.timeout {
				t.Errorf("Timeout() = %v, want %v", got, tt.timeout)
			}
			if err.Error() != tt.text {
				t.Errorf("Error() = %q, want %q", err.Error(), tt.text)
			}
		})
	}
	// os.ErrDeadlineExceeded is a net.Error, as callers of net.Conn expect.
	r.SetReadDeadline(time.Now().Add(-time.Second))
	_, err := r.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("deadline error %v is not a net.Error with Timeout()", err)
	}
}

// Semantic 7: a regular file (which epoll refuses) works through plain
// I/O, and a done ctx is still honoured before each syscall.
func TestStreamRegularFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "file")
	s, err := fdstream.Open(path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Registered() {
		t.Fatal("a regular file was registered with the reactor")
	}
	if _, err := s.Write([]byte("hello, file")); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if n, err := s.WriteContext(canceled, []byte("never")); n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteContext(done) = %d, %v", n, err)
	}
	if err := control(s, func(fd int) error { _, err := unix.Seek(fd, 0, 0); return err }); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ReadContext(canceled, make([]byte, 5)); n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadContext(done) = %d, %v", n, err)
	}
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "hello, file" {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	// A SyscallConn callback that asks to wait cannot: plain I/O.
	rc, _ := s.SyscallConn()
	if err := rc.Read(func(uintptr) bool { return false }); !errors.Is(err, fdstream.ErrNotPollable) {
		t.Fatalf("RawConn.Read waiting on a regular file = %v, want ErrNotPollable", err)
	}
}

// /dev/null: a character device epoll refuses; writes vanish, reads EOF.
func TestStreamDevNull(t *testing.T) {
	s, err := fdstream.Open("/dev/null", os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.Write([]byte("gone")); n != 4 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if n, err := s.Read(make([]byte, 4)); n != 0 || err != io.EOF {
		t.Fatalf("Read = %d, %v; want 0, io.EOF", n, err)
	}
}

// eventfd: any pollable fd works; its 8-byte counter reads and blocks.
func TestStreamEventfd(t *testing.T) {
	watch := watchBlocks(t)
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	s, err := fdstream.NewStream(fd, "eventfd")
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	defer s.Close()
	type res struct {
		v   uint64
		err error
	}
	got := make(chan res, 1)
	go func() {
		var b [8]byte
		_, err := s.Read(b[:])
		got <- res{uint64(b[0]) | uint64(b[1])<<8, err}
	}()
	watch.await(t, s, 1)
	if _, err := s.Write([]byte{42, 1, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.err != nil || r.v != 42+256 {
			t.Fatalf("eventfd read %d, %v; want 298", r.v, r.err)
		}
	case <-time.After(fdtest.Hang):
		t.Fatal("eventfd read did not wake")
	}
}

// NewStream puts a blocking fd in non-blocking mode and Close puts it
// back; FromFile on a shared description leaves it as it found it and
// leaves the os.File usable.
func TestStreamRestoresFileStatusFlags(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	nonblock := func(f *os.File) bool {
		rc, _ := f.SyscallConn()
		var fl int
		rc.Control(func(fd uintptr) { fl, _ = unix.FcntlInt(fd, unix.F_GETFL, 0) })
		return fl&unix.O_NONBLOCK != 0
	}
	// os.Pipe's fds are non-blocking (runtime poller). Make a blocking
	// description to share, like a shell's stdin.
	fds := make([]int, 2)
	if err := unix.Pipe2(fds, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	shared := os.NewFile(uintptr(fds[0]), "shared-stdin")
	defer shared.Close()
	defer unix.Close(fds[1])
	if nonblock(shared) {
		t.Fatal("setup: shared description is non-blocking")
	}
	s, err := fdstream.FromFile(shared)
	if err != nil {
		t.Fatal(err)
	}
	if nonblock(shared) {
		t.Error("FromFile made the shared description non-blocking (reopen should have given a private one)")
	}
	unix.Write(fds[1], []byte("x"))
	if got := readN(t, s, 1); string(got) != "x" {
		t.Fatalf("read %q", got)
	}
	s.Close()
	if nonblock(shared) {
		t.Fatal("after Close the shared description is non-blocking")
	}
	// The caller's file still works.
	unix.Write(fds[1], []byte("y"))
	b := make([]byte, 1)
	if _, err := shared.Read(b); err != nil || b[0] != 'y' {
		t.Fatalf("shared file after Close: %q, %v", b, err)
	}

	// NewStream on a blocking fd: non-blocking while adopted, restored
	// on Close (observed through a dup, which shares the description).
	if err := unix.Pipe2(fds, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	dup, err := unix.Dup(fds[0])
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dup)
	s, err = fdstream.NewStream(fds[0], "adopted")
	if err != nil {
		t.Fatal(err)
	}
	if fl, _ := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0); fl&unix.O_NONBLOCK == 0 {
		t.Error("adopted fd is blocking")
	}
	s.Close()
	if fl, _ := unix.FcntlInt(uintptr(dup), unix.F_GETFL, 0); fl&unix.O_NONBLOCK != 0 {
		t.Error("Close left the shared description non-blocking")
	}
}

// FromFile on a socket cannot reopen: it dups, sets O_NONBLOCK on the shared
// description, and clears it again on Close.
func TestStreamFromFileSharedDescription(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fds[0]), "sock")
	defer f.Close()
	defer unix.Close(fds[1])
	s, err := fdstream.FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(fds[1], []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, s, 2); string(got) != "hi" {
		t.Fatalf("read %q", got)
	}
	s.Close()
	fl, _ := unix.FcntlInt(uintptr(fds[0]), unix.F_GETFL, 0)
	if fl&unix.O_NONBLOCK != 0 {
		t.Fatal("Close left the socket's shared description non-blocking")
	}
	if _, err := f.Write([]byte("ok")); err != nil {
		t.Fatalf("caller's file unusable after the Stream closed: %v", err)
	}
}

// Many concurrent readers and writers on one pipe: every record arrives
// exactly once, whole.
func TestStreamConcurrentReadersWriters(t *testing.T) {
	r, w := mustPipe(t)
	const writers, readers, each = 8, 8, 2000
	const rec = 8 // <= PIPE_BUF: one write(2) is atomic
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(id byte) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
			defer cancel()
			for j := 0; j < each; j++ {
				b := [rec]byte{id, byte(j), byte(j >> 8), 0xAA, 0xBB, 0xCC, 0xDD, 0xEE}
				if _, err := w.WriteContext(ctx, b[:]); err != nil {
					t.Error(err)
					return
				}
			}
		}(byte(i))
	}
	var mu sync.Mutex
	seen := make(map[[2]int]int)
	total := 0
	var rg sync.WaitGroup
	for i := 0; i < readers; i++ {
		rg.Add(1)
		go func() {
			defer rg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
			defer cancel()
			for {
				var b [rec]byte
				n, err := io.ReadFull(fdstream.NewReader(ctx, r), b[:])
				if err == io.EOF {
					return
				}
				if err != nil || n != rec || b[3] != 0xAA || b[7] != 0xEE {
					t.Errorf("torn record %x (%d, %v)", b, n, err)
					return
				}
				mu.Lock()
				seen[[2]int{int(b[0]), int(b[1]) | int(b[2])<<8}]++
				total++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	w.Close()
	rg.Wait()
	if total != writers*each || len(seen) != writers*each {
		t.Fatalf("got %d records (%d distinct), want %d", total, len(seen), writers*each)
	}
}

// Semantics 8 and 9 through the Stream: the select backend refuses fds at
// or above FD_SETSIZE with a clear error and the fd stays the caller's;
// the epoll backend takes them.
func TestStreamSelectRefusesLargeFd(t *testing.T) {
	sel, err := reactor.New(reactor.Config{Backend: reactor.Select, Shards: 1})
	if err != nil {
		t.Fatal(err)
	}
	fds := make([]int, 2)
	if err := unix.Pipe2(fds, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	big, err := unix.FcntlInt(uintptr(fds[0]), unix.F_DUPFD_CLOEXEC, 1500)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fdstream.NewStream(big, "big", fdstream.WithReactor(sel))
	if !errors.Is(err, reactor.ErrFDSetSize) || !strings.Contains(err.Error(), "FD_SETSIZE") {
		unix.Close(big)
		t.Fatalf("select NewStream(fd %d) = %v, want ErrFDSetSize", big, err)
	}
	if _, err := unix.FcntlInt(uintptr(big), unix.F_GETFD, 0); err != nil {
		t.Fatalf("refused fd was closed: %v", err)
	}
	if runtime.GOOS != "linux" {
		unix.Close(big)
		return
	}
	ep, err := reactor.New(reactor.Config{Backend: reactor.Epoll})
	if err != nil {
		t.Fatal(err)
	}
	s, err := fdstream.NewStream(big, "big", fdstream.WithReactor(ep))
	if err != nil {
		unix.Close(big)
		t.Fatalf("epoll NewStream(fd %d) = %v", big, err)
	}
	unix.Write(fds[1], []byte("z"))
	if got := readN(t, s, 1); string(got) != "z" {
		t.Fatalf("read %q", got)
	}
	s.Close()
}

// Semantic 9: a shard's loop runs only while it has registrations; after
// every Stream is closed no goroutine of the library is left, with no
// goleak ignore option.
func TestStreamIdleLeavesNoGoroutine(t *testing.T) {
	for _, c := range testReactors(t) {
		t.Run(c.name, func(t *testing.T) {
			if c.r.Loops() != 0 || c.r.Registrations() != 0 {
				t.Fatalf("fresh reactor: %d loops, %d registrations", c.r.Loops(), c.r.Registrations())
			}
			var streams []*fdstream.Stream
			for i := 0; i < 10; i++ {
				r, w, err := fdstream.Pipe(fdstream.WithReactor(c.r))
				if err != nil {
					t.Fatal(err)
				}
				streams = append(streams, r, w)
			}
			if c.r.Backend() == reactor.Runtime {
				// Pipes park on the Go runtime poller: the library
				// runs nothing of its own for them.
				if c.r.Loops() != 0 || c.r.Registrations() != 0 {
					t.Fatalf("with 20 streams on the runtime poller: %d loops, %d registrations", c.r.Loops(), c.r.Registrations())
				}
			} else if c.r.Loops() == 0 || c.r.Registrations() != 20 {
				t.Fatalf("with 20 streams: %d loops, %d registrations", c.r.Loops(), c.r.Registrations())
			}
			// A blocked and cancelled read leaves nothing behind either.
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			streams[0].ReadContext(ctx, make([]byte, 1))
			cancel()
			for _, s := range streams {
				s.Close()
			}
			if c.r.Loops() != 0 || c.r.Registrations() != 0 {
				t.Fatalf("after Close: %d loops, %d registrations", c.r.Loops(), c.r.Registrations())
			}
			goleak.VerifyNone(t)
		})
	}
}

type namedReactor struct {
	name string
	r    *reactor.Reactor
}

// testReactors returns one reactor of each kind this platform has, so a
// test can hold them side by side in one process.
func testReactors(t *testing.T) []namedReactor {
	var out []namedReactor
	for _, c := range []reactor.Config{
		{Backend: reactor.Runtime},
		{Backend: reactor.Epoll, Park: reactor.ParkRuntime},
		{Backend: reactor.Epoll, Park: reactor.ParkThread},
		{Backend: reactor.Select},
	} {
		r, err := reactor.New(c)
		if errors.Is(err, reactor.ErrUnsupported) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		n := c.Backend.String()
		if c.Backend == reactor.Epoll {
			n += "-" + c.Park.String()
		}
		out = append(out, namedReactor{n, r})
	}
	return out
}

// Guarantee 10, allocations (DESIGN.md invariant 5), on every backend:
// the ready path allocates nothing with any ctx (Background, a long-lived
// cancellable one, a fresh one per call); a wait allocates nothing with
// Background or with the ctx of the previous wait; a wait with a fresh
// cancellable ctx allocates no more than os.File's AfterFunc bridge does
// (measured here, in the same run).
func TestStreamZeroAllocs(t *testing.T) {
	const runs = 500
	// fresh returns n cancellable ctxs made before the measurement, so
	// that making them is not counted, and a function handing out the
	// next one.
	fresh := func(n int) (next func() context.Context, cancelAll func()) {
		ctxs := make([]context.Context, n)
		cancels := make([]context.CancelFunc, n)
		for i := range ctxs {
			ctxs[i], cancels[i] = context.WithCancel(context.Background())
		}
		k := 0
		return func() context.Context { c := ctxs[k%n]; k++; return c },
			func() {
				for _, c := range cancels {
					c()
				}
			}
	}
	// roundTrips measures one write to an echo goroutine and the read of
	// its answer, which waits, with ctxs from ctxOf.
	roundTrips := func(t *testing.T, mk func(t *testing.T) (ar, aw, br, bw ctxRW), ctxOf func() context.Context) float64 {
		ar, aw, br, bw := mk(t)
		echoCtx, stopEcho := context.WithCancel(context.Background())
		echoDone := make(chan struct{})
		go func() {
			defer close(echoDone)
			b := make([]byte, 1)
			for {
				if _, err := ar.ReadContext(echoCtx, b); err != nil {
					return
				}
				if _, err := bw.WriteContext(echoCtx, b); err != nil {
					return
				}
			}
		}()
		buf := make([]byte, 1)
		allocs := testing.AllocsPerRun(runs, func() {
			ctx := ctxOf()
			if _, err := aw.WriteContext(ctx, buf); err != nil {
				t.Fatal(err)
			}
			if _, err := br.ReadContext(ctx, buf); err != nil { // waits for the echo
				t.Fatal(err)
			}
		})
		stopEcho()
		<-echoDone
		return allocs
	}
	osPipes := func(t *testing.T) (ar, aw, br, bw ctxRW) {
		ar, aw, closeA := osPipe(t)
		br, bw, closeB := osPipe(t)
		t.Cleanup(func() { closeA(); closeB() })
		return ar, aw, br, bw
	}
	next, cancelOS := fresh(2 * (runs + 1))
	osBridge := roundTrips(t, osPipes, next)
	cancelOS()
	t.Logf("os.File with an AfterFunc bridge, a fresh ctx per round trip: %v allocs", osBridge)

	for _, c := range testReactors(t) {
		t.Run(c.name, func(t *testing.T) {
			streams := func(t *testing.T) (ar, aw, br, bw ctxRW) {
				ar1, aw1 := mustPipe(t, fdstream.WithReactor(c.r))
				br1, bw1 := mustPipe(t, fdstream.WithReactor(c.r))
				return ar1, aw1, br1, bw1
			}
			ar, aw := mustPipe(t, fdstream.WithReactor(c.r))
			long, cancelLong := context.WithCancel(context.Background())
			defer cancelLong()
			nextReady, cancelReady := fresh(runs + 1)
			defer cancelReady()
			buf := make([]byte, 1)
			for _, rc := range []struct {
				name string
				ctx  func() context.Context
			}{
				{"Background", context.Background},
				{"long-lived ctx", func() context.Context { return long }},
				{"fresh ctx per call", nextReady},
			} {
				ready := testing.AllocsPerRun(runs, func() {
					ctx := rc.ctx()
					aw.WriteContext(ctx, buf)
					ar.ReadContext(ctx, buf)
				})
				if ready != 0 {
					t.Errorf("ready path, %s: %v allocs per write+read, want 0", rc.name, ready)
				}
			}

			if got := roundTrips(t, streams, context.Background); got != 0 {
				t.Errorf("waiting path, Background: %v allocs per round trip, want 0", got)
			}
			if got := roundTrips(t, streams, func() context.Context { return long }); got != 0 {
				t.Errorf("waiting path, the ctx of the previous wait: %v allocs per round trip, want 0", got)
			}
			next, cancelAll := fresh(2 * (runs + 1))
			got := roundTrips(t, streams, next)
			cancelAll()
			t.Logf("waiting path, a fresh ctx per round trip: %v allocs (os.File's bridge: %v)", got, osBridge)
			if got > osBridge {
				t.Errorf("waiting path, a fresh ctx per round trip: %v allocs, more than os.File's bridge (%v)", got, osBridge)
			}
		})
	}
}

// FromFile on a pty master must not reopen /dev/ptmx (that would make a
// new pty): the Stream talks to the same slave as the file.
func TestStreamFromFilePTYMasterIsSamePTY(t *testing.T) {
	m, slave := mustPTY(t)
	var ptn int
	if err := control(m, func(fd int) error {
		var err error
		ptn, err = unix.IoctlGetInt(fd, unix.TIOCGPTN)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var dupFd int
	control(m, func(fd int) error {
		var err error
		dupFd, err = unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		return err
	})
	f := os.NewFile(uintptr(dupFd), "ptmx-file")
	defer f.Close()
	s, err := fdstream.FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got int
	control(s, func(fd int) error {
		var err error
		got, err = unix.IoctlGetInt(fd, unix.TIOCGPTN)
		return err
	})
	if got != ptn {
		t.Fatalf("FromFile(master of pty %d) is the master of pty %d", ptn, got)
	}
	slave.Write([]byte("same"))
	if b := readN(t, s, 4); string(b) != "same" {
		t.Fatalf("read %q", b)
	}
}

// Two Streams on one shared, originally blocking description: the first
// Close must not put the description back in blocking mode under the
// second (whose read would then block out of reach of ctx and Close); the
// last Close does.
func TestStreamSharedDescriptionRestoredByLastClose(t *testing.T) {
	watch := watchBlocks(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	f := os.NewFile(uintptr(fds[0]), "shared-sock")
	defer f.Close()
	a, err := fdstream.FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := fdstream.FromFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	fl, _ := unix.FcntlInt(uintptr(fds[0]), unix.F_GETFL, 0)
	if fl&unix.O_NONBLOCK == 0 {
		t.Fatal("the first Close made the description b still uses blocking")
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := async(func() error {
		_, err := b.ReadContext(ctx, make([]byte, 1))
		return err
	})
	watch.await(t, b, 1)
	cancel()
	if err := recvErr(t, errc); !errors.Is(err, context.Canceled) {
		t.Fatalf("b's read = %v, want context.Canceled", err)
	}
	b.Close()
	fl, _ = unix.FcntlInt(uintptr(fds[0]), unix.F_GETFL, 0)
	if fl&unix.O_NONBLOCK != 0 {
		t.Fatal("the last Close left the description non-blocking")
	}
}

// A datagram socket's empty datagram is 0, nil, not end of stream.
func TestStreamEmptyDatagramIsNotEOF(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	r, err := fdstream.NewStream(fds[0], "dgram0")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer unix.Close(fds[1])
	unix.Write(fds[1], nil)
	unix.Write(fds[1], []byte("d"))
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	buf := make([]byte, 8)
	if n, err := r.ReadContext(ctx, buf); n != 0 || err != nil {
		t.Fatalf("empty datagram: %d, %v; want 0, nil", n, err)
	}
	if n, err := r.ReadContext(ctx, buf); n != 1 || err != nil || buf[0] != 'd' {
		t.Fatalf("next datagram: %d %q, %v", n, buf[:n], err)
	}
}

// Plain I/O runs on a blocking fd: Open's own O_NONBLOCK is cleared again
// for a regular file.
func TestStreamPlainIOIsBlocking(t *testing.T) {
	s, err := fdstream.Open(filepath.Join(t.TempDir(), "f"), os.O_RDWR|os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	control(s, func(fd int) error {
		if fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); fl&unix.O_NONBLOCK != 0 {
			t.Error("regular file left O_NONBLOCK")
		}
		return nil
	})
}

// A pty slave whose master closed reads io.EOF: the kernel answers EIO
// or 0 depending on whether it has finished hanging the slave up, and
// both are end of stream. Repeated so that both orders occur.
func TestStreamPTYSlaveEOFWhenMasterGone(t *testing.T) {
	watch := watchBlocks(t)
	for i := 0; i < 50; i++ {
		master, slave := mustPTY(t)
		errc := async(func() error {
			_, err := slave.Read(make([]byte, 8))
			return err
		})
		if i%2 == 0 {
			watch.await(t, slave, 1) // blocked first, then hung up
		}
		master.Close()
		if err := recvErr(t, errc); err != io.EOF {
			t.Fatalf("round %d: slave Read after master closed = %v, want io.EOF", i, err)
		}
		if _, err := slave.Read(make([]byte, 8)); err != io.EOF {
			t.Fatalf("round %d: second slave Read = %v, want io.EOF", i, err)
		}
		slave.Close()
		watch.mu.Lock()
		delete(watch.waiting, slave)
		watch.mu.Unlock()
	}
}
