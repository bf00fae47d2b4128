//go:build linux

package fdstream_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/internal/fdtest"
)

// transport is a connected pair of Streams over one kind of fd.
type transport struct {
	name string
	// make returns the reading and writing ends; for bidirectional kinds
	// they are the two peers.
	make func(t *testing.T) (r, w *fdstream.Stream)
}

var transports = []transport{
	{"pipe", func(t *testing.T) (*fdstream.Stream, *fdstream.Stream) { return mustPipe(t) }},
	{"fifo", mustFIFO},
	{"socketpair", func(t *testing.T) (*fdstream.Stream, *fdstream.Stream) { return mustSocketpair(t) }},
	{"pty", func(t *testing.T) (*fdstream.Stream, *fdstream.Stream) {
		m, s := mustPTY(t)
		return m, s
	}},
}

func mustFIFO(t *testing.T) (r, w *fdstream.Stream) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fifo")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := fdstream.Open(path, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	w, err = fdstream.Open(path, os.O_WRONLY)
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func mustSocketpair(t *testing.T, opts ...fdstream.Option) (a, b *fdstream.Stream) {
	t.Helper()
	fd0, fd1 := fdtest.Socketpair(t)
	fds := [2]int{fd0, fd1}
	a, err := fdstream.NewStream(fds[0], "sock0", opts...)
	if err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		t.Fatal(err)
	}
	b, err = fdstream.NewStream(fds[1], "sock1", opts...)
	if err != nil {
		a.Close()
		unix.Close(fds[1])
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// mustPTY opens a pty pair from /dev/ptmx and puts the slave in raw mode,
// so bytes pass unchanged in both directions.
func mustPTY(t *testing.T, opts ...fdstream.Option) (master, slave *fdstream.Stream) {
	t.Helper()
	master, err := fdstream.Open("/dev/ptmx", os.O_RDWR, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	var path string
	err = control(master, func(fd int) (err error) {
		path, err = fdtest.UnlockPTY(fd)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slave, err = fdstream.Open(path, os.O_RDWR, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	if err := control(slave, fdtest.MakeRaw); err != nil {
		t.Fatal(err)
	}
	return master, slave
}

// control runs f on c's descriptor (a Stream's or an *os.File's).
func control(c syscall.Conn, f func(fd int) error) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// pending reports how many bytes are queued to be read on s (FIONREAD),
// without reading them.
func pending(t *testing.T, s *fdstream.Stream) int {
	t.Helper()
	var n int
	if err := control(s, func(fd int) error {
		var err error
		n, err = unix.IoctlGetInt(fd, unix.TIOCINQ) // FIONREAD
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
