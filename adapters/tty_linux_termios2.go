//go:build linux && !ppc && !ppc64 && !ppc64le

package adapters

import "golang.org/x/sys/unix"

// ttyGets2 and ttySets2 read and write struct termios2, speeds included.
const (
	ttyGets2 = unix.TCGETS2
	ttySets2 = unix.TCSETS2
)
