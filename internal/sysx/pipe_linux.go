package sysx

import "golang.org/x/sys/unix"

// Pipe returns a pipe whose ends are non-blocking and close-on-exec, made
// atomically by pipe2.
func Pipe() (r, w int, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return -1, -1, err
	}
	return p[0], p[1], nil
}
