//go:build unix && !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package adapters

import "golang.org/x/sys/unix"

// The terminal functions are implemented on Linux, macOS and the BSDs;
// elsewhere (Solaris, illumos, AIX) every one fails with unix.ENOTSUP.

type ttyTermios struct{}

func ttyGet(int) (ttyTermios, error)             { return ttyTermios{}, unix.ENOTSUP }
func ttySet(int, *ttyTermios) error              { return unix.ENOTSUP }
func (*ttyTermios) makeRaw()                     {}
func (*ttyTermios) setSerial(SerialConfig) error { return unix.ENOTSUP }
func (*ttyTermios) serial() SerialConfig         { return SerialConfig{} }
func (*ttyTermios) setSpeed(int) error           { return unix.ENOTSUP }
func (*ttyTermios) speed() int                   { return 0 }
func ttyGetWinSize(int) (WinSize, error)         { return WinSize{}, unix.ENOTSUP }
func ttySetWinSize(int, WinSize) error           { return unix.ENOTSUP }
func ttySetExclusive(int, bool) error            { return unix.ENOTSUP }
func ttyFlush(int, FlushMode) error              { return unix.ENOTSUP }
