package reactor

import (
	"os"

	"golang.org/x/sys/unix"
)

// newWakePipe's error is an *os.SyscallError naming pipe2.
func newWakePipe() (r, w int, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return -1, -1, os.NewSyscallError("pipe2", err)
	}
	return fds[0], fds[1], nil
}
