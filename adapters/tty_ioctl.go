//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package adapters

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/internal/sysx"
)

// ttyIoctl is the one door through which the serial-port functions (and
// Drain's TIOCOUTQ) reach the driver: ioctl req on fd, with arg pointing at
// size bytes (nil for a request without an argument). It retries EINTR.
//
// Tests replace it (ttyTestHookIoctl) with a fake device, because what a
// real UART does cannot be had here: Linux ptys refuse the modem-line,
// RS485 and serial_struct ioctls and have no output queue. The fake sees
// the argument as the bytes the kernel would see, so the tests check the
// encoding against the kernel's struct layouts, not against ours.
func ttyIoctl(fd int, req uint, arg unsafe.Pointer, size uintptr) error {
	if h := ttyTestHookIoctl.Load(); h != nil {
		var b []byte
		if arg != nil {
			b = unsafe.Slice((*byte)(arg), size)
		}
		return (*h)(fd, req, b)
	}
	return ttyIoctlSys(fd, req, arg)
}

// ttyIoctlSys is the real ioctl(2).
func ttyIoctlSys(fd int, req uint, arg unsafe.Pointer) error {
	return sysx.IgnoringEINTR(func() error {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
		if e != 0 {
			return e
		}
		return nil
	})
}

// ttyTestHookIoctl, set only by tests, replaces ioctl(2) in ttyIoctl. arg
// is the argument's memory (nil when the request takes none); a fake
// answering a "get" request writes into it.
var ttyTestHookIoctl atomic.Pointer[func(fd int, req uint, arg []byte) error]

// ttyIoctlGetInt runs a request that fills in an int (TIOCMGET, TIOCOUTQ,
// TIOCINQ): the kernel's int, 32 bits on every platform we build for.
func ttyIoctlGetInt(fd int, req uint) (int, error) {
	var v int32
	err := ttyIoctl(fd, req, unsafe.Pointer(&v), unsafe.Sizeof(v))
	return int(v), err
}

// ttyIoctlSetInt runs a request that reads an int through a pointer
// (TIOCMBIS, TIOCMBIC, TIOCMSET, IOSSIOSPEED).
func ttyIoctlSetInt(fd int, req uint, v int32) error {
	return ttyIoctl(fd, req, unsafe.Pointer(&v), unsafe.Sizeof(v))
}

// ttyOutQueue returns the number of bytes written to fd that the driver
// has not sent yet (TIOCOUTQ).
func ttyOutQueue(fd int) (int, error) {
	return ttyIoctlGetInt(fd, unix.TIOCOUTQ)
}
