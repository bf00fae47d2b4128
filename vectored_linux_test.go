//go:build linux

package fdstream_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/internal/fdtest"
)

// vector cuts b into pieces of the given sizes (repeated), with a nil and
// an empty buffer between every two.
func vector(b []byte, sizes ...int) [][]byte {
	var v [][]byte
	for i := 0; len(b) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(b))
		v = append(v, b[:n:n], nil, []byte{})
		b = b[n:]
	}
	return v
}

// Guarantee 16: WriteBuffersContext writes every byte of every buffer, in
// order, skipping nil and empty ones, with any number of buffers (more
// than IOV_MAX goes in several writev calls), on every reactor, waiting
// for room as often as it must, and n is the total.
func TestStreamWriteBuffersWritesAll(t *testing.T) {
	for _, r := range testReactors(t) {
		for _, tc := range []struct {
			name  string
			size  int
			sizes []int
		}{
			{"16x1KiB", 16 << 10, []int{1 << 10}},
			{"1MiB in odd pieces", 1 << 20, []int{1, 4093, 70000, 3}},
			{"more than IOV_MAX buffers", 3*fdstream.IOVMax*10 + 7, []int{10}},
		} {
			t.Run(r.name+"/"+tc.name, func(t *testing.T) {
				pr, pw := mustPipe(t, fdstream.WithReactor(r.r))
				payload := randomBytes(tc.size, int64(tc.size))
				bufs := vector(payload, tc.sizes...)
				orig := append([][]byte(nil), bufs...)
				got := collect(t, pr, len(payload))
				ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
				defer cancel()
				n, err := pw.WriteBuffersContext(ctx, bufs)
				if n != int64(len(payload)) || err != nil {
					t.Fatalf("WriteBuffersContext = %d, %v; want %d, nil", n, err, len(payload))
				}
				if b := <-got; !bytes.Equal(b, payload) {
					t.Fatal("the bytes read differ from the vector written")
				}
				for i := range bufs {
					if len(bufs[i]) != len(orig[i]) || (len(bufs[i]) > 0 && &bufs[i][0] != &orig[i][0]) {
						t.Fatalf("WriteBuffersContext changed bufs[%d]", i)
					}
				}
			})
		}
	}
}

// Guarantee 16: ReadBuffersContext fills the buffers in order, skipping
// nil and empty ones, returns as soon as one readv got something, returns
// 0, nil at once with no room (consuming nothing), and 0, io.EOF at the
// end, twice; it blocks until bytes come.
func TestStreamReadBuffersFillsInOrder(t *testing.T) {
	watch := watchBlocks(t)
	for _, r := range testReactors(t) {
		t.Run(r.name, func(t *testing.T) {
			watch.reset()
			pr, pw := mustPipe(t, fdstream.WithReactor(r.r))
			bg := context.Background()
			if _, err := pw.Write([]byte("abcdefghij")); err != nil {
				t.Fatal(err)
			}
			if n, err := pr.ReadBuffersContext(bg, [][]byte{nil, {}}); n != 0 || err != nil {
				t.Fatalf("ReadBuffersContext(no room) = %d, %v", n, err)
			}
			a, b, c := make([]byte, 3), make([]byte, 4), make([]byte, 10)
			n, err := pr.ReadBuffersContext(bg, [][]byte{a, nil, {}, b, c})
			if n != 10 || err != nil || string(a) != "abc" || string(b) != "defg" || string(c[:3]) != "hij" {
				t.Fatalf("ReadBuffersContext = %d, %v, %q %q %q", n, err, a, b, c)
			}
			done := make(chan error, 1)
			go func() {
				n, err := pr.ReadBuffersContext(bg, [][]byte{a, b})
				if err == nil && (n != 2 || string(a[:2]) != "xy") {
					err = errors.New("got " + strconv.Itoa(int(n)) + " bytes: " + string(a[:n]))
				}
				done <- err
			}()
			watch.await(t, pr, 1)
			pw.Write([]byte("xy"))
			if err := recvErr(t, done); err != nil {
				t.Fatalf("blocked ReadBuffersContext: %v", err)
			}
			pw.Close()
			for i := 0; i < 2; i++ {
				if n, err := pr.ReadBuffersContext(bg, [][]byte{a}); n != 0 || err != io.EOF {
					t.Fatalf("ReadBuffersContext at end of stream = %d, %v", n, err)
				}
			}
		})
	}
}

// Guarantee 16, cancellation loses nothing: a WriteBuffersContext whose
// ctx is cancelled while it waits for room reports exactly what reached
// the pipe, byte for byte; a ReadBuffersContext cancelled while it waits
// consumes nothing; a ctx done at entry does no I/O; deadlines apply; and
// the Stream stays usable.
func TestStreamVectoredCancelLosesNothing(t *testing.T) {
	watch := watchBlocks(t)
	for _, r := range testReactors(t) {
		t.Run(r.name, func(t *testing.T) {
			watch.reset()
			pr, pw := mustPipe(t, fdstream.WithReactor(r.r))
			payload := randomBytes(1<<20, 1)
			ctx, cancel := context.WithCancel(context.Background())
			type res struct {
				n   int64
				err error
			}
			done := make(chan res, 1)
			go func() {
				n, err := pw.WriteBuffersContext(ctx, vector(payload, 5000, 1, 333))
				done <- res{n, err}
			}()
			watch.await(t, pw, 1)
			cancel()
			got := <-done
			if got.n <= 0 || got.n >= int64(len(payload)) || !errors.Is(got.err, context.Canceled) {
				t.Fatalf("cancelled WriteBuffersContext = %d, %v", got.n, got.err)
			}
			if b := readN(t, pr, int(got.n)); !bytes.Equal(b, payload[:got.n]) {
				t.Fatal("the pipe holds other bytes than the ones reported written")
			}

			ctx, cancel = context.WithCancel(context.Background())
			rdone := async(func() error {
				_, err := pr.ReadBuffersContext(ctx, [][]byte{make([]byte, 8)})
				return err
			})
			watch.await(t, pr, 1)
			cancel()
			if err := recvErr(t, rdone); !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled ReadBuffersContext = %v", err)
			}
			// Nothing was there to lose; now check nothing is lost later.
			if n, err := pw.WriteBuffersContext(context.Background(), [][]byte{[]byte("after")}); n != 5 || err != nil {
				t.Fatalf("WriteBuffersContext after a cancel = %d, %v", n, err)
			}
			if b := readN(t, pr, 5); string(b) != "after" {
				t.Fatalf("read %q after a cancelled ReadBuffersContext", b)
			}

			pw.Write([]byte("z"))
			if n, err := pw.WriteBuffersContext(ctx, [][]byte{[]byte("no")}); n != 0 || !errors.Is(err, context.Canceled) {
				t.Fatalf("WriteBuffersContext(done ctx) = %d, %v", n, err)
			}
			if n, err := pr.ReadBuffersContext(ctx, [][]byte{make([]byte, 1)}); n != 0 || !errors.Is(err, context.Canceled) {
				t.Fatalf("ReadBuffersContext(done ctx) = %d, %v", n, err)
			}
			pr.SetReadDeadline(time.Now().Add(-time.Second))
			if n, err := pr.ReadBuffersContext(context.Background(), [][]byte{make([]byte, 1)}); n != 0 || !isTimeout(err) {
				t.Fatalf("ReadBuffersContext past the deadline = %d, %v", n, err)
			}
			pr.SetReadDeadline(time.Time{})
			if b := readN(t, pr, 1); string(b) != "z" {
				t.Fatalf("read %q, want the byte no call consumed", b)
			}
		})
	}
}

// Guarantee 16, allocations: on every reactor, a 16-buffer write and a
// 16-buffer read allocate nothing on the ready path, and nothing when the
// read waits with Background.
func TestStreamVectoredZeroAllocs(t *testing.T) {
	for _, r := range testReactors(t) {
		t.Run(r.name, func(t *testing.T) {
			pr, pw := mustPipe(t, fdstream.WithReactor(r.r))
			out := make([][]byte, 16)
			in := make([][]byte, 16)
			for i := range out {
				out[i] = make([]byte, 1<<10)
				in[i] = make([]byte, 1<<10)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ready := testing.AllocsPerRun(200, func() {
				if _, err := pw.WriteBuffersContext(ctx, out); err != nil {
					t.Fatal(err)
				}
				if n, err := pr.ReadBuffersContext(ctx, in); n != 16<<10 || err != nil {
					t.Fatal(n, err)
				}
			})
			if ready != 0 {
				t.Errorf("ready path: %v allocs per 16-buffer write and read, want 0", ready)
			}

			// A wait: an echo goroutine answers each byte.
			ar, aw := mustPipe(t, fdstream.WithReactor(r.r))
			br, bw := mustPipe(t, fdstream.WithReactor(r.r))
			echoCtx, stopEcho := context.WithCancel(context.Background())
			echoDone := make(chan struct{})
			go func() {
				defer close(echoDone)
				b := [][]byte{make([]byte, 1)}
				for {
					if _, err := ar.ReadBuffersContext(echoCtx, b); err != nil {
						return
					}
					if _, err := bw.WriteBuffersContext(echoCtx, b); err != nil {
						return
					}
				}
			}()
			one := [][]byte{make([]byte, 1)}
			waiting := testing.AllocsPerRun(200, func() {
				if _, err := aw.WriteBuffersContext(context.Background(), one); err != nil {
					t.Fatal(err)
				}
				if _, err := br.ReadBuffersContext(context.Background(), one); err != nil {
					t.Fatal(err)
				}
			})
			stopEcho()
			<-echoDone
			if waiting != 0 {
				t.Errorf("waiting path, Background: %v allocs per round trip, want 0", waiting)
			}
		})
	}
}

// syscw returns the write-type syscalls (write, writev, pwrite...) this
// process has made, as the kernel counts them (/proc/self/io).
func syscw(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Fatalf("the kernel's syscall counter is needed: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("/proc/self/io has no syscw line")
	return 0
}

// Guarantee 16: 16 buffers of 1 KiB go in one writev, against 16 writes
// for 16 WriteContext calls: at least 3 times fewer syscalls, counted by
// the kernel (so a retry after EAGAIN would count too).
func TestStreamWriteBuffersFewerSyscalls(t *testing.T) {
	pr, pw := mustPipe(t)
	bufs := make([][]byte, 16)
	for i := range bufs {
		bufs[i] = bytes.Repeat([]byte{byte(i)}, 1<<10)
	}
	sink := make([]byte, 16<<10)
	ctx := context.Background()
	const rounds = 100
	count := func(write func()) int64 {
		before := syscw(t)
		for i := 0; i < rounds; i++ {
			write()
			if _, err := io.ReadFull(pr, sink); err != nil { // reads count as syscr
				t.Fatal(err)
			}
		}
		return syscw(t) - before
	}
	vectored := count(func() {
		if _, err := pw.WriteBuffersContext(ctx, bufs); err != nil {
			t.Fatal(err)
		}
	})
	plain := count(func() {
		for _, b := range bufs {
			if _, err := pw.WriteContext(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Logf("write syscalls per 16 x 1 KiB: WriteBuffersContext %.2f, 16 WriteContext %.2f",
		float64(vectored)/rounds, float64(plain)/rounds)
	if vectored*3 > plain {
		t.Fatalf("WriteBuffersContext made %d write syscalls, 16 WriteContext calls %d: want at least 3 times fewer", vectored, plain)
	}
}

// Guarantee 12 for vectored I/O: nil vectors, nil buffers, more buffers
// than IOV_MAX, closed, nil and zero Streams and a nil ctx give the
// result or error their docs name; a regular file gets plain I/O.
func TestBadInputVectored(t *testing.T) {
	pr, pw := mustPipe(t)
	bg := context.Background()
	if n, err := pw.WriteBuffersContext(bg, nil); n != 0 || err != nil {
		t.Errorf("WriteBuffersContext(nil) = %d, %v", n, err)
	}
	if n, err := pw.WriteBuffersContext(bg, [][]byte{nil, {}, nil}); n != 0 || err != nil {
		t.Errorf("WriteBuffersContext(nil buffers) = %d, %v", n, err)
	}
	if n, err := pr.ReadBuffersContext(bg, nil); n != 0 || err != nil {
		t.Errorf("ReadBuffersContext(nil) = %d, %v", n, err)
	}
	many := make([][]byte, 5*fdstream.IOVMax)
	for i := range many {
		many[i] = []byte{byte(i)}
	}
	if n, err := pw.WriteBuffersContext(bg, many); n != int64(len(many)) || err != nil {
		t.Fatalf("WriteBuffersContext(%d buffers) = %d, %v", len(many), n, err)
	}
	in := make([][]byte, len(many))
	for i := range in {
		in[i] = make([]byte, 1)
	}
	got := 0
	for got < len(many) {
		n, err := pr.ReadBuffersContext(bg, in[got:])
		if err != nil {
			t.Fatalf("ReadBuffersContext(%d buffers) after %d bytes: %v", len(in)-got, got, err)
		}
		got += int(n)
	}
	for i := range in {
		if in[i][0] != byte(i) {
			t.Fatalf("byte %d is %d after a vectored round trip of %d buffers", i, in[i][0], len(many))
		}
	}
	//lint:ignore SA1012 a nil ctx is the bad input under test
	if _, err := pw.WriteBuffersContext(nil, many); !errors.Is(err, fdstream.ErrNilContext) { //nolint:staticcheck
		t.Errorf("WriteBuffersContext(nil ctx) = %v", err)
	}
	//lint:ignore SA1012 a nil ctx is the bad input under test
	if _, err := pr.ReadBuffersContext(nil, in); !errors.Is(err, fdstream.ErrNilContext) { //nolint:staticcheck
		t.Errorf("ReadBuffersContext(nil ctx) = %v", err)
	}
	var nilStream *fdstream.Stream
	var zero fdstream.Stream
	for _, s := range []*fdstream.Stream{nilStream, &zero} {
		if _, err := s.WriteBuffersContext(bg, many); err != os.ErrInvalid {
			t.Errorf("WriteBuffersContext on a nil or zero Stream = %v", err)
		}
		if _, err := s.ReadBuffersContext(bg, in); err != os.ErrInvalid {
			t.Errorf("ReadBuffersContext on a nil or zero Stream = %v", err)
		}
	}
	pr.Close()
	pw.Close()
	var pe *os.PathError
	if _, err := pw.WriteBuffersContext(bg, many); !errors.Is(err, os.ErrClosed) || !errors.As(err, &pe) || pe.Op != "writev" {
		t.Errorf("WriteBuffersContext after Close = %v", err)
	}
	if _, err := pr.ReadBuffersContext(bg, in); !errors.Is(err, os.ErrClosed) || !errors.As(err, &pe) || pe.Op != "readv" {
		t.Errorf("ReadBuffersContext after Close = %v", err)
	}
	if _, err := pr.ReadBuffersContext(bg, nil); !errors.Is(err, os.ErrClosed) {
		t.Errorf("ReadBuffersContext(no room) after Close = %v", err)
	}

	// A regular file: plain readv and writev.
	path := filepath.Join(t.TempDir(), "f")
	f, err := fdstream.Open(path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	payload := randomBytes(100000, 4)
	if n, err := f.WriteBuffersContext(bg, vector(payload, 999, 7)); n != int64(len(payload)) || err != nil {
		t.Fatalf("WriteBuffersContext to a regular file = %d, %v", n, err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, payload) {
		t.Fatal("the regular file holds other bytes")
	}
}
