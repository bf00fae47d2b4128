package fdstream_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/internal/fdtest"
	"github.com/fdstream/fdstream/reactor"
)

// asUnprivileged runs f on a thread whose filesystem uid and gid are
// nobody's, so that permission checks apply even when the test runs as
// root (a non-root fsuid drops CAP_DAC_OVERRIDE). The thread is thrown
// away afterwards.
func asUnprivileged(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if os.Getuid() == 0 {
			unix.Setfsgid(65534)
			unix.Setfsuid(65534)
		}
		f()
	}()
	<-done
}

// Bad input to the constructors: each gets a specific error, documented
// on the constructor, as an *os.PathError naming the op, never a panic, a
// hang, or a Stream.
func TestBadInputConstructors(t *testing.T) {
	dir := t.TempDir()
	closedFd, err := unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, 7000) // far above what the test uses
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(closedFd)
	dirFd, err := unix.Open(dir, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dirFd)
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, nil, 0); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	closedFile, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	closedFile.Close()
	dirFile, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer dirFile.Close()
	sel, err := reactor.New(reactor.Config{Backend: reactor.Select})
	if err != nil {
		t.Fatal(err)
	}
	bigFd, err := unix.FcntlInt(0, unix.F_DUPFD_CLOEXEC, 1500)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(bigFd)
	var pipeFds [2]int
	if err := unix.Pipe2(pipeFds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pipeFds[0])
	defer unix.Close(pipeFds[1])

	tests := []struct {
		name string
		make func() (*fdstream.Stream, error)
		op   string
		is   error
	}{
		{"NewStream negative fd", func() (*fdstream.Stream, error) { return fdstream.NewStream(-1, "neg") }, "newstream", syscall.EBADF},
		{"NewStream closed fd", func() (*fdstream.Stream, error) { return fdstream.NewStream(closedFd, "closed") }, "newstream", syscall.EBADF},
		{"NewStream directory", func() (*fdstream.Stream, error) { return fdstream.NewStream(dirFd, dir) }, "newstream", syscall.EISDIR},
		{"NewStream fd >= FD_SETSIZE on select", func() (*fdstream.Stream, error) {
			return fdstream.NewStream(bigFd, "big", fdstream.WithReactor(sel))
		}, "newstream", reactor.ErrFDSetSize},
		{"NewStream with a zero Reactor", func() (*fdstream.Stream, error) {
			return fdstream.NewStream(pipeFds[0], "zero reactor", fdstream.WithReactor(&reactor.Reactor{}))
		}, "newstream", os.ErrInvalid},
		{"Open directory", func() (*fdstream.Stream, error) { return fdstream.Open(dir, os.O_RDONLY) }, "open", syscall.EISDIR},
		{"Open nonexistent path", func() (*fdstream.Stream, error) {
			return fdstream.Open(filepath.Join(dir, "nope"), os.O_RDONLY)
		}, "open", os.ErrNotExist},
		{"Open empty path", func() (*fdstream.Stream, error) { return fdstream.Open("", os.O_RDONLY) }, "open", os.ErrNotExist},
		{"Open path with NUL", func() (*fdstream.Stream, error) { return fdstream.Open("a\x00b", os.O_RDONLY) }, "open", syscall.EINVAL},
		{"Open without permission", func() (s *fdstream.Stream, err error) {
			asUnprivileged(t, func() { s, err = fdstream.Open(secret, os.O_RDONLY) })
			return s, err
		}, "open", os.ErrPermission},
		{"Open FIFO for writing without a reader", func() (*fdstream.Stream, error) {
			return fdstream.Open(fifo, os.O_WRONLY)
		}, "open", syscall.ENXIO},
		{"Open with a zero Reactor", func() (*fdstream.Stream, error) {
			return fdstream.Open(fifo, os.O_RDONLY, fdstream.WithReactor(&reactor.Reactor{}))
		}, "open", os.ErrInvalid},
		{"FromFile nil", func() (*fdstream.Stream, error) { return fdstream.FromFile(nil) }, "fromfile", os.ErrInvalid},
		{"FromFile closed file", func() (*fdstream.Stream, error) { return fdstream.FromFile(closedFile) }, "fromfile", os.ErrClosed},
		{"FromFile directory", func() (*fdstream.Stream, error) { return fdstream.FromFile(dirFile) }, "fromfile", syscall.EISDIR},
		{"Pipe zero Reactor", func() (*fdstream.Stream, error) {
			r, _, err := fdstream.Pipe(fdstream.WithReactor(&reactor.Reactor{}))
			return r, err
		}, "pipe", os.ErrInvalid},
	}
	fds := fdtest.OpenFDs(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.make()
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if s != nil {
				t.Fatalf("a Stream with the error %v", err)
			}
			var pe *os.PathError
			if !errors.As(err, &pe) || pe.Op != tt.op {
				t.Fatalf("err = %#v, want an *os.PathError with Op %q", err, tt.op)
			}
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
		})
	}
	// Refusals leak nothing, and NewStream leaves a refused fd open and
	// the caller's.
	if n := fdtest.OpenFDs(t); n != fds {
		t.Errorf("%d fds open after the refusals, %d before", n, fds)
	}
	for _, fd := range []int{dirFd, bigFd, pipeFds[0]} {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != nil {
			t.Errorf("NewStream closed fd %d, which it refused: %v", fd, err)
		}
	}

	// Options: nil ones are ignored, WithReactor(nil) is the default.
	r, w, err := fdstream.Pipe(nil, fdstream.WithReactor(nil))
	if err != nil {
		t.Fatalf("Pipe(nil, WithReactor(nil)): %v", err)
	}
	r.Close()
	w.Close()
}

// Files that are not pollable are not bad input: a regular file and
// /dev/null work, through plain I/O (documented on Stream; /dev/null is
// plain I/O on epoll, which refuses it, and an always-ready fd on select),
// and a done ctx or a past deadline still stops a call before its
// syscall.
func TestBadInputNotPollableFilesWork(t *testing.T) {
	for _, name := range []string{filepath.Join(t.TempDir(), "regular"), "/dev/null"} {
		t.Run(name, func(t *testing.T) {
			s, err := fdstream.Open(name, os.O_RDWR|os.O_CREATE)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if n, err := s.Write([]byte("data")); n != 4 || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
			canceled, cancel := context.WithCancel(context.Background())
			cancel()
			if n, err := s.WriteContext(canceled, []byte("never")); n != 0 || !errors.Is(err, context.Canceled) {
				t.Fatalf("WriteContext(canceled) = %d, %v", n, err)
			}
			s.SetReadDeadline(time.Now().Add(-time.Second))
			if n, err := s.Read(make([]byte, 4)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Read after its deadline = %d, %v", n, err)
			}
			if err := s.SetReadDeadline(time.Time{}); err != nil {
				t.Fatal(err)
			}
			rc, err := s.SyscallConn()
			if err != nil {
				t.Fatal(err)
			}
			if s.Registered() {
				// /dev/null on the select backend: select(2) takes
				// it, and reports it always ready.
				return
			}
			if err := rc.Read(func(uintptr) bool { return false }); !errors.Is(err, fdstream.ErrNotPollable) {
				t.Fatalf("RawConn.Read waiting on a plain file = %v, want ErrNotPollable", err)
			}
		})
	}
}

// Bad input to the methods: nil ctx, nil and empty buffers, deadlines in
// the past, done ctxs, Close twice, every method after Close, and nil or
// zero Streams. Each has its documented result; none consumes or writes
// a byte it should not.
func TestBadInputMethods(t *testing.T) {
	r, w := mustPipe(t)
	if _, err := w.Write([]byte("kept")); err != nil {
		t.Fatal(err)
	}
	closedR, closedW := mustPipe(t)
	closedR.Close()
	closedW.Close()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	past := time.Now().Add(-time.Hour)
	var nilStream *fdstream.Stream
	zero := new(fdstream.Stream)
	var nilCtx context.Context
	buf := make([]byte, 8)

	type result struct {
		n   int
		err error
	}
	do := func(n int, err error) result { return result{n, err} }
	nop := func(err error) result { return result{0, err} }
	tests := []struct {
		name string
		call func() result
		op   string // "" for a bare error
		is   error  // nil: success
	}{
		{"ReadContext nil ctx", func() result { return do(r.ReadContext(nilCtx, buf)) }, "read", fdstream.ErrNilContext},
		{"ReadContext nil ctx, empty buffer", func() result { return do(r.ReadContext(nilCtx, nil)) }, "read", fdstream.ErrNilContext},
		{"WriteContext nil ctx", func() result { return do(w.WriteContext(nilCtx, []byte("x"))) }, "write", fdstream.ErrNilContext},
		{"Read nil buffer", func() result { return do(r.Read(nil)) }, "", nil},
		{"ReadContext empty buffer", func() result { return do(r.ReadContext(bg, []byte{})) }, "", nil},
		{"Write nil buffer", func() result { return do(w.Write(nil)) }, "", nil},
		{"ReadContext canceled ctx", func() result { return do(r.ReadContext(canceled, buf)) }, "read", context.Canceled},
		{"WriteContext canceled ctx", func() result { return do(w.WriteContext(canceled, []byte("x"))) }, "write", context.Canceled},
		{"Read past deadline", func() result {
			r.SetReadDeadline(past)
			defer r.SetReadDeadline(time.Time{})
			return do(r.Read(buf))
		}, "read", os.ErrDeadlineExceeded},
		{"Write past deadline", func() result {
			w.SetWriteDeadline(past)
			defer w.SetWriteDeadline(time.Time{})
			return do(w.Write([]byte("x")))
		}, "write", os.ErrDeadlineExceeded},
		{"SetDeadline past", func() result { return nop(r.SetDeadline(past)) }, "", nil},

		{"Close twice", func() result { return nop(closedR.Close()) }, "close", os.ErrClosed},
		{"Read after Close", func() result { return do(closedR.Read(buf)) }, "read", os.ErrClosed},
		{"Read nil buffer after Close", func() result { return do(closedR.Read(nil)) }, "read", os.ErrClosed},
		{"ReadContext after Close", func() result { return do(closedR.ReadContext(bg, buf)) }, "read", os.ErrClosed},
		{"Write after Close", func() result { return do(closedW.Write([]byte("x"))) }, "write", os.ErrClosed},
		{"WriteContext after Close", func() result { return do(closedW.WriteContext(bg, []byte("x"))) }, "write", os.ErrClosed},
		{"SetDeadline after Close", func() result { return nop(closedR.SetDeadline(time.Now())) }, "SetDeadline", os.ErrClosed},
		{"SetReadDeadline after Close", func() result { return nop(closedR.SetReadDeadline(time.Now())) }, "SetReadDeadline", os.ErrClosed},
		{"SetWriteDeadline after Close", func() result { return nop(closedW.SetWriteDeadline(time.Now())) }, "SetWriteDeadline", os.ErrClosed},
		{"SyscallConn after Close", func() result { _, err := closedR.SyscallConn(); return nop(err) }, "SyscallConn", os.ErrClosed},

		{"nil Stream Read", func() result { return do(nilStream.Read(buf)) }, "", os.ErrInvalid},
		{"nil Stream WriteContext", func() result { return do(nilStream.WriteContext(bg, buf)) }, "", os.ErrInvalid},
		{"nil Stream Close", func() result { return nop(nilStream.Close()) }, "", os.ErrInvalid},
		{"nil Stream SetDeadline", func() result { return nop(nilStream.SetDeadline(past)) }, "", os.ErrInvalid},
		{"nil Stream SyscallConn", func() result { _, err := nilStream.SyscallConn(); return nop(err) }, "", os.ErrInvalid},
		{"zero Stream Read", func() result { return do(zero.Read(buf)) }, "", os.ErrInvalid},
		{"zero Stream Write", func() result { return do(zero.Write([]byte("x"))) }, "", os.ErrInvalid},
		{"zero Stream Close", func() result { return nop(zero.Close()) }, "", os.ErrInvalid},
		{"zero Stream SetReadDeadline", func() result { return nop(zero.SetReadDeadline(past)) }, "", os.ErrInvalid},
		{"zero Stream SyscallConn", func() result { _, err := zero.SyscallConn(); return nop(err) }, "", os.ErrInvalid},

		{"NewReader nil reader", func() result { return do(fdstream.NewReader(bg, nil).Read(buf)) }, "", os.ErrInvalid},
		{"NewWriter nil writer", func() result { return do(fdstream.NewWriter(bg, nil).Write(buf)) }, "", os.ErrInvalid},
		{"NewReader nil ctx", func() result { return do(fdstream.NewReader(nilCtx, r).Read(buf)) }, "read", fdstream.ErrNilContext},
		{"Copy nil ctx", func() result { n, err := fdstream.Copy(nilCtx, io.Discard, r); return result{int(n), err} }, "", fdstream.ErrNilContext},
		{"Copy nil src", func() result { n, err := fdstream.Copy(bg, io.Discard, nil); return result{int(n), err} }, "", os.ErrInvalid},
		{"Copy nil dst", func() result { n, err := fdstream.Copy(bg, nil, r); return result{int(n), err} }, "", os.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.call()
			if res.n != 0 {
				t.Fatalf("n = %d, want 0", res.n)
			}
			if tt.is == nil {
				if res.err != nil {
					t.Fatalf("err = %v, want nil", res.err)
				}
				return
			}
			if !errors.Is(res.err, tt.is) {
				t.Fatalf("err = %v, want %v", res.err, tt.is)
			}
			var pe *os.PathError
			if tt.op != "" && (!errors.As(res.err, &pe) || pe.Op != tt.op) {
				t.Fatalf("err = %#v, want an *os.PathError with Op %q", res.err, tt.op)
			}
			if errors.Is(tt.is, os.ErrDeadlineExceeded) && !isTimeout(res.err) {
				t.Fatalf("err = %v: Timeout() is false", res.err)
			}
		})
	}
	if err := r.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	// Nothing above consumed or wrote a byte: what was written before is
	// all there is.
	if got := readN(t, r, 4); !bytes.Equal(got, []byte("kept")) {
		t.Fatalf("read %q, want %q", got, "kept")
	}
	if p := pending(t, r); p != 0 {
		t.Fatalf("%d more bytes in the pipe: a bad call wrote", p)
	}
	if nilStream.Name() != "" || zero.Name() != "" {
		t.Fatal("Name of a nil or zero Stream is not empty")
	}
}
