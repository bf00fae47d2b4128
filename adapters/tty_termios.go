//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package adapters

import "golang.org/x/sys/unix"

// The termios editing that Linux and the BSDs share: the flag names are the
// same, only their widths and the speed encoding differ (tty_linux.go,
// tty_bsd.go).

// The START and STOP characters of XON/XOFF flow control: ^Q and ^S.
const (
	ttyXON  = 0x11
	ttyXOFF = 0x13
)

// makeRaw does what cfmakeraw(3) does, and sets VMIN=1 VTIME=0 so a read
// waits for at least one byte (cfmakeraw leaves them to the caller).
func (t *ttyTermios) makeRaw() {
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
}

// setSerial applies c, already checked by ttyCheckSerial, as SetSerial
// documents.
func (t *ttyTermios) setSerial(c SerialConfig) error {
	t.makeRaw()
	t.Iflag &^= unix.IXOFF | unix.IXANY | unix.INPCK
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.PARODD | unix.CSTOPB | unix.CRTSCTS | ttyCMSPAR
	t.Cflag |= unix.CLOCAL | unix.CREAD
	switch c.DataBits {
	case 5:
		t.Cflag |= unix.CS5
	case 6:
		t.Cflag |= unix.CS6
	case 7:
		t.Cflag |= unix.CS7
	case 8:
		t.Cflag |= unix.CS8
	}
	switch c.Parity {
	case ParityOdd:
		t.Cflag |= unix.PARENB | unix.PARODD
	case ParityEven:
		t.Cflag |= unix.PARENB
	case ParityMark, ParitySpace:
		if ttyCMSPAR == 0 {
			return ttyInvalid("mark and space parity need CMSPAR, which only Linux has")
		}
		// CMSPAR makes PARODD the parity bit's value: 1 is mark.
		t.Cflag |= unix.PARENB | ttyCMSPAR
		if c.Parity == ParityMark {
			t.Cflag |= unix.PARODD
		}
	}
	if c.StopBits == StopBits2 {
		t.Cflag |= unix.CSTOPB
	}
	if c.RTSCTS {
		t.Cflag |= unix.CRTSCTS
	}
	if c.XONXOFF {
		t.Iflag |= unix.IXON | unix.IXOFF
		t.Cc[unix.VSTART] = ttyXON
		t.Cc[unix.VSTOP] = ttyXOFF
	}
	if c.Baud != 0 {
		return t.setSpeed(c.Baud)
	}
	return nil
}

// serial decodes t as GetSerial documents.
func (t *ttyTermios) serial() SerialConfig {
	c := SerialConfig{
		Baud:     t.speed(),
		StopBits: StopBits1,
		// Both directions: on the BSDs CRTSCTS is CCTS_OFLOW|CRTS_IFLOW.
		RTSCTS:  t.Cflag&unix.CRTSCTS == unix.CRTSCTS,
		XONXOFF: t.Iflag&(unix.IXON|unix.IXOFF) == unix.IXON|unix.IXOFF,
	}
	switch t.Cflag & unix.CSIZE {
	case unix.CS5:
		c.DataBits = 5
	case unix.CS6:
		c.DataBits = 6
	case unix.CS7:
		c.DataBits = 7
	default:
		c.DataBits = 8
	}
	switch {
	case t.Cflag&unix.PARENB == 0:
		c.Parity = ParityNone
	case t.Cflag&ttyCMSPAR != 0 && t.Cflag&unix.PARODD != 0:
		c.Parity = ParityMark
	case t.Cflag&ttyCMSPAR != 0:
		c.Parity = ParitySpace
	case t.Cflag&unix.PARODD != 0:
		c.Parity = ParityOdd
	default:
		c.Parity = ParityEven
	}
	if t.Cflag&unix.CSTOPB != 0 {
		c.StopBits = StopBits2
	}
	return c
}

func ttyGetWinSize(fd int) (WinSize, error) {
	w, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
	if err != nil {
		return WinSize{}, err
	}
	return WinSize{Rows: w.Row, Cols: w.Col, XPixel: w.Xpixel, YPixel: w.Ypixel}, nil
}

func ttySetWinSize(fd int, w WinSize) error {
	return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: w.Rows, Col: w.Cols, Xpixel: w.XPixel, Ypixel: w.YPixel})
}

func ttySetExclusive(fd int, on bool) error {
	var req uint = unix.TIOCNXCL
	if on {
		req = unix.TIOCEXCL
	}
	return unix.IoctlSetInt(fd, req, 0) // neither takes an argument
}
