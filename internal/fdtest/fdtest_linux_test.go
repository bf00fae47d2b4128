package fdtest

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// PTY's slave is a pty whose master it is, in raw mode after MakeRaw:
// a byte written to the slave reaches the master unchanged, and the
// master is closed when the test ends.
func TestPTYRawPair(t *testing.T) {
	var master int
	t.Run("open", func(t *testing.T) {
		m, path := PTY(t, 0)
		master = m
		s, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(s)
		if err := MakeRaw(s); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Write(s, []byte("a\n")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 8)
		n, err := unix.Read(m, buf)
		if err != nil || string(buf[:n]) != "a\n" {
			t.Errorf("master read %q, %v; want \"a\\n\" (raw: no CR added)", buf[:n], err)
		}
	})
	if _, err := unix.FcntlInt(uintptr(master), unix.F_GETFD, 0); err != unix.EBADF {
		t.Errorf("master fd %d after its test ended: %v, want EBADF", master, err)
	}
}

// OpenFDs counts a socketpair's two fds, and not after they are closed.
func TestSocketpairAndOpenFDs(t *testing.T) {
	before := OpenFDs(t)
	a, b := Socketpair(t)
	if got := OpenFDs(t); got != before+2 {
		t.Errorf("%d fds open with a socketpair, %d before", got, before)
	}
	if _, err := unix.Write(a, []byte("x")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if n, err := unix.Read(b, buf); n != 1 || err != nil {
		t.Errorf("read = %d, %v", n, err)
	}
	unix.Close(a)
	unix.Close(b)
	if got := OpenFDs(t); got != before {
		t.Errorf("%d fds open after closing the pair, %d before", got, before)
	}
}

// TestHelperChild is the child of TestHelperCommand: it prints the mode
// it was started in.
func TestHelperChild(t *testing.T) {
	mode := HelperMode(t, "TestHelperChild", "TestHelperCommand")
	println("child mode " + mode)
}

// HelperCommand re-runs this binary as the named child test with the mode
// in its environment; the child sees it through HelperMode.
func TestHelperCommand(t *testing.T) {
	cmd, stderr := HelperCommand(t, "TestHelperChild", "m1")
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr.String(), "child mode m1\n") {
		t.Errorf("child's stderr %q, want it to report mode m1", stderr)
	}
}

func TestFuzzSize(t *testing.T) {
	for _, c := range []struct {
		b    byte
		want int
	}{{0, 0}, {127, 127}, {128, 128}, {223, 128 + 95*64}, {224, 2048}, {255, 32 * 2048}} {
		if got := FuzzSize(c.b); got != c.want {
			t.Errorf("FuzzSize(%d) = %d, want %d", c.b, got, c.want)
		}
	}
}
