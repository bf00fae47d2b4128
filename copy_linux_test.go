//go:build linux

package fdstream_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/internal/fdtest"
)

// copyEnds are the four Streams of a copy: bytes written to srcW are read
// from srcR, copied to dstW, and read from dstR.
type copyEnds struct {
	srcR, srcW, dstR, dstW *fdstream.Stream
}

type copyCase struct {
	name string
	// path is the way a copy from srcR to dstW goes, as the test hook
	// names it, when splice is not turned off.
	path string
	make func(t *testing.T, opts ...fdstream.Option) copyEnds
	// closeSafe: closing dstW leaves what dstR has not read yet readable
	// (false for a pty, whose slave loses unread input when its master
	// closes).
	closeSafe bool
}

func pipeEnds(t *testing.T, opts ...fdstream.Option) (r, w *fdstream.Stream) {
	return mustPipe(t, opts...)
}

func sockEnds(t *testing.T, opts ...fdstream.Option) (r, w *fdstream.Stream) {
	a, b := mustSocketpair(t, opts...)
	return a, b // a reads what b writes
}

// ptyEnds returns a raw pty's master, which reads what its slave writes.
func ptyEnds(t *testing.T, opts ...fdstream.Option) (r, w *fdstream.Stream) {
	m, s := mustPTY(t, opts...)
	return m, s
}

// ptySlaveEnds returns a raw pty's slave, which reads what its master
// writes.
func ptySlaveEnds(t *testing.T, opts ...fdstream.Option) (r, w *fdstream.Stream) {
	m, s := mustPTY(t, opts...)
	return s, m
}

func makeCopyEnds(src, dst func(t *testing.T, opts ...fdstream.Option) (r, w *fdstream.Stream)) func(t *testing.T, opts ...fdstream.Option) copyEnds {
	return func(t *testing.T, opts ...fdstream.Option) copyEnds {
		var e copyEnds
		e.srcR, e.srcW = src(t, opts...)
		e.dstR, e.dstW = dst(t, opts...)
		return e
	}
}

var copyCases = []copyCase{
	{"pipe-pipe", "splice", makeCopyEnds(pipeEnds, pipeEnds), true},
	{"pipe-socketpair", "splice", makeCopyEnds(pipeEnds, sockEnds), true},
	{"socketpair-pipe", "splice", makeCopyEnds(sockEnds, pipeEnds), true},
	{"socketpair-socketpair", "splice-pipe", makeCopyEnds(sockEnds, sockEnds), true},
	{"pty-socketpair", "splice-pipe", makeCopyEnds(ptyEnds, sockEnds), true},
	{"pipe-pty", "splice", makeCopyEnds(pipeEnds, ptySlaveEnds), false},
}

// watchCopyPaths records the ways copies go, for the duration of t.
func watchCopyPaths(t *testing.T) func() []string {
	var mu sync.Mutex
	var paths []string
	fdstream.SetTestHookCopyPath(func(p string) {
		mu.Lock()
		paths = append(paths, p)
		mu.Unlock()
	})
	t.Cleanup(func() { fdstream.SetTestHookCopyPath(nil) })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := paths
		paths = nil
		return out
	}
}

// noSplice turns splice off for the duration of t when off is true.
func noSplice(t *testing.T, off bool) {
	fdstream.SetTestHookNoSplice(off)
	t.Cleanup(func() { fdstream.SetTestHookNoSplice(false) })
}

// spliceModes are the two ways every copy case is run: as it goes, and
// with splice turned off (the buffered loop between two Streams).
var spliceModes = []struct {
	name string
	off  bool
}{{"splice", false}, {"buffered", true}}

// bigPayload is more than every buffer on a copy's way (two pipes or
// socket buffers and a 1 MiB private pipe) holds, so that a copy fed
// with it ends up waiting for room in its destination.
var bigPayload = sync.OnceValue(func() []byte { return randomBytes(3<<20, 99) })

func randomBytes(n int, seed int64) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// readUntilEOF reads s until io.EOF, failing the test on any other error
// or a hang.
func readUntilEOF(t *testing.T, s *fdstream.Stream) []byte {
	t.Helper()
	b, err := readAllBounded(s, -1)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readAllBounded reads s until io.EOF, or until it has n bytes (n >= 0),
// within the hang bound; it may run in any goroutine.
func readAllBounded(s *fdstream.Stream, n int) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	var r io.Reader = fdstream.NewReader(ctx, s)
	if n >= 0 {
		r = io.LimitReader(r, int64(n))
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return b, fmt.Errorf("reading %s: %v after %d bytes", s.Name(), err, len(b))
	}
	if n >= 0 && len(b) != n {
		return b, fmt.Errorf("reading %s: end of stream after %d of %d bytes", s.Name(), len(b), n)
	}
	return b, nil
}

// collect reads s in a goroutine, as readAllBounded, and sends what it
// got; a failure fails the test.
func collect(t *testing.T, s *fdstream.Stream, n int) <-chan []byte {
	out := make(chan []byte, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b, err := readAllBounded(s, n)
		if err != nil {
			t.Error(err)
		}
		out <- b
	}()
	t.Cleanup(func() { <-done })
	return out
}

// Guarantee 15: Copy between two Streams moves every byte, in order, on
// every reactor, by splice where the kernel can (straight when either end
// is a pipe, through a private pipe between a socket and a tty) and by
// the buffered loop otherwise, and returns n == the bytes moved and nil
// at end of stream.
func TestCopyMovesEverything(t *testing.T) {
	paths := watchCopyPaths(t)
	for _, r := range testReactors(t) {
		for _, cc := range copyCases {
			for _, mode := range spliceModes {
				t.Run(r.name+"/"+cc.name+"/"+mode.name, func(t *testing.T) {
					noSplice(t, mode.off)
					e := cc.make(t, fdstream.WithReactor(r.r))
					size := 1 << 20
					if strings.Contains(cc.name, "pty") {
						size = 64 << 10 // a pty moves a few KiB per wake-up
					}
					payload := randomBytes(size, int64(len(cc.name)))
					paths()
					werr := async(func() error {
						defer e.srcW.Close()
						_, err := e.srcW.Write(payload)
						return err
					})
					got := collect(t, e.dstR, len(payload))
					ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
					defer cancel()
					n, err := fdstream.Copy(ctx, e.dstW, e.srcR)
					if n != int64(len(payload)) || err != nil {
						t.Fatalf("Copy = %d, %v; want %d, nil", n, err, len(payload))
					}
					if err := recvErr(t, werr); err != nil {
						t.Fatalf("writer: %v", err)
					}
					if b := <-got; !bytes.Equal(b, payload) {
						t.Fatal("the bytes read differ from the bytes written")
					}
					want := cc.path
					if mode.off {
						want = "buffered"
					}
					if p := paths(); len(p) != 1 || p[0] != want {
						t.Fatalf("copy went %v, want [%s]", p, want)
					}
				})
			}
		}
	}
}

// Guarantee 15: io.Copy, io.CopyN, bufio.Reader.WriteTo and
// bufio.Writer.ReadFrom find Stream's WriteTo and ReadFrom and splice;
// a LimitedReader's limit is kept exactly and its N brought down.
func TestCopyStdlibFindsReadFromWriteTo(t *testing.T) {
	var _ io.ReaderFrom = (*fdstream.Stream)(nil)
	var _ io.WriterTo = (*fdstream.Stream)(nil)
	paths := watchCopyPaths(t)
	payload := randomBytes(300<<10, 7)
	for _, tc := range []struct {
		name string
		copy func(dst, src *fdstream.Stream) (int64, error)
		want int // bytes that must move
	}{
		{"io.Copy", func(dst, src *fdstream.Stream) (int64, error) { return io.Copy(dst, src) }, len(payload)},
		{"io.CopyN", func(dst, src *fdstream.Stream) (int64, error) { return io.CopyN(dst, src, 100000) }, 100000},
		{"bufio.Reader.WriteTo", func(dst, src *fdstream.Stream) (int64, error) { return bufio.NewReader(src).WriteTo(dst) }, len(payload)},
		{"bufio.Writer.ReadFrom", func(dst, src *fdstream.Stream) (int64, error) {
			bw := bufio.NewWriter(dst)
			n, err := bw.ReadFrom(src)
			if err == nil {
				err = bw.Flush()
			}
			return n, err
		}, len(payload)},
		{"ReadFromContext(LimitedReader)", func(dst, src *fdstream.Stream) (int64, error) {
			lr := &io.LimitedReader{R: src, N: 12345}
			n, err := dst.ReadFromContext(context.Background(), lr)
			if lr.N != 12345-n {
				t.Errorf("LimitedReader.N = %d after copying %d of 12345", lr.N, n)
			}
			return n, err
		}, 12345},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sr, sw := mustPipe(t)
			dr, dw := mustPipe(t)
			werr := async(func() error {
				defer sw.Close()
				_, err := sw.Write(payload)
				return err
			})
			got := collect(t, dr, tc.want)
			paths()
			n, err := tc.copy(dw, sr)
			if n != int64(tc.want) || err != nil {
				t.Fatalf("copy = %d, %v; want %d, nil", n, err, tc.want)
			}
			if b := <-got; !bytes.Equal(b, payload[:tc.want]) {
				t.Fatal("the bytes read differ from the bytes written")
			}
			if p := paths(); len(p) != 1 || p[0] != "splice" {
				t.Fatalf("copy went %v, want [splice]", p)
			}
			// What the copy did not take is still in the source.
			if rest := readUntilEOF(t, sr); !bytes.Equal(rest, payload[tc.want:]) {
				t.Fatalf("the source holds %d bytes after the copy, want %d", len(rest), len(payload)-tc.want)
			}
			if err := recvErr(t, werr); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// checkCopyAccounting verifies, byte for byte, that a copy which stopped
// early lost nothing: what dstR holds (exactly n bytes), then the bytes
// the copy handed back in a *CopyError, then what is left in srcR, are
// together what the writer put into srcW (sent). It returns how many
// bytes the copy handed back.
func checkCopyAccounting(t *testing.T, e copyEnds, n int64, err error, sent []byte) int {
	t.Helper()
	var unwritten []byte
	var ce *fdstream.CopyError
	if errors.As(err, &ce) {
		unwritten = ce.Unwritten
	}
	e.dstW.Close()
	moved := readUntilEOF(t, e.dstR)
	if int64(len(moved)) != n {
		t.Fatalf("the copy reported %d bytes, the destination got %d", n, len(moved))
	}
	e.srcW.Close()
	rest := readUntilEOF(t, e.srcR)
	all := append(append(append([]byte(nil), moved...), unwritten...), rest...)
	if !bytes.Equal(all, sent) {
		i := 0
		for i < len(all) && i < len(sent) && all[i] == sent[i] {
			i++
		}
		t.Fatalf("moved %d + handed back %d + left %d bytes = %d, sent %d; first difference at %d",
			len(moved), len(unwritten), len(rest), len(all), len(sent), i)
	}
	return len(unwritten)
}

// startFeeding writes payload to w in a goroutine until it is all written
// or the returned stop is called; stop returns the bytes that reached w.
// The reader going away (EPIPE, ECONNRESET, a pty's EIO) also ends it.
func startFeeding(t *testing.T, w *fdstream.Stream, payload []byte) (stop func() []byte) {
	ctx, cancel := context.WithCancel(context.Background())
	type res struct {
		n   int
		err error
	}
	done := make(chan res, 1)
	go func() {
		n, err := w.WriteContext(ctx, payload)
		done <- res{n, err}
	}()
	var once sync.Once
	var sent []byte
	stop = func() []byte {
		once.Do(func() {
			cancel()
			select {
			case r := <-done:
				if r.err != nil && !errors.Is(r.err, context.Canceled) &&
					!errors.Is(r.err, unix.EPIPE) && !errors.Is(r.err, unix.ECONNRESET) && !errors.Is(r.err, unix.EIO) {
					t.Errorf("feeding %s: %v", w.Name(), r.err)
				}
				sent = payload[:r.n]
			case <-time.After(fdtest.Hang):
				t.Fatal("the feeder did not stop")
			}
		})
		return sent
	}
	t.Cleanup(func() { stop() })
	return stop
}

// Guarantee 15, cancellation loses nothing: a Copy whose ctx is cancelled
// while it waits for the destination (full) has moved exactly the n it
// reports, verified byte for byte; bytes it had taken from the source
// but not written come back in a *CopyError (through the private pipe,
// or the buffered loop's buffer), and the straight splice strands none.
func TestCopyCanceledMidTransferLosesNothing(t *testing.T) {
	watch := watchBlocks(t)
	for _, r := range testReactors(t) {
		for _, cc := range copyCases {
			if !cc.closeSafe {
				continue
			}
			for _, mode := range spliceModes {
				t.Run(r.name+"/"+cc.name+"/"+mode.name, func(t *testing.T) {
					noSplice(t, mode.off)
					watch.reset()
					e := cc.make(t, fdstream.WithReactor(r.r))
					payload := bigPayload()
					stop := startFeeding(t, e.srcW, payload)
					ctx, cancel := context.WithCancel(context.Background())
					type res struct {
						n   int64
						err error
					}
					done := make(chan res, 1)
					go func() {
						n, err := fdstream.Copy(ctx, e.dstW, e.srcR)
						done <- res{n, err}
					}()
					watch.await(t, e.dstW, 1) // nobody reads dstR: the copy waits for room
					cancel()
					var got res
					select {
					case got = <-done:
					case <-time.After(fdtest.Hang):
						t.Fatal("Copy did not return after its ctx was cancelled")
					}
					if !errors.Is(got.err, context.Canceled) {
						t.Fatalf("Copy = %d, %v; want context.Canceled", got.n, got.err)
					}
					sent := stop()
					handed := checkCopyAccounting(t, e, got.n, got.err, sent)
					wantHanded := mode.off || cc.path == "splice-pipe"
					if (handed > 0) != wantHanded {
						t.Fatalf("the copy handed back %d bytes; want some: %v", handed, wantHanded)
					}
				})
			}
		}
	}
}

// Guarantee 15: a Close of either Stream of a Copy, from another
// goroutine, ends it at once, whether it waits to read the source or to
// write the destination, with os.ErrClosed naming the closed Stream.
func TestCopyCloseEitherEndUnblocks(t *testing.T) {
	watch := watchBlocks(t)
	for _, r := range testReactors(t) {
		for _, cc := range copyCases {
			if !cc.closeSafe {
				continue
			}
			for _, mode := range spliceModes {
				for _, tc := range []struct {
					name     string
					fullDst  bool // the copy waits for room in dst, not for bytes from src
					closeDst bool
				}{
					{"reading/close-src", false, false},
					{"reading/close-dst", false, true},
					{"writing/close-src", true, false},
					{"writing/close-dst", true, true},
				} {
					t.Run(r.name+"/"+cc.name+"/"+mode.name+"/"+tc.name, func(t *testing.T) {
						noSplice(t, mode.off)
						watch.reset()
						e := cc.make(t, fdstream.WithReactor(r.r))
						if tc.fullDst {
							startFeeding(t, e.srcW, bigPayload())
						}
						done := async(func() error {
							_, err := fdstream.Copy(context.Background(), e.dstW, e.srcR)
							return err
						})
						if tc.fullDst {
							watch.await(t, e.dstW, 1)
						} else {
							watch.await(t, e.srcR, 1)
						}
						closed := e.srcR
						if tc.closeDst {
							closed = e.dstW
						}
						if err := closed.Close(); err != nil {
							t.Fatalf("Close = %v", err)
						}
						err := recvErr(t, done)
						var pe *os.PathError
						if !errors.Is(err, os.ErrClosed) || !errors.As(err, &pe) || pe.Path != closed.Name() {
							t.Fatalf("Copy = %v; want os.ErrClosed naming %s", err, closed.Name())
						}
					})
				}
			}
		}
	}
}

// Guarantee 15: deadlines apply to a copy between Streams: the source's
// read deadline to its waits for bytes (set before, or changed while it
// waits), the destination's write deadline to its waits for room; a
// deadline already past stops it before it takes anything; and the count
// stays exact.
func TestCopyDeadlinesApply(t *testing.T) {
	watch := watchBlocks(t)
	for _, r := range testReactors(t) {
		for _, cc := range copyCases {
			if !cc.closeSafe {
				continue
			}
			t.Run(r.name+"/"+cc.name, func(t *testing.T) {
				t.Run("read deadline changed while waiting", func(t *testing.T) {
					watch.reset()
					e := cc.make(t, fdstream.WithReactor(r.r))
					if _, err := e.srcW.Write([]byte("hello")); err != nil {
						t.Fatal(err)
					}
					done := make(chan error, 1)
					var n int64
					go func() {
						var err error
						n, err = e.dstW.ReadFrom(e.srcR)
						done <- err
					}()
					watch.await(t, e.srcR, 1)
					e.srcR.SetReadDeadline(time.Now().Add(-time.Second))
					err := recvErr(t, done)
					if n != 5 || !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) {
						t.Fatalf("ReadFrom = %d, %v; want 5, a timeout", n, err)
					}
					if got := readN(t, e.dstR, 5); string(got) != "hello" {
						t.Fatalf("the destination got %q", got)
					}
				})
				t.Run("write deadline while the destination is full", func(t *testing.T) {
					watch.reset()
					e := cc.make(t, fdstream.WithReactor(r.r))
					stop := startFeeding(t, e.srcW, bigPayload())
					if err := e.dstW.SetWriteDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
						t.Fatal(err)
					}
					n, err := e.srcR.WriteTo(e.dstW)
					if !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) {
						t.Fatalf("WriteTo = %d, %v; want a timeout", n, err)
					}
					checkCopyAccounting(t, e, n, err, stop())
				})
				t.Run("deadline past at entry", func(t *testing.T) {
					e := cc.make(t, fdstream.WithReactor(r.r))
					if _, err := e.srcW.Write([]byte("kept")); err != nil {
						t.Fatal(err)
					}
					e.srcR.SetReadDeadline(time.Now().Add(-time.Second))
					n, err := io.Copy(e.dstW, e.srcR)
					if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
						t.Fatalf("io.Copy = %d, %v; want 0, a timeout", n, err)
					}
					e.srcR.SetReadDeadline(time.Time{})
					if got := readN(t, e.srcR, 4); string(got) != "kept" {
						t.Fatalf("the source lost its bytes: %q", got)
					}
				})
			})
		}
	}
}

// Guarantee 15: a ctx done at entry moves nothing, and a nil ctx is an
// error, for copies between Streams and with other readers and writers.
func TestCopyContextDoneAtEntry(t *testing.T) {
	sr, sw := mustPipe(t)
	_, dw := mustPipe(t)
	sw.Write([]byte("stay"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, call := range []func() (int64, error){
		func() (int64, error) { return fdstream.Copy(ctx, dw, sr) },
		func() (int64, error) { return dw.ReadFromContext(ctx, sr) },
		func() (int64, error) { return sr.WriteToContext(ctx, dw) },
		func() (int64, error) { return sr.WriteToContext(ctx, io.Discard) },
	} {
		if n, err := call(); n != 0 || !errors.Is(err, context.Canceled) {
			t.Fatalf("copy with a done ctx = %d, %v", n, err)
		}
	}
	sreader := strings.NewReader("also stays")
	if n, err := dw.ReadFromContext(ctx, sreader); n != 0 || !errors.Is(err, context.Canceled) || sreader.Len() != 10 {
		t.Fatalf("ReadFromContext(done ctx, reader) = %d, %v, reader has %d left", n, err, sreader.Len())
	}
	if got := readN(t, sr, 4); string(got) != "stay" {
		t.Fatalf("the source lost its bytes: %q", got)
	}
}

// Guarantee 15: where the kernel cannot splice (an eventfd takes none),
// the copy falls back to the buffered loop before it has taken anything,
// and still moves every byte.
func TestCopySpliceFallsBackWhenRefused(t *testing.T) {
	paths := watchCopyPaths(t)
	for _, r := range testReactors(t) {
		t.Run(r.name, func(t *testing.T) {
			efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			ev, err := fdstream.NewStream(efd, "eventfd", fdstream.WithReactor(r.r))
			if err != nil {
				unix.Close(efd)
				t.Fatal(err)
			}
			defer ev.Close()
			sr, sw := mustPipe(t, fdstream.WithReactor(r.r))
			var b [8]byte
			binary.NativeEndian.PutUint64(b[:], 42)
			sw.Write(b[:])
			sw.Close()
			paths()
			n, err := fdstream.Copy(context.Background(), ev, sr)
			if n != 8 || err != nil {
				t.Fatalf("Copy = %d, %v; want 8, nil", n, err)
			}
			if p := paths(); len(p) != 2 || p[0] != "splice" || p[1] != "buffered" {
				t.Fatalf("copy went %v, want [splice buffered]", p)
			}
			got := make([]byte, 8)
			if _, err := ev.Read(got); err != nil || binary.NativeEndian.Uint64(got) != 42 {
				t.Fatalf("eventfd holds %v, %v; want 42", got, err)
			}
		})
	}
}

// Guarantee 12 for copies: to or from a closed Stream, nothing is read
// and nothing lost; nil and zero Streams, nil readers and writers and a
// nil ctx are errors; regular files fall back to plain I/O and work.
func TestBadInputCopy(t *testing.T) {
	t.Run("to a closed Stream", func(t *testing.T) {
		sr, sw := mustPipe(t)
		_, dw := mustPipe(t)
		sw.Write([]byte("still here"))
		dw.Close()
		n, err := fdstream.Copy(context.Background(), dw, sr)
		var pe *os.PathError
		if n != 0 || !errors.Is(err, os.ErrClosed) || !errors.As(err, &pe) || pe.Path != dw.Name() {
			t.Fatalf("Copy to a closed Stream = %d, %v", n, err)
		}
		if got := readN(t, sr, 10); string(got) != "still here" {
			t.Fatalf("the source lost its bytes: %q", got)
		}
		rd := strings.NewReader("untouched")
		if n, err := dw.ReadFrom(rd); n != 0 || !errors.Is(err, os.ErrClosed) || rd.Len() != 9 {
			t.Fatalf("ReadFrom(reader) into a closed Stream = %d, %v; reader has %d left", n, err, rd.Len())
		}
	})
	t.Run("from a closed Stream", func(t *testing.T) {
		sr, _ := mustPipe(t)
		_, dw := mustPipe(t)
		sr.Close()
		for _, call := range []func() (int64, error){
			func() (int64, error) { return fdstream.Copy(context.Background(), dw, sr) },
			func() (int64, error) { return sr.WriteTo(io.Discard) },
		} {
			if n, err := call(); n != 0 || !errors.Is(err, os.ErrClosed) {
				t.Fatalf("copy from a closed Stream = %d, %v", n, err)
			}
		}
	})
	t.Run("nil and zero", func(t *testing.T) {
		sr, sw := mustPipe(t)
		var nilStream *fdstream.Stream
		var zero fdstream.Stream
		for name, call := range map[string]func() (int64, error){
			"ReadFrom(nil)":         func() (int64, error) { return sw.ReadFrom(nil) },
			"WriteTo(nil)":          func() (int64, error) { return sr.WriteTo(nil) },
			"nil.ReadFrom":          func() (int64, error) { return nilStream.ReadFrom(sr) },
			"nil.WriteTo":           func() (int64, error) { return nilStream.WriteTo(sw) },
			"zero.ReadFrom":         func() (int64, error) { return zero.ReadFrom(sr) },
			"ReadFrom(nil *Stream)": func() (int64, error) { return sw.ReadFrom(nilStream) },
			"WriteTo(zero)":         func() (int64, error) { return sr.WriteTo(&zero) },
			"Copy(nil *Stream)":     func() (int64, error) { return fdstream.Copy(context.Background(), nilStream, sr) },
		} {
			if n, err := call(); n != 0 || !errors.Is(err, os.ErrInvalid) {
				t.Errorf("%s = %d, %v; want os.ErrInvalid", name, n, err)
			}
		}
		//lint:ignore SA1012 a nil ctx is the bad input under test
		if _, err := sw.ReadFromContext(nil, sr); !errors.Is(err, fdstream.ErrNilContext) { //nolint:staticcheck
			t.Errorf("ReadFromContext(nil ctx) = %v", err)
		}
		//lint:ignore SA1012 a nil ctx is the bad input under test
		if _, err := sr.WriteToContext(nil, sw); !errors.Is(err, fdstream.ErrNilContext) { //nolint:staticcheck
			t.Errorf("WriteToContext(nil ctx) = %v", err)
		}
	})
	t.Run("regular files", func(t *testing.T) {
		paths := watchCopyPaths(t)
		payload := randomBytes(200<<10, 11)
		path := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(path, payload, 0o600); err != nil {
			t.Fatal(err)
		}
		// A Stream reading from an *os.File of a regular file.
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		pr, pw := mustPipe(t)
		got := collect(t, pr, -1)
		if n, err := pw.ReadFrom(f); n != int64(len(payload)) || err != nil {
			t.Fatalf("ReadFrom(regular *os.File) = %d, %v", n, err)
		}
		pw.Close()
		if b := <-got; !bytes.Equal(b, payload) {
			t.Fatal("ReadFrom(regular *os.File): the bytes differ")
		}
		// A Stream over a regular file, both ways: plain I/O.
		fs, err := fdstream.Open(path, os.O_RDONLY)
		if err != nil {
			t.Fatal(err)
		}
		defer fs.Close()
		pr2, pw2 := mustPipe(t)
		got = collect(t, pr2, -1)
		paths()
		if n, err := fdstream.Copy(context.Background(), pw2, fs); n != int64(len(payload)) || err != nil {
			t.Fatalf("Copy(pipe, file Stream) = %d, %v", n, err)
		}
		pw2.Close()
		if b := <-got; !bytes.Equal(b, payload) {
			t.Fatal("Copy(pipe, file Stream): the bytes differ")
		}
		out, err := fdstream.Open(filepath.Join(t.TempDir(), "out"), os.O_WRONLY|os.O_CREATE)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		pr3, pw3 := mustPipe(t)
		go func() { pw3.Write(payload); pw3.Close() }()
		if n, err := out.ReadFrom(pr3); n != int64(len(payload)) || err != nil {
			t.Fatalf("file Stream ReadFrom(pipe) = %d, %v", n, err)
		}
		if b, _ := os.ReadFile(out.Name()); !bytes.Equal(b, payload) {
			t.Fatal("file Stream ReadFrom(pipe): the bytes differ")
		}
		if p := paths(); len(p) != 2 || p[0] != "buffered" || p[1] != "buffered" {
			t.Fatalf("copies with a regular file went %v, want [buffered buffered]", p)
		}
	})
}

// Guarantee 15: a writer that takes part of a chunk and fails gets
// WriteTo's unwritten bytes back in a *CopyError, and the next read of
// the Stream continues right after them.
func TestCopyWriteToHandsBackUnwritten(t *testing.T) {
	r, w := mustPipe(t)
	w.Write([]byte("0123456789"))
	w.Close()
	fw := &failingWriter{take: 4}
	n, err := r.WriteTo(fw)
	var ce *fdstream.CopyError
	if n != 4 || !errors.As(err, &ce) || !errors.Is(err, errTookEnough) || string(ce.Unwritten) != "456789" {
		t.Fatalf("WriteTo = %d, %v; want 4 and a CopyError with \"456789\"", n, err)
	}
	if fw.buf.String() != "0123" {
		t.Fatalf("the writer got %q", fw.buf.String())
	}
}

var errTookEnough = errors.New("took enough")

// failingWriter takes up to take bytes, then fails.
type failingWriter struct {
	buf  bytes.Buffer
	take int
}

func (f *failingWriter) Write(p []byte) (int, error) {
	n := min(len(p), f.take-f.buf.Len())
	f.buf.Write(p[:n])
	if n < len(p) {
		return n, errTookEnough
	}
	return n, nil
}
