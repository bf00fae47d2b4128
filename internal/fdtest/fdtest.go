// Package fdtest holds the test helpers that fdstream's test packages
// share (the root package's, adapters', cmd/fdcom's and ctxiotest's): the
// hang bound, a pty pair at the fd level, a socketpair, the count of open
// descriptors, and re-executing the test binary as a child. It works on
// bare fds and never imports fdstream, so that the root package's
// internal tests can use it too; helpers that need a Stream are in
// internal/streamtest. reactor's tests keep their own helpers for now.
package fdtest

import (
	"syscall"
	"time"
)

// Hang is the generous upper bound a test waits for something that should
// happen at once; it only catches hangs. Timing goals belong in
// benchmarks.
const Hang = 10 * time.Second

// Control runs f on c's descriptor (a Stream's, a Conn's or an
// *os.File's), through its SyscallConn.
func Control(c syscall.Conn, f func(fd int) error) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
