//go:build linux

package fdstream_test

// This file specifies the io.Reader and io.Writer contracts: what n and err mean, EOF, EPIPE, short writes.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand"
	"sync"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/internal/fdtest"
)

// Guarantee 1: the io.Reader contract, checked by testing/iotest on every
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

// Guarantee 1: ReadContext returns as soon as at least one byte is read.
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

// Guarantee 1: len(p) == 0 returns 0, nil at once, even with nothing to read.
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

// Guarantees 1 and 6: end of stream is 0, io.EOF, also for a reader that was
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

// Guarantee 6: a pty master whose slave hung up reads io.EOF, not EIO, and
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

// Guarantee 6: a write after the reader is gone returns EPIPE (a blocked
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

// Guarantee 1: WriteContext writes all of p, across many partial writes,
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

// Guarantees 1 and 3: a write that cannot finish returns n < len(p) with
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
