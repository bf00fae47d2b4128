//go:build linux

package fdstream_test

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
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
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err = fdstream.NewStream(fds[0], "sock0", opts...)
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
	var n int
	err = control(master, func(fd int) error {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return err
		}
		var err error
		n, err = unix.IoctlGetInt(fd, unix.TIOCGPTN)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slave, err = fdstream.Open("/dev/pts/"+strconv.Itoa(n), os.O_RDWR, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	err = control(slave, func(fd int) error {
		tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			return err
		}
		// cfmakeraw
		tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		tio.Oflag &^= unix.OPOST
		tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		tio.Cflag &^= unix.CSIZE | unix.PARENB
		tio.Cflag |= unix.CS8
		tio.Cc[unix.VMIN] = 1
		tio.Cc[unix.VTIME] = 0
		return unix.IoctlSetTermios(fd, unix.TCSETS, tio)
	})
	if err != nil {
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
