//go:build linux

package fdstream_test

// This file specifies descriptors the poller refuses (regular files, /dev/null) and descriptions shared with other owners.

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/internal/fdtest"
)

// Guarantee 7: a regular file (which epoll refuses) works through plain
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
	if err := fdtest.Control(s, func(fd int) error { _, err := unix.Seek(fd, 0, 0); return err }); err != nil {
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

// FromFile on a pty master must not reopen /dev/ptmx (that would make a
// new pty): the Stream talks to the same slave as the file.
func TestStreamFromFilePTYMasterIsSamePTY(t *testing.T) {
	m, slave := mustPTY(t)
	var ptn int
	if err := fdtest.Control(m, func(fd int) error {
		var err error
		ptn, err = unix.IoctlGetInt(fd, unix.TIOCGPTN)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var dupFd int
	fdtest.Control(m, func(fd int) error {
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
	fdtest.Control(s, func(fd int) error {
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

// Plain I/O runs on a blocking fd: Open's own O_NONBLOCK is cleared again
// for a regular file.
func TestStreamPlainIOIsBlocking(t *testing.T) {
	s, err := fdstream.Open(filepath.Join(t.TempDir(), "f"), os.O_RDWR|os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fdtest.Control(s, func(fd int) error {
		if fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); fl&unix.O_NONBLOCK != 0 {
			t.Error("regular file left O_NONBLOCK")
		}
		return nil
	})
}
