package sysx

import (
	"errors"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Pipe's ends are non-blocking and close-on-exec, and connected.
func TestPipe(t *testing.T) {
	r, w, err := Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(r)
	defer unix.Close(w)
	for _, fd := range []int{r, w} {
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			t.Fatal(err)
		}
		if fl&unix.O_NONBLOCK == 0 {
			t.Errorf("fd %d is blocking", fd)
		}
		fdfl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil {
			t.Fatal(err)
		}
		if fdfl&unix.FD_CLOEXEC == 0 {
			t.Errorf("fd %d is not close-on-exec", fd)
		}
	}
	if _, err := unix.Read(r, make([]byte, 1)); err != unix.EAGAIN {
		t.Errorf("read of an empty pipe = %v, want EAGAIN", err)
	}
	if n, err := unix.Write(w, []byte("x")); n != 1 || err != nil {
		t.Fatalf("write = %d, %v", n, err)
	}
	buf := make([]byte, 2)
	if n, err := unix.Read(r, buf); n != 1 || err != nil || buf[0] != 'x' {
		t.Errorf("read = %d, %v, %q; want 1, nil, \"x\"", n, err, buf[:n])
	}
}

// IgnoringEINTR calls again on EINTR only, and returns any other result
// of the last call.
func TestIgnoringEINTR(t *testing.T) {
	other := errors.New("other")
	for _, want := range []error{nil, unix.EAGAIN, other} {
		calls := 0
		err := IgnoringEINTR(func() error {
			calls++
			if calls < 3 {
				return unix.EINTR
			}
			return want
		})
		if err != want || calls != 3 {
			t.Errorf("after two EINTRs then %v: %v in %d calls, want %v in 3", want, err, calls, want)
		}
	}
}
