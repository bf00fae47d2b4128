//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package adapters

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TTYSetIoctlHook makes the terminal functions that go through ttyIoctl
// (Drain's TIOCOUTQ, the modem lines, break, the queues, RS485, the
// serial_struct) call f instead of ioctl(2), until restore is called. arg
// is the argument's memory as the kernel would see it (nil when the
// request takes none); f fills it in for a "get". f may pass a request on
// to the kernel with TTYRealIoctl. For tests only; not safe to use from
// parallel tests.
func TTYSetIoctlHook(f func(fd int, req uint, arg []byte) error) (restore func()) {
	ttyTestHookIoctl.Store(&f)
	return func() { ttyTestHookIoctl.Store(nil) }
}

// TTYRealIoctl is ioctl(2) on arg's memory, for a hook that fakes only
// some requests.
func TTYRealIoctl(fd int, req uint, arg []byte) error {
	var p unsafe.Pointer
	if len(arg) > 0 {
		p = unsafe.Pointer(&arg[0])
	}
	return ttyIoctlSys(fd, req, p)
}

// TTYSetOutQueueHook makes Drain call f, on the Stream's fd, instead of
// asking the kernel how many bytes wait in the output queue, until restore
// is called: a pty's output queue is always empty, so tests use it to hold
// Drain in its wait. It is TTYSetIoctlHook answering TIOCOUTQ; every other
// request goes to the kernel. For tests only; not safe to use from
// parallel tests.
func TTYSetOutQueueHook(f func(fd int) (int, error)) (restore func()) {
	return TTYSetIoctlHook(func(fd int, req uint, arg []byte) error {
		if req != unix.TIOCOUTQ {
			return TTYRealIoctl(fd, req, arg)
		}
		n, err := f(fd)
		binary.NativeEndian.PutUint32(arg, uint32(n))
		return err
	})
}
