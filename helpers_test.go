package fdstream_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/reactor"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// hang is the generous upper bound a test waits for something that should
// happen at once; it only catches hangs.
const hang = 10 * time.Second

// blockWatch records which Streams have calls blocked, through the
// package's test hook, so a test can act once a call is really waiting
// instead of sleeping and hoping.
type blockWatch struct {
	mu      sync.Mutex
	ch      chan struct{}
	waiting map[*fdstream.Stream]int
}

// watchBlocks installs the hook for the duration of t. Tests using it must
// not run in parallel.
func watchBlocks(t *testing.T) *blockWatch {
	w := &blockWatch{ch: make(chan struct{}, 1), waiting: map[*fdstream.Stream]int{}}
	fdstream.SetTestHookBlock(func(s *fdstream.Stream, _ reactor.Interest) {
		w.mu.Lock()
		w.waiting[s]++
		w.mu.Unlock()
		select {
		case w.ch <- struct{}{}:
		default:
		}
	})
	t.Cleanup(func() { fdstream.SetTestHookBlock(nil) })
	return w
}

// await blocks until s has had at least n calls block since the watch
// began.
func (w *blockWatch) await(t *testing.T, s *fdstream.Stream, n int) {
	t.Helper()
	deadline := time.After(hang)
	for {
		w.mu.Lock()
		got := w.waiting[s]
		w.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-w.ch:
		case <-deadline:
			t.Fatalf("%s: %d calls blocked, want %d", s.Name(), got, n)
		}
	}
}

func mustPipe(t testing.TB, opts ...fdstream.Option) (r, w *fdstream.Stream) {
	t.Helper()
	r, w, err := fdstream.Pipe(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

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
	{"socketpair", mustSocketpair},
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

func mustSocketpair(t *testing.T) (a, b *fdstream.Stream) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err = fdstream.NewStream(fds[0], "sock0")
	if err != nil {
		t.Fatal(err)
	}
	b, err = fdstream.NewStream(fds[1], "sock1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// mustPTY opens a pty pair from /dev/ptmx and puts the slave in raw mode,
// so bytes pass unchanged in both directions.
func mustPTY(t *testing.T) (master, slave *fdstream.Stream) {
	t.Helper()
	master, err := fdstream.Open("/dev/ptmx", os.O_RDWR)
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
	slave, err = fdstream.Open("/dev/pts/"+strconv.Itoa(n), os.O_RDWR)
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

func control(s *fdstream.Stream, f func(fd int) error) error {
	rc, err := s.SyscallConn()
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

// readAll reads exactly n bytes from s, failing the test on a hang.
func readN(t *testing.T, s *fdstream.Stream, n int) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	buf := make([]byte, n)
	got := 0
	for got < n {
		m, err := s.ReadContext(ctx, buf[got:])
		got += m
		if err != nil {
			t.Fatalf("read %d of %d bytes: %v", got, n, err)
		}
	}
	return buf
}

// async runs f in a goroutine and returns a channel with its error.
func async(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

func recvErr(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(hang):
		t.Fatal("call did not return")
		return nil
	}
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
