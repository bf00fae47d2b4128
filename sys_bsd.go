//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package fdstream

import "golang.org/x/sys/unix"

// isTerminal reports whether fd is a terminal: tcgetattr succeeds.
func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TIOCGETA)
	return err == nil
}
