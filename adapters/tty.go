package adapters

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
)

// This file holds the terminal functions' API and what they share: argument
// checks, errors, and Drain's polling. Each OS's file has the termios
// primitives (ttyGet, ttySet, the speed encoding, Flush's ioctl), and
// tty_termios.go the termios editing common to Linux and the BSDs.

// TTYState is a terminal's saved settings (its termios, speeds included),
// as GetState and MakeRaw return them for Restore. Only those functions
// make a usable one: Restore refuses a nil or zero TTYState, which would
// otherwise hang up the line (speed 0).
type TTYState struct {
	t     ttyTermios
	valid bool
}

// GetState returns s's current terminal settings, to give to Restore
// later. It does not block. Errors are *os.PathError with Op "getstate"
// wrapping the errno (ENOTTY when s is not a terminal) or os.ErrClosed.
func GetState(s *fdstream.Stream) (*TTYState, error) {
	var st TTYState
	err := ttyControl(s, "getstate", func(fd int) (err error) {
		st.t, err = ttyGet(fd)
		return err
	})
	if err != nil {
		return nil, err
	}
	st.valid = true
	return &st, nil
}

// Restore sets s's terminal settings back to st, at once (TCSANOW: output
// still queued is sent with the new settings, input is kept). It does not
// block. Errors are *os.PathError with Op "restore" wrapping unix.EINVAL
// for a nil or zero st, or the errno, or os.ErrClosed.
func Restore(s *fdstream.Stream, st *TTYState) error {
	if st == nil || !st.valid {
		return ttyPathErr("restore", s, ttyInvalid("TTYState not made by GetState or MakeRaw"))
	}
	t := st.t
	return ttyControl(s, "restore", func(fd int) error { return ttySet(fd, &t) })
}

// MakeRaw puts s's terminal in raw mode, as cfmakeraw(3) does: no echo, no
// line editing, no signals from ^C or ^Z, no input or output translation,
// 8-bit characters without parity, and VMIN=1 VTIME=0 so that a read
// returns as soon as one byte has arrived (a VMIN of 0 would make an idle
// terminal read as end of stream). It returns the settings it replaced, for
// Restore. It does not block; the change takes effect at once. Errors are
// *os.PathError with Op "makeraw" wrapping the errno (ENOTTY when s is not
// a terminal) or os.ErrClosed; on error s is left as it was.
func MakeRaw(s *fdstream.Stream) (*TTYState, error) {
	var st TTYState
	err := ttyControl(s, "makeraw", func(fd int) error {
		t, err := ttyGet(fd)
		if err != nil {
			return err
		}
		st.t = t
		t.makeRaw()
		return ttySet(fd, &t)
	})
	if err != nil {
		return nil, err
	}
	st.valid = true
	return &st, nil
}

// Parity is a serial line's parity bit.
type Parity int

const (
	ParityNone Parity = iota // no parity bit
	ParityOdd                // odd parity
	ParityEven               // even parity
	// ParityMark is a parity bit always 1 and ParitySpace one always 0
	// (CMSPAR). Only Linux has them; elsewhere SetSerial refuses them with
	// unix.EINVAL.
	ParityMark
	ParitySpace
)

// String returns "none", "odd", "even", "mark" or "space", or "Parity(n)"
// for a value that is none of those.
func (p Parity) String() string {
	switch p {
	case ParityNone:
		return "none"
	case ParityOdd:
		return "odd"
	case ParityEven:
		return "even"
	case ParityMark:
		return "mark"
	case ParitySpace:
		return "space"
	}
	return "Parity(" + strconv.Itoa(int(p)) + ")"
}

// StopBits is a serial line's number of stop bits.
type StopBits int

const (
	StopBits1 StopBits = 1 // one stop bit
	StopBits2 StopBits = 2 // two stop bits (CSTOPB)
)

// String returns "1" or "2", or "StopBits(n)" for any other value (0
// included, which SerialConfig reads as 1).
func (b StopBits) String() string {
	if b == StopBits1 || b == StopBits2 {
		return strconv.Itoa(int(b))
	}
	return "StopBits(" + strconv.Itoa(int(b)) + ")"
}

// SerialConfig is a serial line's framing, speed and flow control.
type SerialConfig struct {
	// Baud is the speed in bits per second, the same both ways. Zero
	// keeps the current speed.
	Baud int
	// DataBits is the character size, 5 to 8. Zero means 8.
	DataBits int
	// Parity is the parity bit; the zero value is ParityNone.
	Parity Parity
	// StopBits is StopBits1 or StopBits2. Zero means StopBits1.
	StopBits StopBits
	// RTSCTS turns hardware flow control (CRTSCTS) on.
	RTSCTS bool
	// XONXOFF turns software flow control on both ways: a received XOFF
	// (^S) stops output until XON (^Q) arrives (IXON), and the driver
	// sends XOFF and XON when its input buffer fills and empties (IXOFF).
	// The two bytes are then control characters: never use it to carry
	// binary data.
	XONXOFF bool
}

// String returns c in the notation of serial terminals: the speed, then
// data bits, parity letter (N, O, E, M or S) and stop bits, then "rtscts"
// if RTS/CTS flow control is on and "xonxoff" if XON/XOFF is, as in
// "115200 8N1 rtscts". Zero DataBits
// and StopBits print as the 8 and 1 they stand for, a zero Baud as 0; an
// unknown Parity or StopBits prints as "?".
func (c SerialConfig) String() string {
	data := c.DataBits
	if data == 0 {
		data = 8
	}
	parity := "?"
	if c.Parity >= ParityNone && c.Parity <= ParitySpace {
		parity = "NOEMS"[c.Parity : c.Parity+1]
	}
	stop := "?"
	switch c.StopBits {
	case 0, StopBits1:
		stop = "1"
	case StopBits2:
		stop = "2"
	}
	s := strconv.Itoa(c.Baud) + " " + strconv.Itoa(data) + parity + stop
	if c.RTSCTS {
		s += " rtscts"
	}
	if c.XONXOFF {
		s += " xonxoff"
	}
	return s
}

// SetSerial configures s as a serial line, in one ioctl: raw mode as
// MakeRaw sets it, c's speed, character size, parity, stop bits and RTS/CTS
// flow control, the receiver on (CREAD), modem status lines ignored
// (CLOCAL, so reads and writes do not wait for carrier), software flow
// control as c.XONXOFF says (IXON and IXOFF, with ^Q and ^S as the START
// and STOP characters; IXANY off), input parity checking off (INPCK: a
// byte with a parity error is passed on as received, as pyserial and most
// serial libraries configure it), VMIN=1 and VTIME=0. It does not block;
// the change takes effect at once.
//
// Speeds are as for SetBaud. A driver keeps silently what it cannot do,
// as tcsetattr(3) allows: Linux's pty driver always forces 8 data bits and
// no parity, for one. GetSerial reports what is in effect.
//
// Errors are *os.PathError with Op "setserial" wrapping unix.EINVAL for
// an invalid c (a negative Baud, DataBits other than 0 and 5 to 8, an
// unknown Parity or StopBits, mark or space parity outside Linux, a speed
// the OS cannot express), the errno of the ioctl (EINVAL from a driver
// that refuses the speed), or os.ErrClosed. On error s is left as it was:
// nothing is written until all of c has been checked and encoded.
func SetSerial(s *fdstream.Stream, c SerialConfig) error {
	const op = "setserial"
	if err := ttyCheckSerial(&c); err != nil {
		return ttyPathErr(op, s, err)
	}
	return ttyControl(s, op, func(fd int) error {
		t, err := ttyGet(fd)
		if err != nil {
			return err
		}
		if err := t.setSerial(c); err != nil {
			return err
		}
		return ttySet(fd, &t)
	})
}

// GetSerial returns s's serial settings as the kernel has them: the output
// speed (0 for a line hung up with B0), character size, parity, stop bits
// and whether RTS/CTS and XON/XOFF flow control are on. It does not
// block. Errors are *os.PathError with Op "getserial" wrapping the errno
// (ENOTTY when s is not a terminal) or os.ErrClosed.
func GetSerial(s *fdstream.Stream) (SerialConfig, error) {
	var c SerialConfig
	err := ttyControl(s, "getserial", func(fd int) error {
		t, err := ttyGet(fd)
		if err != nil {
			return err
		}
		c = t.serial()
		return nil
	})
	return c, err
}

// SetBaud sets s's input and output speed to baud bits per second and
// changes nothing else. It does not block; the change takes effect at
// once. The standard speeds (50 to 4000000 on Linux) go through the Bxxx
// codes; on Linux any other speed goes through termios2 with BOTHER, and
// the driver picks the nearest divisor it has, or refuses (a pty keeps
// any speed as given). On the BSDs and macOS the speed is the number
// itself, and the driver decides.
//
// Errors are *os.PathError with Op "setbaud" wrapping unix.EINVAL for a
// baud that is not positive or that the OS cannot express (beyond speed_t;
// not a Bxxx speed on a Linux without termios2), the errno of the ioctl
// (EINVAL from a driver that refuses the speed), or os.ErrClosed. On error
// s is left as it was.
func SetBaud(s *fdstream.Stream, baud int) error {
	const op = "setbaud"
	if baud <= 0 {
		return ttyPathErr(op, s, ttyInvalid("baud %d is not positive", baud))
	}
	return ttyControl(s, op, func(fd int) error {
		t, err := ttyGet(fd)
		if err != nil {
			return err
		}
		if err := t.setSpeed(baud); err != nil {
			return err
		}
		return ttySet(fd, &t)
	})
}

// Baud returns s's output speed in bits per second, as the kernel has it
// (a driver that could not do a requested speed reports the one it uses);
// 0 means the line is hung up (B0). It does not block. Errors are
// *os.PathError with Op "baud" wrapping the errno (ENOTTY when s is not a
// terminal) or os.ErrClosed.
func Baud(s *fdstream.Stream) (int, error) {
	var baud int
	err := ttyControl(s, "baud", func(fd int) error {
		t, err := ttyGet(fd)
		if err != nil {
			return err
		}
		baud = t.speed()
		return nil
	})
	return baud, err
}

// WinSize is a terminal's window size, in characters and in pixels (the
// pixel sizes are 0 where unknown).
type WinSize struct {
	Rows, Cols     uint16
	XPixel, YPixel uint16
}

// GetWinSize returns s's window size (TIOCGWINSZ). On a pty, master and
// slave report the same size. It does not block. Errors are *os.PathError
// with Op "getwinsize" wrapping the errno or os.ErrClosed.
func GetWinSize(s *fdstream.Stream) (WinSize, error) {
	var w WinSize
	err := ttyControl(s, "getwinsize", func(fd int) (err error) {
		w, err = ttyGetWinSize(fd)
		return err
	})
	return w, err
}

// SetWinSize sets s's window size (TIOCSWINSZ); a terminal emulator calls
// it on the pty master when its window is resized, and the kernel sends
// SIGWINCH to the terminal's foreground process group if the size
// changed. It does not block. Errors are *os.PathError with Op
// "setwinsize" wrapping the errno or os.ErrClosed.
func SetWinSize(s *fdstream.Stream, w WinSize) error {
	return ttyControl(s, "setwinsize", func(fd int) error { return ttySetWinSize(fd, w) })
}

// SetExclusive turns exclusive mode on or off (TIOCEXCL, TIOCNXCL): while
// it is on, further opens of the terminal fail with EBUSY, except by a
// process with CAP_SYS_ADMIN (root) on Linux, or root on the BSDs;
// descriptors already open keep working. It lasts until turned off or the
// terminal's last close. It does not block. Errors are *os.PathError with
// Op "setexclusive" wrapping the errno or os.ErrClosed.
func SetExclusive(s *fdstream.Stream, on bool) error {
	return ttyControl(s, "setexclusive", func(fd int) error { return ttySetExclusive(fd, on) })
}

// FlushMode says which of a terminal's queues Flush discards.
type FlushMode int

const (
	FlushInput  FlushMode = iota + 1 // received bytes not yet read
	FlushOutput                      // written bytes not yet sent
	FlushBoth                        // both
)

// String returns "input", "output" or "both", or "FlushMode(n)" for any
// other value.
func (m FlushMode) String() string {
	switch m {
	case FlushInput:
		return "input"
	case FlushOutput:
		return "output"
	case FlushBoth:
		return "both"
	}
	return "FlushMode(" + strconv.Itoa(int(m)) + ")"
}

// Flush discards the bytes in s's input queue, output queue or both, as
// tcflush(3) does. It does not block. Errors are *os.PathError with Op
// "flush" wrapping unix.EINVAL for an unknown mode (checked before s is
// touched), the errno (ENOTTY when s is not a terminal), or os.ErrClosed.
func Flush(s *fdstream.Stream, mode FlushMode) error {
	const op = "flush"
	if mode < FlushInput || mode > FlushBoth {
		return ttyPathErr(op, s, ttyInvalid("unknown FlushMode %d", mode))
	}
	return ttyControl(s, op, func(fd int) error { return ttyFlush(fd, mode) })
}

// Drain waits until s's output queue is empty: until everything written to
// s has left the driver (on a serial port, gone out on the wire). It
// blocks until the queue is empty, ctx is done, or s is closed. A ctx done
// at entry returns at once, without looking at the queue. On Linux a pty
// has no output queue (bytes written go straight to the other side's
// input), so Drain on one returns nil at once.
//
// tcdrain(3) would sleep in the kernel with nothing but a signal to end
// it, holding an OS thread, for as long as the line does not send (with
// RTS/CTS flow control and CTS down: forever). So Drain polls the queue's
// length instead (TIOCOUTQ), sleeping 1ms between looks and doubling that
// up to 50ms (ttyPoll); it starts no goroutine.
//
// Errors are *os.PathError with Op "drain" wrapping ctx.Err() (so
// errors.Is(err, context.Canceled) holds), fdstream.ErrNilContext, the
// errno (ENOTTY when s is not a terminal), or os.ErrClosed once s is
// closed.
func Drain(ctx context.Context, s *fdstream.Stream) error {
	const op = "drain"
	if ctx == nil {
		return ttyPathErr(op, s, fdstream.ErrNilContext)
	}
	if err := ctx.Err(); err != nil {
		return ttyPathErr(op, s, err)
	}
	return ttyPoll(ctx, s, op, func(fd int) (bool, error) {
		n, err := ttyOutQueue(fd)
		return n == 0, err
	})
}

// ttyControl runs f on s's fd, holding it open, and wraps f's error, or
// the reason f could not run, as an *os.PathError with op.
func ttyControl(s *fdstream.Stream, op string, f func(fd int) error) error {
	rc, err := s.SyscallConn()
	if err != nil {
		return ttyPathErr(op, s, err)
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return ttyPathErr(op, s, err)
	}
	if ferr != nil {
		return ttyPathErr(op, s, ferr)
	}
	return nil
}

// ttyPathErr wraps err once: the Stream's own *os.PathError (Op
// "SyscallConn" or "control" after Close) gives up its Err.
func ttyPathErr(op string, s *fdstream.Stream, err error) error {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	return &os.PathError{Op: op, Path: s.Name(), Err: err}
}

// ttyInvalid is an argument error: it says what is wrong and wraps
// unix.EINVAL (for which errors.Is(err, os.ErrInvalid) also holds).
func ttyInvalid(format string, args ...any) error {
	return fmt.Errorf("adapters: "+format+": %w", append(args, unix.EINVAL)...)
}

// ttyCheckSerial checks c and fills in its defaults.
func ttyCheckSerial(c *SerialConfig) error {
	if c.Baud < 0 {
		return ttyInvalid("baud %d is negative", c.Baud)
	}
	switch c.DataBits {
	case 0:
		c.DataBits = 8
	case 5, 6, 7, 8:
	default:
		return ttyInvalid("%d data bits, want 5 to 8", c.DataBits)
	}
	if c.Parity < ParityNone || c.Parity > ParitySpace {
		return ttyInvalid("unknown Parity %d", c.Parity)
	}
	switch c.StopBits {
	case 0:
		c.StopBits = StopBits1
	case StopBits1, StopBits2:
	default:
		return ttyInvalid("unknown StopBits %d", c.StopBits)
	}
	return nil
}
