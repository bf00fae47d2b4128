package adapters

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
)

// This file holds the serial-port functions that go beyond termios: modem
// lines, break, queue lengths, hang-up, RS485 and low latency. They share
// tty.go's plumbing (ttyControl, ttyPathErr, ttyPoll); the ioctls are in
// serial_unix.go (Linux and the BSDs), serial_linux.go (RS485, the
// serial_struct) and serial_bsd.go; every ioctl goes through ttyIoctl,
// which tests replace with a fake device.

// ModemLines is a set of RS-232 modem control lines. DTR and RTS are
// outputs, which SetModem changes; CTS, DSR, DCD and RI are inputs, which
// the other side drives. The values are this package's own, the same on
// every platform, and translated to the kernel's TIOCM_ bits (which differ
// on MIPS, for one).
type ModemLines uint32

const (
	ModemDTR ModemLines = 1 << iota // Data Terminal Ready (output)
	ModemRTS                        // Request To Send (output)
	ModemCTS                        // Clear To Send (input)
	ModemDSR                        // Data Set Ready (input)
	ModemDCD                        // Data Carrier Detect (input)
	ModemRI                         // Ring Indicator (input)

	modemOutputs = ModemDTR | ModemRTS
	modemAll     = ModemDTR | ModemRTS | ModemCTS | ModemDSR | ModemDCD | ModemRI
)

var modemNames = [...]string{"DTR", "RTS", "CTS", "DSR", "DCD", "RI"}

// String names the lines in m, "DTR|CTS" say, "0" for none; bits that are
// no line show as a hexadecimal rest.
func (m ModemLines) String() string {
	if m == 0 {
		return "0"
	}
	var parts []string
	for i, name := range modemNames {
		if m&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	if rest := m &^ modemAll; rest != 0 {
		parts = append(parts, fmt.Sprintf("%#x", uint32(rest)))
	}
	return strings.Join(parts, "|")
}

// GetModem returns the lines that are asserted on s (TIOCMGET): the
// outputs as last set and the inputs as the other side drives them. It
// does not block.
//
// Errors are *os.PathError with Op "getmodem" wrapping the errno or
// os.ErrClosed. A terminal whose driver has no modem lines (a pty: Linux's
// pty driver implements no tiocmget) gives an error that says so and wraps
// unix.ENOTTY; so does a Stream that is not a terminal at all. It is safe
// for concurrent use, alongside reads, writes and Close of s.
func GetModem(s *fdstream.Stream) (ModemLines, error) {
	var m ModemLines
	err := ttyControl(s, "getmodem", func(fd int) (err error) {
		m, err = serialGetModem(fd)
		return err
	})
	return m, err
}

// SetModem asserts the lines in on and releases those in off, DTR and RTS
// only, leaving the rest as they are. It does not block. Both lines move
// in one ioctl, so a board whose reset and boot pins hang on DTR and RTS
// (ESP32, CP2102 adapters) never sees the intermediate state: TIOCMBIS
// when there is only on, TIOCMBIC when there is only off, and otherwise
// TIOCMGET followed by one TIOCMSET of the result (not atomic against
// another process changing the lines in between).
//
// Errors are *os.PathError with Op "setmodem" wrapping unix.EINVAL, checked
// before s is touched, when on and off are both empty, share a line, hold
// an input line (CTS, DSR, DCD, RI) or bits that are no line; otherwise as
// for GetModem.
//
// It is safe for concurrent use, but two SetModem calls that both need
// TIOCMGET and TIOCMSET may interleave, the later one undoing the
// earlier one's change: serialize calls that change lines from several
// goroutines.
func SetModem(s *fdstream.Stream, on, off ModemLines) error {
	const op = "setmodem"
	switch {
	case (on|off)&^modemAll != 0:
		return ttyPathErr(op, s, ttyInvalid("%#x are not modem lines", uint32((on|off)&^modemAll)))
	case (on|off)&^modemOutputs != 0:
		return ttyPathErr(op, s, ttyInvalid("%v are inputs: only DTR and RTS can be set", (on|off)&^modemOutputs))
	case on&off != 0:
		return ttyPathErr(op, s, ttyInvalid("%v both on and off", on&off))
	case on|off == 0:
		return ttyPathErr(op, s, ttyInvalid("no modem line to change"))
	}
	return ttyControl(s, op, func(fd int) error { return serialSetModem(fd, on, off) })
}

// WaitModem waits until one of the lines in mask is in a different state
// from the one it has in last, and returns all the lines as they are then.
// Give it what GetModem or the previous WaitModem returned, so that no
// change between two calls is missed:
//
//	lines, err := adapters.GetModem(s)
//	for err == nil {
//		lines, err = adapters.WaitModem(ctx, s, adapters.ModemCTS|adapters.ModemDCD, lines)
//	}
//
// It blocks until a line changes, ctx is done, or s is closed; a ctx done
// at entry returns at once without looking. TIOCMIWAIT would sleep in the
// kernel where no ctx can reach it, so WaitModem polls TIOCMGET as Drain
// polls the output queue: sleeping 1ms between looks, doubling to 50ms. A
// pulse shorter than the current interval can therefore be missed; it
// starts no goroutine.
//
// Errors are *os.PathError with Op "waitmodem" wrapping ctx.Err(),
// fdstream.ErrNilContext, unix.EINVAL (checked first) for an empty mask or
// bits in mask or last that are no line, or GetModem's errors. It is safe
// for concurrent use.
func WaitModem(ctx context.Context, s *fdstream.Stream, mask, last ModemLines) (ModemLines, error) {
	const op = "waitmodem"
	switch {
	case ctx == nil:
		return 0, ttyPathErr(op, s, fdstream.ErrNilContext)
	case mask == 0:
		return 0, ttyPathErr(op, s, ttyInvalid("empty mask: no line to wait for"))
	case (mask|last)&^modemAll != 0:
		return 0, ttyPathErr(op, s, ttyInvalid("%#x are not modem lines", uint32((mask|last)&^modemAll)))
	}
	if err := ctx.Err(); err != nil {
		return 0, ttyPathErr(op, s, err)
	}
	var m ModemLines
	err := ttyPoll(ctx, s, op, func(fd int) (bool, error) {
		var err error
		m, err = serialGetModem(fd)
		return (m^last)&mask != 0, err
	})
	if err != nil {
		return 0, err
	}
	return m, nil
}

// SendBreak holds s's transmit line in the break condition (continuous
// spacing) for d, then releases it. It blocks until the output queue has
// drained (as Drain), then for d; a ctx done during either ends it early.
// The line is released in every case once the break was set: when ctx
// ends the wait, and also when s is closed meanwhile, because the break is
// set and cleared through a duplicate of s's descriptor (so a Close of s
// during the break does not end SendBreak before d, and the terminal stays
// open until it returns).
//
// It drains first because TIOCSBRK itself waits, in the kernel and with no
// way to cancel it, until the output queue is empty: draining with ctx
// first keeps that wait short (bytes written by another goroutine in
// between can still lengthen it). The length is SendBreak's timer, not the
// driver's: tcsendbreak(3) and TCSBRKP take lengths whose unit varies by
// platform and driver (pyserial#426). A ctx done at entry returns at once.
//
// On a Linux pty the break does nothing: the pty driver has no break_ctl,
// so the ioctls succeed and the other side receives nothing (on a real
// UART it reads a break as a NUL byte, or as \377 \0 \0 with PARMRK).
//
// Errors are *os.PathError with Op "sendbreak" wrapping unix.EINVAL for a
// d that is not positive (checked first), fdstream.ErrNilContext,
// ctx.Err(), the errno (ENOTTY when s is not a terminal; EIO after a
// hang-up), or os.ErrClosed. When both the wait and the release fail, the
// error wraps both.
//
// It is safe for concurrent use, but do not write to s during the break:
// what the UART shifts out then is lost in it.
func SendBreak(ctx context.Context, s *fdstream.Stream, d time.Duration) error {
	const op = "sendbreak"
	if ctx == nil {
		return ttyPathErr(op, s, fdstream.ErrNilContext)
	}
	if d <= 0 {
		return ttyPathErr(op, s, ttyInvalid("break length %v is not positive", d))
	}
	if err := ctx.Err(); err != nil {
		return ttyPathErr(op, s, err)
	}
	if err := Drain(ctx, s); err != nil {
		return ttyPathErr(op, s, err)
	}
	dup := -1
	err := ttyControl(s, op, func(fd int) error {
		nfd, err := serialDup(fd)
		if err != nil {
			return err
		}
		if err := serialBreak(nfd, true); err != nil {
			unix.Close(nfd)
			return err
		}
		dup = nfd
		return nil
	})
	if err != nil {
		return err
	}
	timer := time.NewTimer(d)
	var werr error
	select {
	case <-ctx.Done():
		werr = ctx.Err()
	case <-timer.C:
	}
	timer.Stop()
	cerr := serialBreak(dup, false)
	unix.Close(dup)
	switch {
	case werr != nil && cerr != nil:
		return ttyPathErr(op, s, errors.Join(werr, cerr))
	case werr != nil:
		return ttyPathErr(op, s, werr)
	case cerr != nil:
		return ttyPathErr(op, s, cerr)
	}
	return nil
}

// InQueue returns the number of received bytes waiting to be read from s
// (TIOCINQ; FIONREAD on the BSDs). It does not block. It is the same
// request as FIONREAD, so it also counts what waits in a pipe or a
// socket. Errors are *os.PathError with Op "inqueue" wrapping the errno
// or os.ErrClosed. It is safe for concurrent use.
func InQueue(s *fdstream.Stream) (int, error) {
	var n int
	err := ttyControl(s, "inqueue", func(fd int) (err error) {
		n, err = ttyIoctlGetInt(fd, serialInQueueReq)
		return err
	})
	return n, err
}

// OutQueue returns the number of bytes written to s that the driver has
// not sent yet (TIOCOUTQ); a Linux pty has no output queue and reports 0.
// It does not block. Errors are *os.PathError with Op "outqueue" wrapping
// the errno or os.ErrClosed. It is safe for concurrent use.
func OutQueue(s *fdstream.Stream) (int, error) {
	var n int
	err := ttyControl(s, "outqueue", func(fd int) (err error) {
		n, err = ttyOutQueue(fd)
		return err
	})
	return n, err
}

// HungUp reports whether s's terminal has been hung up: a USB adapter
// unplugged (Linux's usb-serial and cdc-acm drivers hang the tty up), the
// other side of a pty closed, the carrier lost on a line without CLOCAL,
// or vhangup(2) called. From then on a read of s returns io.EOF, a write
// fails with an error for which IsHangUp holds, and so do the terminal
// ioctls: nothing on this descriptor will work again. The recovery is to
// Close s, find the device again (FindSerialPorts, by its USB serial
// number: a replugged adapter often comes back under another name) and
// open it anew.
//
// HungUp asks the driver: the terminal's settings (TCGETS, TIOCGETA) fail
// with EIO on a hung-up terminal (ENXIO too on the BSDs); and a pty master
// whose slave side is closed everywhere, though not hung up itself, polls
// POLLHUP, which HungUp also reports. It does not block.
//
// Errors are *os.PathError with Op "hungup" wrapping the errno (ENOTTY when
// s is not a terminal) or os.ErrClosed. It is safe for concurrent use.
func HungUp(s *fdstream.Stream) (bool, error) {
	var hung bool
	err := ttyControl(s, "hungup", func(fd int) error {
		_, err := ttyGet(fd)
		if err != nil {
			if serialIsHangUpErrno(err) {
				hung = true
				return nil
			}
			return err
		}
		hung, err = serialPollHUP(fd)
		return err
	})
	return hung, err
}

// IsHangUp reports whether err is what a hung-up terminal returns: an error
// wrapping EIO (on the BSDs, ENXIO too), as Stream.Write, Conn.Write and
// this package's terminal functions return after a hang-up. Use it on
// errors from a terminal: on a disk file EIO means a hardware fault.
//
// A read is different: on a hung-up terminal it returns io.EOF itself, not
// an error, because bufio and io.Copy compare with ==; HungUp tells a
// hang-up from an ordinary end of stream.
//
// On a hang-up a write's n counts the bytes the kernel accepted before it,
// not the bytes that went out on the wire: the hang-up flushes what was
// still queued in the driver (and in a USB adapter), so up to n bytes may
// be lost. Only the protocol on top can tell what the device received.
// It is safe for concurrent use.
func IsHangUp(err error) bool {
	if err == nil {
		return false
	}
	for _, e := range serialHangUpErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// RS485Config is a UART's RS485 mode, as Linux's struct serial_rs485 holds
// it: the driver turns the transceiver's driver-enable (wired to RTS) on
// around each transmission.
type RS485Config struct {
	// Enabled turns RS485 mode on (SER_RS485_ENABLED).
	Enabled bool
	// RTSOnSend: RTS is logical 1 while sending (SER_RS485_RTS_ON_SEND).
	RTSOnSend bool
	// RTSAfterSend: RTS is logical 1 after sending
	// (SER_RS485_RTS_AFTER_SEND). Most drivers want exactly one of
	// RTSOnSend and RTSAfterSend, and Linux picks RTSOnSend if neither.
	RTSAfterSend bool
	// RXDuringTX keeps the receiver on while sending, for a bus whose
	// echo is wanted (SER_RS485_RX_DURING_TX).
	RXDuringTX bool
	// TerminateBus switches the bus termination resistor on, where the
	// hardware has one (SER_RS485_TERMINATE_BUS, Linux 5.12).
	TerminateBus bool
	// DelayRTSBeforeSend and DelayRTSAfterSend are the driver-enable
	// delays, in whole milliseconds (the kernel's unit; Linux caps them at
	// 100ms).
	DelayRTSBeforeSend, DelayRTSAfterSend time.Duration
}

// SetRS485 configures s's UART for RS485 (TIOCSRS485, Linux only). The
// flags RS485Config does not name (address mode, RS422) are kept as the
// driver had them: SetRS485 reads the configuration (TIOCGRS485), changes
// what c says, and writes it back. The driver may adjust what it is given
// (delays capped, RTS polarity fixed up); GetRS485 reports what it
// applied. It does not block.
//
// Errors are *os.PathError with Op "setrs485" wrapping unix.EINVAL, checked
// first, for a negative delay or one that is not a whole number of
// milliseconds or does not fit in 32 bits; the errno, which for a driver
// without RS485 support (a pty, most USB adapters) is ENOTTY; unix.ENOTSUP
// outside Linux; or os.ErrClosed. It is safe for concurrent use; two
// concurrent SetRS485 calls may interleave their read and write.
func SetRS485(s *fdstream.Stream, c RS485Config) error {
	const op = "setrs485"
	for _, d := range []time.Duration{c.DelayRTSBeforeSend, c.DelayRTSAfterSend} {
		if d < 0 || d%time.Millisecond != 0 || d/time.Millisecond > math.MaxUint32 {
			return ttyPathErr(op, s, ttyInvalid("RS485 delay %v is not a whole number of milliseconds from 0 to 2^32-1", d))
		}
	}
	return ttyControl(s, op, func(fd int) error { return serialSetRS485(fd, c) })
}

// GetRS485 returns s's RS485 configuration (TIOCGRS485, Linux only). It
// does not block. Errors are *os.PathError with Op "getrs485" wrapping the
// errno (ENOTTY from a driver without RS485 support, a pty among them),
// unix.ENOTSUP outside Linux, or os.ErrClosed. It is safe for concurrent
// use.
func GetRS485(s *fdstream.Stream) (RS485Config, error) {
	var c RS485Config
	err := ttyControl(s, "getrs485", func(fd int) (err error) {
		c, err = serialGetRS485(fd)
		return err
	})
	return c, err
}

// SetLowLatency turns the driver's low-latency flag (ASYNC_LOW_LATENCY) on
// or off through TIOCGSERIAL and TIOCSSERIAL, on Linux, leaving the rest of
// the serial_struct as the driver reported it. What it does depends on the
// driver: ftdi_sio, for one, shortens the adapter's latency timer from
// 16ms to 1ms, so small replies arrive sooner. It does not block.
//
// Errors are *os.PathError with Op "setlowlatency" wrapping the errno
// (ENOTTY from a driver without a serial_struct, a pty among them),
// unix.ENOTSUP outside Linux, or os.ErrClosed. It is safe for concurrent
// use; two concurrent calls may interleave their read and write.
func SetLowLatency(s *fdstream.Stream, on bool) error {
	return ttyControl(s, "setlowlatency", func(fd int) error { return serialSetLowLatency(fd, on) })
}

// LowLatency reports whether the driver's low-latency flag is on
// (TIOCGSERIAL, Linux only). It does not block. Errors are as for
// SetLowLatency, with Op "lowlatency". It is safe for concurrent use.
func LowLatency(s *fdstream.Stream) (bool, error) {
	var on bool
	err := ttyControl(s, "lowlatency", func(fd int) (err error) {
		on, err = serialLowLatency(fd)
		return err
	})
	return on, err
}

// serialNoModemLines explains the ENOTTY of a modem-line ioctl on a
// terminal, which would otherwise read "inappropriate ioctl for device".
func serialNoModemLines(fd int, err error) error {
	if err != unix.ENOTTY {
		return err
	}
	if _, terr := ttyGet(fd); terr != nil {
		return err // not a terminal at all
	}
	return fmt.Errorf("adapters: this terminal's driver has no modem control lines (a pty has none): %w", err)
}
