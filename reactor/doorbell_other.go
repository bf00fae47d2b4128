//go:build unix && !linux

package reactor

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// newWakePipe's errors are *os.SyscallError naming the call that failed.
func newWakePipe() (r, w int, err error) {
	var fds [2]int
	// Without pipe2, hold ForkLock so that no child inherits the pipe
	// between pipe(2) and FD_CLOEXEC, as os.Pipe does.
	syscall.ForkLock.RLock()
	err = unix.Pipe(fds[:])
	if err == nil {
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, -1, os.NewSyscallError("pipe", err)
	}
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			unix.Close(fds[0])
			unix.Close(fds[1])
			return -1, -1, os.NewSyscallError("fcntl", err)
		}
	}
	return fds[0], fds[1], nil
}
