//go:build unix && !linux

package sysx

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// Pipe returns a pipe whose ends are non-blocking and close-on-exec.
func Pipe() (r, w int, err error) {
	var p [2]int
	// No pipe2 everywhere: hold ForkLock so no child inherits the pipe
	// before FD_CLOEXEC is set, as os.Pipe does.
	syscall.ForkLock.RLock()
	err = unix.Pipe(p[:])
	if err == nil {
		unix.CloseOnExec(p[0])
		unix.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, -1, err
	}
	if err = unix.SetNonblock(p[0], true); err == nil {
		err = unix.SetNonblock(p[1], true)
	}
	if err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return -1, -1, err
	}
	return p[0], p[1], nil
}
