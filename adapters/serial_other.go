//go:build unix && !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package adapters

import "golang.org/x/sys/unix"

// As the terminal functions (tty_other.go): implemented on Linux, macOS and
// the BSDs; elsewhere every one fails with unix.ENOTSUP.

const serialInQueueReq = 0

var serialHangUpErrnos = []error{unix.EIO}

func ttyIoctlGetInt(int, uint) (int, error)            { return 0, unix.ENOTSUP }
func ttyOutQueue(int) (int, error)                     { return 0, unix.ENOTSUP }
func serialGetModem(int) (ModemLines, error)           { return 0, unix.ENOTSUP }
func serialSetModem(int, ModemLines, ModemLines) error { return unix.ENOTSUP }
func serialBreak(int, bool) error                      { return unix.ENOTSUP }
func serialDup(int) (int, error)                       { return -1, unix.ENOTSUP }
func serialPollHUP(int) (bool, error)                  { return false, unix.ENOTSUP }
func serialIsHangUpErrno(error) bool                   { return false }
func serialGetRS485(int) (RS485Config, error)          { return RS485Config{}, unix.ENOTSUP }
func serialSetRS485(int, RS485Config) error            { return unix.ENOTSUP }
func serialLowLatency(int) (bool, error)               { return false, unix.ENOTSUP }
func serialSetLowLatency(int, bool) error              { return unix.ENOTSUP }
