//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package adapters

import (
	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/internal/sysx"
)

// The modem-line, break and queue ioctls, the same on Linux and the BSDs
// (only their numbers differ, which x/sys/unix has per platform).

// serialTIOCM pairs each line with the kernel's bit for it.
var serialTIOCM = [...]struct {
	line ModemLines
	bit  int
}{
	{ModemDTR, unix.TIOCM_DTR},
	{ModemRTS, unix.TIOCM_RTS},
	{ModemCTS, unix.TIOCM_CTS},
	{ModemDSR, unix.TIOCM_DSR},
	{ModemDCD, unix.TIOCM_CAR},
	{ModemRI, unix.TIOCM_RNG},
}

func serialToTIOCM(m ModemLines) int {
	bits := 0
	for _, l := range serialTIOCM {
		if m&l.line != 0 {
			bits |= l.bit
		}
	}
	return bits
}

func serialFromTIOCM(bits int) ModemLines {
	var m ModemLines
	for _, l := range serialTIOCM {
		if bits&l.bit != 0 {
			m |= l.line
		}
	}
	return m
}

func serialGetModem(fd int) (ModemLines, error) {
	bits, err := ttyIoctlGetInt(fd, unix.TIOCMGET)
	if err != nil {
		return 0, serialNoModemLines(fd, err)
	}
	return serialFromTIOCM(bits), nil
}

// serialSetModem changes the lines as SetModem documents; on and off are
// checked outputs, not both empty, not overlapping.
func serialSetModem(fd int, on, off ModemLines) error {
	var err error
	switch {
	case off == 0:
		err = ttyIoctlSetInt(fd, unix.TIOCMBIS, int32(serialToTIOCM(on)))
	case on == 0:
		err = ttyIoctlSetInt(fd, unix.TIOCMBIC, int32(serialToTIOCM(off)))
	default:
		// TIOCMSET sets every output bit to the value given: start from
		// the current ones, so that the driver's other bits (OUT1, OUT2,
		// LOOP on a 16550) stay as they are.
		var cur int
		if cur, err = ttyIoctlGetInt(fd, unix.TIOCMGET); err == nil {
			next := cur&^serialToTIOCM(off) | serialToTIOCM(on)
			err = ttyIoctlSetInt(fd, unix.TIOCMSET, int32(next))
		}
	}
	if err != nil {
		return serialNoModemLines(fd, err)
	}
	return nil
}

// serialBreak sets (TIOCSBRK) or clears (TIOCCBRK) the break condition.
func serialBreak(fd int, on bool) error {
	var req uint = unix.TIOCCBRK
	if on {
		req = unix.TIOCSBRK
	}
	return ttyIoctl(fd, req, nil, 0)
}

// serialDup returns a close-on-exec duplicate of fd.
func serialDup(fd int) (int, error) {
	return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
}

// serialPollHUP reports whether poll(2) says fd is hung up, without
// waiting.
func serialPollHUP(fd int) (bool, error) {
	fds := []unix.PollFd{{Fd: int32(fd)}}
	var n int
	err := sysx.IgnoringEINTR(func() (err error) {
		n, err = unix.Poll(fds, 0)
		return err
	})
	return n > 0 && fds[0].Revents&unix.POLLHUP != 0, err
}

// serialIsHangUpErrno reports whether err is an errno a hung-up terminal
// gives.
func serialIsHangUpErrno(err error) bool {
	for _, e := range serialHangUpErrnos {
		if err == e {
			return true
		}
	}
	return false
}
