package adapters

import (
	"math"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/internal/sysx"
)

// ttyTermios is a terminal's settings. x/sys's Linux Termios is struct
// termios2: it ends with the input and output speeds, which TCGETS2 fills
// in and TCSETS2 applies when the speed code is BOTHER.
type ttyTermios struct {
	unix.Termios
	// legacy says the kernel refused TCGETS2 and the settings came from
	// TCGETS: Ispeed and Ospeed are not the kernel's, and only the Bxxx
	// speeds can be set. gVisor had no termios2 until 2026
	// (google/gvisor#12589).
	legacy bool
}

// ttyCMSPAR is the flag that makes parity stick (mark or space).
const ttyCMSPAR = unix.CMSPAR

func ttyGet(fd int) (ttyTermios, error) {
	var t ttyTermios
	var p *unix.Termios
	err := sysx.IgnoringEINTR(func() (err error) {
		p, err = unix.IoctlGetTermios(fd, ttyGets2)
		return err
	})
	if err != nil {
		err = sysx.IgnoringEINTR(func() (err error) {
			p, err = unix.IoctlGetTermios(fd, unix.TCGETS)
			return err
		})
		if err != nil {
			return t, err
		}
		t.legacy = true
	}
	t.Termios = *p
	return t, nil
}

// ttySet applies t at once (TCSANOW). Setting termios can sleep on the
// tty's locks, interruptibly: hence the retry on EINTR.
func ttySet(fd int, t *ttyTermios) error {
	var req uint = ttySets2
	if t.legacy {
		req = unix.TCSETS
	}
	return sysx.IgnoringEINTR(func() error { return unix.IoctlSetTermios(fd, req, &t.Termios) })
}

// ttySpeeds are the speeds with a Bxxx code (B0, hang up, is not a speed).
var ttySpeeds = [...]struct {
	baud int
	code uint32
}{
	{50, unix.B50}, {75, unix.B75}, {110, unix.B110}, {134, unix.B134},
	{150, unix.B150}, {200, unix.B200}, {300, unix.B300}, {600, unix.B600},
	{1200, unix.B1200}, {1800, unix.B1800}, {2400, unix.B2400},
	{4800, unix.B4800}, {9600, unix.B9600}, {19200, unix.B19200},
	{38400, unix.B38400}, {57600, unix.B57600}, {115200, unix.B115200},
	{230400, unix.B230400}, {460800, unix.B460800}, {500000, unix.B500000},
	{576000, unix.B576000}, {921600, unix.B921600}, {1000000, unix.B1000000},
	{1152000, unix.B1152000}, {1500000, unix.B1500000},
	{2000000, unix.B2000000}, {2500000, unix.B2500000},
	{3000000, unix.B3000000}, {3500000, unix.B3500000},
	{4000000, unix.B4000000},
}

// speed returns the output speed: the Bxxx code's, or with BOTHER the
// number in Ospeed. 0 is B0.
func (t *ttyTermios) speed() int {
	code := t.Cflag & unix.CBAUD
	if code == unix.BOTHER {
		return int(t.Ospeed)
	}
	for _, sp := range ttySpeeds {
		if sp.code == code {
			return sp.baud
		}
	}
	return 0
}

// setSpeed sets both speeds to baud (> 0), the input speed through a CIBAUD
// of 0, which means "as the output".
func (t *ttyTermios) setSpeed(baud int) error {
	code := uint32(unix.BOTHER)
	for _, sp := range ttySpeeds {
		if sp.baud == baud {
			code = sp.code
			break
		}
	}
	if code == unix.BOTHER {
		if t.legacy {
			return ttyInvalid("baud %d is not a standard speed, and this kernel has no termios2 for others", baud)
		}
		if uint64(baud) > math.MaxUint32 {
			return ttyInvalid("baud %d does not fit in speed_t", baud)
		}
	}
	t.Cflag &^= unix.CBAUD | unix.CBAUD<<unix.IBSHIFT
	t.Cflag |= code
	t.Ispeed, t.Ospeed = uint32(baud), uint32(baud)
	return nil
}

func ttyFlush(fd int, mode FlushMode) error {
	queue := unix.TCIOFLUSH
	switch mode {
	case FlushInput:
		queue = unix.TCIFLUSH
	case FlushOutput:
		queue = unix.TCOFLUSH
	}
	// TCFLSH takes the queue by value, not through a pointer.
	return sysx.IgnoringEINTR(func() error { return unix.IoctlSetInt(fd, unix.TCFLSH, queue) })
}
