//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package adapters

import (
	"math"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/internal/sysx"
)

// ttyTermios is a terminal's settings. On the BSDs and macOS speed_t is the
// speed itself (B9600 is 9600) and termios always carries it.
type ttyTermios struct {
	unix.Termios
}

// ttyCMSPAR is 0: the BSDs and macOS have no mark or space parity.
const ttyCMSPAR = 0

func ttyGet(fd int) (ttyTermios, error) {
	var t ttyTermios
	var p *unix.Termios
	err := sysx.IgnoringEINTR(func() (err error) {
		p, err = unix.IoctlGetTermios(fd, unix.TIOCGETA)
		return err
	})
	if err != nil {
		return t, err
	}
	t.Termios = *p
	return t, nil
}

// ttySet applies t at once (TCSANOW). Setting termios can sleep on the
// tty's locks, interruptibly: hence the retry on EINTR. A speed that
// TIOCSETA cannot take goes through ttySetCustomSpeed (macOS only).
func ttySet(fd int, t *ttyTermios) error {
	if ttyCustomSpeed(int(t.Ospeed)) {
		return ttySetCustomSpeed(fd, t)
	}
	return ttySetTermios(fd, &t.Termios)
}

func ttySetTermios(fd int, t *unix.Termios) error {
	return sysx.IgnoringEINTR(func() error { return unix.IoctlSetTermios(fd, unix.TIOCSETA, t) })
}

func (t *ttyTermios) speed() int {
	return int(t.Ospeed)
}

// setSpeed puts baud (> 0) in both speed fields; whether the speed is one
// the line can do is the driver's to say, when TIOCSETA applies it.
func (t *ttyTermios) setSpeed(baud int) error {
	if baud > math.MaxInt32 {
		return ttyInvalid("baud %d does not fit in speed_t", baud)
	}
	ttySetSpeedField(&t.Ispeed, baud)
	ttySetSpeedField(&t.Ospeed, baud)
	return nil
}

// ttySetSpeedField stores a speed in a field whose type varies: uint64 on
// macOS, uint32 on FreeBSD and DragonFly, int32 on NetBSD and OpenBSD.
func ttySetSpeedField[T ~int32 | ~uint32 | ~uint64](f *T, baud int) {
	*f = T(baud)
}

// TIOCFLUSH takes a pointer to FREAD, FWRITE or both (sys/fcntl.h; the
// same values on every BSD and macOS, which x/sys does not export).
const (
	ttyFREAD  = 0x1
	ttyFWRITE = 0x2
)

func ttyFlush(fd int, mode FlushMode) error {
	which := ttyFREAD | ttyFWRITE
	switch mode {
	case FlushInput:
		which = ttyFREAD
	case FlushOutput:
		which = ttyFWRITE
	}
	return sysx.IgnoringEINTR(func() error { return unix.IoctlSetPointerInt(fd, unix.TIOCFLUSH, which) })
}
