//go:build unix && !linux && !darwin && !freebsd

package adapters

import (
	"os"
	"os/exec"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
)

// OpenPTY is implemented on Linux, macOS and FreeBSD; elsewhere it returns an
// *os.PathError wrapping unix.ENOTSUP.
func OpenPTY(opts ...fdstream.Option) (master, slave *fdstream.Stream, err error) {
	return nil, nil, &os.PathError{Op: "openpty", Path: "/dev/ptmx", Err: unix.ENOTSUP}
}

// StartPTY is implemented on Linux, macOS and FreeBSD; elsewhere it returns an
// *os.PathError wrapping unix.ENOTSUP.
func StartPTY(cmd *exec.Cmd, opts ...fdstream.Option) (*Conn, error) {
	return nil, &os.PathError{Op: "openpty", Path: "/dev/ptmx", Err: unix.ENOTSUP}
}

// StartPTYWithSize is implemented on Linux, macOS and FreeBSD; elsewhere it
// returns an *os.PathError wrapping unix.ENOTSUP.
func StartPTYWithSize(cmd *exec.Cmd, ws WinSize, opts ...fdstream.Option) (*Conn, error) {
	return nil, &os.PathError{Op: "openpty", Path: "/dev/ptmx", Err: unix.ENOTSUP}
}
