// Package sysx holds the small syscall helpers that fdstream's library
// packages share: the EINTR retry and a non-blocking, close-on-exec pipe.
// Each returns the bare errno; wrapping belongs to the exported callers.
package sysx

import "golang.org/x/sys/unix"

// IgnoringEINTR calls f until it returns something other than EINTR, as
// os does for the syscalls a signal can interrupt.
func IgnoringEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
