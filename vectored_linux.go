package fdstream

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysWritev is writev(2) on iov, which holds at most iovMax entries.
// x/sys/unix's Writev would build its iovecs afresh on every call, on
// the heap past eight buffers; these are kept in the Stream.
func sysWritev(fd int, iov []unix.Iovec) (int, error) {
	racePreWritev(iov)
	n, _, e := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// sysReadv is readv(2) on iov, which holds at most iovMax entries.
func sysReadv(fd int, iov []unix.Iovec) (int, error) {
	n, _, e := unix.Syscall(unix.SYS_READV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if e != 0 {
		return 0, e
	}
	racePostReadv(iov, int(n))
	return int(n), nil
}
