//go:build linux && (ppc || ppc64 || ppc64le)

package adapters

import "golang.org/x/sys/unix"

// On powerpc struct termios has carried the speeds all along: TCGETS and
// TCSETS are termios2's ioctls there, and the kernel defines no TCGETS2.
const (
	ttyGets2 = unix.TCGETS
	ttySets2 = unix.TCSETS
)
