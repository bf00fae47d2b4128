//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package adapters

import "golang.org/x/sys/unix"

// serialInQueueReq is FIONREAD, _IOR('f', 127, int) on every BSD and on
// macOS (x/sys/unix does not export it for all of them).
const serialInQueueReq = 0x4004667f

// serialHangUpErrnos: a revoked or gone terminal (a USB adapter unplugged)
// gives EIO or ENXIO on the BSDs and macOS. Not tested here: this is read
// from the kernels' sources, and CI has no BSD or macOS machine.
var serialHangUpErrnos = []error{unix.EIO, unix.ENXIO}

// RS485 and the serial_struct are Linux's.

func serialGetRS485(int) (RS485Config, error) { return RS485Config{}, unix.ENOTSUP }
func serialSetRS485(int, RS485Config) error   { return unix.ENOTSUP }
func serialLowLatency(int) (bool, error)      { return false, unix.ENOTSUP }
func serialSetLowLatency(int, bool) error     { return unix.ENOTSUP }
