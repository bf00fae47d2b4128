//go:build unix && !linux

package fdstream

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysWritev writes iov's first buffer: a short writev, which the caller's
// loop continues. (readv and writev are not in x/sys/unix here, and raw
// syscalls are refused on some of these systems.)
func sysWritev(fd int, iov []unix.Iovec) (int, error) {
	return unix.Write(fd, unsafe.Slice(iov[0].Base, iov[0].Len))
}

// sysReadv reads into iov's first buffer, as a short readv may.
func sysReadv(fd int, iov []unix.Iovec) (int, error) {
	return unix.Read(fd, unsafe.Slice(iov[0].Base, iov[0].Len))
}
