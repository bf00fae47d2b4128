package fdstream

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/internal/fdtest"
)

// Both sides of a pty are recognised, so that either side's EIO after the
// other hung up reads as io.EOF; a pipe is not a pty. (The slave's EIO
// itself only shows in a narrow kernel window — between the master's
// close setting TTY_OTHER_CLOSED and the hang-up — which nettest's
// PingPong over a pty hit under -race -count=20.)
func TestIsPTYBothSides(t *testing.T) {
	m, path := fdtest.PTY(t, 0)
	s, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(s)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, c := range []struct {
		name string
		fd   int
		want bool
	}{{"master", m, true}, {"slave", s, true}, {"pipe", int(r.Fd()), false}} {
		var st unix.Stat_t
		if err := unix.Fstat(c.fd, &st); err != nil {
			t.Fatal(err)
		}
		if got := isPTY(c.fd, &st); got != c.want {
			t.Errorf("isPTY(%s) = %v, want %v", c.name, got, c.want)
		}
	}
}
