//go:build linux

package fdstream_test

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/internal/fdtest"
	"github.com/fdstream/fdstream/internal/streamtest"
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
	master, slave = streamtest.PTY(t, opts...)
	if err := fdtest.Control(slave, fdtest.MakeRaw); err != nil {
		t.Fatal(err)
	}
	return master, slave
}

// pending reports how many bytes are queued to be read on s (FIONREAD),
// without reading them.
func pending(t *testing.T, s *fdstream.Stream) int {
	t.Helper()
	var n int
	if err := fdtest.Control(s, func(fd int) error {
		var err error
		n, err = unix.IoctlGetInt(fd, unix.TIOCINQ) // FIONREAD
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
