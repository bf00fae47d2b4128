package adapters_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
	"github.com/fdstream/fdstream/internal/fdtest"
	"github.com/fdstream/fdstream/internal/streamtest"
)

// serialCall is one ioctl the fake device saw.
type serialCall struct {
	fd  int
	req uint
	arg []byte // a copy, as given
}

// serialFake is a UART as the terminal functions see it through
// adapters.TTYSetIoctlHook: modem lines (in the kernel's TIOCM bits), an
// RS485 configuration and a serial_struct, each as the kernel's bytes. A
// pty refuses all three, so this is where their logic and encoding are
// checked. Requests it does not fake (termios, TIOCOUTQ, break) go to the
// kernel, and every request is logged.
type serialFake struct {
	mu    sync.Mutex
	tiocm int
	rs485 [32]byte
	ss    []byte
	calls []serialCall
	seen  chan uint // each request, if there is room
}

func serialTestFake(t *testing.T) *serialFake {
	t.Helper()
	f := &serialFake{seen: make(chan uint, 1)}
	// sizeof(struct serial_struct): 72 bytes with 8-byte pointers, 60 with
	// 4-byte ones.
	f.ss = make([]byte, 72)
	if unsafe.Sizeof(uintptr(0)) == 4 {
		f.ss = make([]byte, 60)
	}
	t.Cleanup(adapters.TTYSetIoctlHook(f.ioctl))
	return f
}

var native = binary.NativeEndian

func (f *serialFake) ioctl(fd int, req uint, arg []byte) error {
	f.mu.Lock()
	f.calls = append(f.calls, serialCall{fd, req, bytes.Clone(arg)})
	var err error
	switch req {
	case unix.TIOCMGET:
		native.PutUint32(arg, uint32(f.tiocm))
	case unix.TIOCMBIS:
		f.tiocm |= int(native.Uint32(arg))
	case unix.TIOCMBIC:
		f.tiocm &^= int(native.Uint32(arg))
	case unix.TIOCMSET:
		f.tiocm = int(native.Uint32(arg))
	case unix.TIOCGRS485:
		if len(arg) != len(f.rs485) {
			err = unix.EFAULT
		}
		copy(arg, f.rs485[:])
	case unix.TIOCSRS485:
		if len(arg) != len(f.rs485) {
			err = unix.EFAULT
		}
		copy(f.rs485[:], arg)
	case unix.TIOCGSERIAL:
		if len(arg) != len(f.ss) {
			err = unix.EFAULT
		}
		copy(arg, f.ss)
	case unix.TIOCSSERIAL:
		if len(arg) != len(f.ss) {
			err = unix.EFAULT
		}
		copy(f.ss, arg)
	default:
		err = adapters.TTYRealIoctl(fd, req, arg)
	}
	f.mu.Unlock()
	select {
	case f.seen <- req:
	default:
	}
	return err
}

// take returns the calls logged so far and clears the log.
func (f *serialFake) take() []serialCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

func (f *serialFake) setLines(bits int) {
	f.mu.Lock()
	f.tiocm = bits
	f.mu.Unlock()
}

func (f *serialFake) lines() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tiocm
}

// serialReqs lists the requests of calls.
func serialReqs(calls []serialCall) []uint {
	var r []uint
	for _, c := range calls {
		r = append(r, c.req)
	}
	return r
}

func serialInt(b []byte) int { return int(native.Uint32(b)) }

// Linux ptys have no modem lines (the pty driver implements no tiocmget
// or tiocmset): each modem-line function gives an error that says so and
// wraps ENOTTY, on both sides; a Stream that is not a terminal gives
// plain ENOTTY.
func TestSerialModemPTY(t *testing.T) {
	master, slave := streamtest.PTY(t)
	r, w, err := fdstream.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	calls := []struct {
		op   string
		call func(s *fdstream.Stream) error
	}{
		{"getmodem", func(s *fdstream.Stream) error { _, err := adapters.GetModem(s); return err }},
		{"setmodem", func(s *fdstream.Stream) error { return adapters.SetModem(s, adapters.ModemDTR, 0) }},
		{"setmodem", func(s *fdstream.Stream) error { return adapters.SetModem(s, 0, adapters.ModemRTS) }},
		{"setmodem", func(s *fdstream.Stream) error { return adapters.SetModem(s, adapters.ModemDTR, adapters.ModemRTS) }},
		{"waitmodem", func(s *fdstream.Stream) error {
			_, err := adapters.WaitModem(ctx, s, adapters.ModemCTS, 0)
			return err
		}},
	}
	for _, c := range calls {
		for _, s := range []*fdstream.Stream{master, slave} {
			err := c.call(s)
			ttyTestWantErr(t, err, c.op, s, unix.ENOTTY)
			if err != nil && !strings.Contains(err.Error(), "no modem control lines") {
				t.Errorf("%s on a pty: %q does not say the terminal has no modem lines", c.op, err)
			}
		}
		err := c.call(r)
		ttyTestWantErr(t, err, c.op, r, unix.ENOTTY)
		if err != nil && strings.Contains(err.Error(), "modem control lines") {
			t.Errorf("%s on a pipe: %q talks of modem lines; a pipe is no terminal", c.op, err)
		}
	}
}

// The modem-line logic on a fake UART: inputs decode, DTR and RTS change
// in one ioctl each time (TIOCMBIS, TIOCMBIC, or TIOCMGET and one TIOCMSET
// that keeps the driver's other bits), and the kernel sees its own bits.
func TestSerialModemLines(t *testing.T) {
	_, slave := streamtest.PTY(t)
	f := serialTestFake(t)
	const out2 = 0x4000 // TIOCM_OUT2: a 16550's bit the driver owns
	f.setLines(unix.TIOCM_RTS | unix.TIOCM_CTS | unix.TIOCM_DSR | unix.TIOCM_CAR | unix.TIOCM_RNG | out2)

	got, err := adapters.GetModem(slave)
	if err != nil {
		t.Fatal(err)
	}
	if want := adapters.ModemRTS | adapters.ModemCTS | adapters.ModemDSR | adapters.ModemDCD | adapters.ModemRI; got != want {
		t.Errorf("GetModem = %v, want %v", got, want)
	}
	if s := got.String(); s != "RTS|CTS|DSR|DCD|RI" {
		t.Errorf("String = %q", s)
	}
	f.take()

	for _, tc := range []struct {
		name    string
		on, off adapters.ModemLines
		reqs    []uint
		arg     int // the last request's argument
		after   int
	}{
		{"DTR on", adapters.ModemDTR, 0, []uint{unix.TIOCMBIS}, unix.TIOCM_DTR,
			unix.TIOCM_DTR | unix.TIOCM_RTS | unix.TIOCM_CTS | unix.TIOCM_DSR | unix.TIOCM_CAR | unix.TIOCM_RNG | out2},
		{"RTS off", 0, adapters.ModemRTS, []uint{unix.TIOCMBIC}, unix.TIOCM_RTS,
			unix.TIOCM_DTR | unix.TIOCM_CTS | unix.TIOCM_DSR | unix.TIOCM_CAR | unix.TIOCM_RNG | out2},
		// The ESP32 reset sequence: DTR off and RTS on at the same instant.
		{"DTR off RTS on", adapters.ModemRTS, adapters.ModemDTR, []uint{unix.TIOCMGET, unix.TIOCMSET},
			unix.TIOCM_RTS | unix.TIOCM_CTS | unix.TIOCM_DSR | unix.TIOCM_CAR | unix.TIOCM_RNG | out2,
			unix.TIOCM_RTS | unix.TIOCM_CTS | unix.TIOCM_DSR | unix.TIOCM_CAR | unix.TIOCM_RNG | out2},
		{"both on", adapters.ModemDTR | adapters.ModemRTS, 0, []uint{unix.TIOCMBIS}, unix.TIOCM_DTR | unix.TIOCM_RTS,
			unix.TIOCM_DTR | unix.TIOCM_RTS | unix.TIOCM_CTS | unix.TIOCM_DSR | unix.TIOCM_CAR | unix.TIOCM_RNG | out2},
		{"both off", 0, adapters.ModemDTR | adapters.ModemRTS, []uint{unix.TIOCMBIC}, unix.TIOCM_DTR | unix.TIOCM_RTS,
			unix.TIOCM_CTS | unix.TIOCM_DSR | unix.TIOCM_CAR | unix.TIOCM_RNG | out2},
	} {
		if err := adapters.SetModem(slave, tc.on, tc.off); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		calls := f.take()
		if got := serialReqs(calls); !equalUints(got, tc.reqs) {
			t.Errorf("%s: requests %#x, want %#x", tc.name, got, tc.reqs)
			continue
		}
		if got := serialInt(calls[len(calls)-1].arg); got != tc.arg {
			t.Errorf("%s: %#x given %#x, want %#x", tc.name, calls[len(calls)-1].req, got, tc.arg)
		}
		if got := f.lines(); got != tc.after {
			t.Errorf("%s: lines %#x, want %#x", tc.name, got, tc.after)
		}
	}
}

func equalUints(a, b []uint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// WaitModem returns once a line in its mask differs from last, not for a
// change outside the mask; it ends on ctx and on Close; a ctx done at entry
// looks at nothing.
func TestSerialWaitModem(t *testing.T) {
	waitLook := func(t *testing.T, f *serialFake, done <-chan error) {
		t.Helper()
		for {
			select {
			case req := <-f.seen:
				if req == unix.TIOCMGET {
					return
				}
			case err := <-done:
				t.Fatalf("WaitModem returned %v before its line changed", err)
			}
		}
	}
	t.Run("change", func(t *testing.T) {
		_, slave := streamtest.PTY(t)
		f := serialTestFake(t)
		f.setLines(unix.TIOCM_DTR)
		ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
		defer cancel()
		type result struct {
			m   adapters.ModemLines
			err error
		}
		res := make(chan result, 1)
		errc := make(chan error, 1)
		go func() {
			m, err := adapters.WaitModem(ctx, slave, adapters.ModemCTS|adapters.ModemDCD, adapters.ModemDTR)
			res <- result{m, err}
			errc <- err
		}()
		waitLook(t, f, errc)
		// DSR is not in the mask: WaitModem looks again and again.
		f.setLines(unix.TIOCM_DTR | unix.TIOCM_DSR)
		waitLook(t, f, errc)
		waitLook(t, f, errc)
		f.setLines(unix.TIOCM_DTR | unix.TIOCM_DSR | unix.TIOCM_CAR)
		r := <-res
		if want := adapters.ModemDTR | adapters.ModemDSR | adapters.ModemDCD; r.err != nil || r.m != want {
			t.Errorf("WaitModem = %v, %v; want %v", r.m, r.err, want)
		}
	})
	t.Run("already different", func(t *testing.T) {
		_, slave := streamtest.PTY(t)
		f := serialTestFake(t)
		f.setLines(unix.TIOCM_CTS)
		m, err := adapters.WaitModem(context.Background(), slave, adapters.ModemCTS, 0)
		if err != nil || m != adapters.ModemCTS {
			t.Errorf("WaitModem with CTS already up = %v, %v; want CTS at once", m, err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		_, slave := streamtest.PTY(t)
		f := serialTestFake(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		errc := make(chan error, 1)
		go func() {
			_, err := adapters.WaitModem(ctx, slave, adapters.ModemRI, 0)
			errc <- err
		}()
		waitLook(t, f, errc)
		cancel()
		ttyTestWantErr(t, <-errc, "waitmodem", slave, context.Canceled)
	})
	t.Run("closed", func(t *testing.T) {
		_, slave := streamtest.PTY(t)
		f := serialTestFake(t)
		errc := make(chan error, 1)
		go func() {
			_, err := adapters.WaitModem(context.Background(), slave, adapters.ModemRI, 0)
			errc <- err
		}()
		waitLook(t, f, errc)
		slave.Close()
		ttyTestWantErr(t, <-errc, "waitmodem", slave, os.ErrClosed)
	})
	t.Run("done at entry", func(t *testing.T) {
		_, slave := streamtest.PTY(t)
		f := serialTestFake(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := adapters.WaitModem(ctx, slave, adapters.ModemRI, 0)
		ttyTestWantErr(t, err, "waitmodem", slave, context.Canceled)
		if calls := f.take(); len(calls) != 0 {
			t.Errorf("WaitModem with a done ctx made %d ioctls", len(calls))
		}
	})
}

// ttyTestRdev returns the device number of the terminal behind fd.
func ttyTestRdev(t *testing.T, fd int) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatalf("fstat %d: %v", fd, err)
	}
	return uint64(st.Rdev) // uint32 on some platforms
}

// A break on a Linux pty: the pty driver has no break_ctl, so TIOCSBRK and
// TIOCCBRK succeed and nothing reaches the other side. With BRKINT and
// PARMRK off (raw mode), a UART would deliver a NUL byte for it; a pty
// delivers no byte at all, which is asserted here both ways: the next byte
// the other side reads is the one written after the break, and nothing
// else is queued. The ioctls are seen (passed on to the kernel) to run on
// the order drain, set, clear (TestSerialSendBreakReleased checks that
// they reach the same terminal).
func TestSerialSendBreakPTY(t *testing.T) {
	master, slave := streamtest.PTY(t)
	if _, err := adapters.MakeRaw(slave); err != nil {
		t.Fatal(err)
	}
	tio := ttyTestTermios(t, slave)
	if tio.Iflag&(unix.BRKINT|unix.PARMRK|unix.IGNBRK) != 0 {
		t.Fatalf("raw slave iflag %#x still has BRKINT, PARMRK or IGNBRK", tio.Iflag)
	}
	f := serialTestFake(t)
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	for _, dir := range []struct{ from, to *fdstream.Stream }{{slave, master}, {master, slave}} {
		if err := adapters.SendBreak(ctx, dir.from, 5*time.Millisecond); err != nil {
			t.Fatalf("SendBreak(%s): %v", dir.from.Name(), err)
		}
		if _, err := dir.from.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if got := ttyTestReadN(t, dir.to, 1); got != "x" {
			t.Errorf("after a break from %s the other side read %q, want %q (a pty sends no break)", dir.from.Name(), got, "x")
		}
		if n, err := adapters.InQueue(dir.to); err != nil || n != 0 {
			t.Errorf("after the break and one byte, %d bytes (%v) wait on the other side; want 0", n, err)
		}
		var reqs []uint
		for _, c := range f.take() {
			switch c.req {
			case unix.TIOCSBRK, unix.TIOCCBRK:
				reqs = append(reqs, c.req)
			case unix.TIOCOUTQ:
				if len(reqs) == 0 {
					reqs = append(reqs, c.req)
				}
			}
		}
		if want := []uint{unix.TIOCOUTQ, unix.TIOCSBRK, unix.TIOCCBRK}; !equalUints(reqs, want) {
			t.Errorf("SendBreak(%s) made %#x, want drain, TIOCSBRK, TIOCCBRK %#x", dir.from.Name(), reqs, want)
		}
	}
}

// The break is released when ctx ends the wait early, and also when the
// Stream is closed during the break: TIOCCBRK runs on a duplicate of the
// descriptor, on the same terminal.
func TestSerialSendBreakReleased(t *testing.T) {
	for _, closeFirst := range []bool{false, true} {
		name := "canceled"
		if closeFirst {
			name = "closed then canceled"
		}
		t.Run(name, func(t *testing.T) {
			_, slave := streamtest.PTY(t)
			var rdev uint64
			ttyTestControl(t, slave, func(fd int) error { rdev = ttyTestRdev(t, fd); return nil })
			type brk struct {
				req  uint
				rdev uint64
			}
			breaks := make(chan brk, 2)
			restore := adapters.TTYSetIoctlHook(func(fd int, req uint, arg []byte) error {
				if req == unix.TIOCSBRK || req == unix.TIOCCBRK {
					var st unix.Stat_t
					unix.Fstat(fd, &st)
					breaks <- brk{req, uint64(st.Rdev)}
				}
				return adapters.TTYRealIoctl(fd, req, arg)
			})
			t.Cleanup(restore)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- adapters.SendBreak(ctx, slave, time.Hour) }()
			b := <-breaks
			if b.req != unix.TIOCSBRK || b.rdev != rdev {
				t.Fatalf("first break ioctl %#x on %#x, want TIOCSBRK on %#x", b.req, b.rdev, rdev)
			}
			if closeFirst {
				if err := slave.Close(); err != nil {
					t.Fatal(err)
				}
			}
			cancel()
			ttyTestWantErr(t, <-errc, "sendbreak", slave, context.Canceled)
			select {
			case b = <-breaks:
			default:
				t.Fatal("SendBreak returned without TIOCCBRK: the line is left in break")
			}
			if b.req != unix.TIOCCBRK || b.rdev != rdev {
				t.Errorf("second break ioctl %#x on %#x, want TIOCCBRK on %#x", b.req, b.rdev, rdev)
			}
		})
	}
}

// InQueue counts what waits to be read; a pty's OutQueue is 0.
func TestSerialQueues(t *testing.T) {
	master, slave := streamtest.PTY(t)
	if _, err := adapters.MakeRaw(slave); err != nil {
		t.Fatal(err)
	}
	if n, err := adapters.InQueue(slave); err != nil || n != 0 {
		t.Fatalf("InQueue of a fresh pty = %d, %v", n, err)
	}
	if _, err := master.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	ttyTestWaitInput(t, slave, 5)
	if n, err := adapters.InQueue(slave); err != nil || n != 5 {
		t.Errorf("InQueue = %d, %v; want 5", n, err)
	}
	if _, err := slave.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if n, err := adapters.OutQueue(slave); err != nil || n != 0 {
		t.Errorf("OutQueue of a pty = %d, %v; want 0 (a pty has no output queue)", n, err)
	}
	if got := ttyTestReadN(t, slave, 5); got != "hello" {
		t.Errorf("read %q", got)
	}
}

// XON/XOFF works on a pty: with XONXOFF on, an XOFF from the other side
// stops the slave's output (a write finds no room: EAGAIN) and an XON
// lets it go on; nothing written is lost, and the two control bytes are
// not delivered as data. SetSerial sets IXON and IXOFF, GetSerial reports
// it, and turning it off clears both.
func TestSerialXONXOFF(t *testing.T) {
	master, slave := streamtest.PTY(t)
	if err := adapters.SetSerial(slave, adapters.SerialConfig{Baud: 9600, XONXOFF: true}); err != nil {
		t.Fatal(err)
	}
	tio := ttyTestTermios(t, slave)
	if tio.Iflag&(unix.IXON|unix.IXOFF) != unix.IXON|unix.IXOFF || tio.Iflag&unix.IXANY != 0 ||
		tio.Cc[unix.VSTART] != 0x11 || tio.Cc[unix.VSTOP] != 0x13 {
		t.Fatalf("iflag %#x VSTART %#x VSTOP %#x: want IXON|IXOFF, no IXANY, ^Q ^S", tio.Iflag, tio.Cc[unix.VSTART], tio.Cc[unix.VSTOP])
	}
	if c, err := adapters.GetSerial(slave); err != nil || !c.XONXOFF {
		t.Fatalf("GetSerial = %+v, %v; want XONXOFF", c, err)
	}
	// rawWrite makes one write(2) on the slave.
	rawWrite := func(p string) (n int, err error) {
		ttyTestControl(t, slave, func(fd int) error {
			n, err = unix.Write(fd, []byte(p))
			return nil
		})
		return n, err
	}
	// XOFF, then a marker byte: once the marker is in the slave's input
	// queue, the line discipline has processed the XOFF before it.
	if _, err := master.Write([]byte("\x13m")); err != nil {
		t.Fatal(err)
	}
	ttyTestWaitInput(t, slave, 1)
	if n, err := rawWrite("held"); err != unix.EAGAIN || n > 0 {
		t.Fatalf("write after XOFF = %d, %v; want EAGAIN (output stopped)", n, err)
	}
	if _, err := master.Write([]byte("\x11n")); err != nil {
		t.Fatal(err)
	}
	ttyTestWaitInput(t, slave, 2)
	if n, err := rawWrite("sent"); err != nil || n != 4 {
		t.Fatalf("write after XON = %d, %v; want 4, nil", n, err)
	}
	if got := ttyTestReadN(t, master, 4); got != "sent" {
		t.Errorf("master read %q after XON, want %q", got, "sent")
	}
	if got := ttyTestReadN(t, slave, 2); got != "mn" {
		t.Errorf("slave read %q, want the markers %q without the control bytes", got, "mn")
	}

	if err := adapters.SetSerial(slave, adapters.SerialConfig{Baud: 9600}); err != nil {
		t.Fatal(err)
	}
	if tio := ttyTestTermios(t, slave); tio.Iflag&(unix.IXON|unix.IXOFF|unix.IXANY) != 0 {
		t.Errorf("XONXOFF off: iflag %#x still has IXON, IXOFF or IXANY", tio.Iflag)
	}
	if c, err := adapters.GetSerial(slave); err != nil || c.XONXOFF {
		t.Errorf("GetSerial = %+v, %v; want XONXOFF off", c, err)
	}
}

// RS485 and low latency on a pty give the kernel's real error: ENOTTY
// (the pty driver has neither rs485_config nor get_serial).
func TestSerialRS485AndLowLatencyPTY(t *testing.T) {
	_, slave := streamtest.PTY(t)
	_, err := adapters.GetRS485(slave)
	ttyTestWantErr(t, err, "getrs485", slave, unix.ENOTTY)
	ttyTestWantErr(t, adapters.SetRS485(slave, adapters.RS485Config{Enabled: true}), "setrs485", slave, unix.ENOTTY)
	_, err = adapters.LowLatency(slave)
	ttyTestWantErr(t, err, "lowlatency", slave, unix.ENOTTY)
	ttyTestWantErr(t, adapters.SetLowLatency(slave, true), "setlowlatency", slave, unix.ENOTTY)
}

// The RS485 encoding on a fake UART, against struct serial_rs485's layout
// (include/uapi/linux/serial.h): flags at byte 0, the delays in ms at 4
// and 8, 32 bytes in all. SetRS485 changes the flags it names and keeps
// the others (ADDRB, bit 6) and the address bytes in the padding.
func TestSerialRS485Encoding(t *testing.T) {
	_, slave := streamtest.PTY(t)
	f := serialTestFake(t)
	const addrb = 1 << 6
	native.PutUint32(f.rs485[0:], addrb|1<<2) // ADDRB, RTS_AFTER_SEND
	f.rs485[12], f.rs485[13] = 0x12, 0x34     // addr_recv, addr_dest

	err := adapters.SetRS485(slave, adapters.RS485Config{
		Enabled: true, RTSOnSend: true, RXDuringTX: true, TerminateBus: true,
		DelayRTSBeforeSend: 5 * time.Millisecond, DelayRTSAfterSend: 70 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	calls := f.take()
	if got, want := serialReqs(calls), []uint{unix.TIOCGRS485, unix.TIOCSRS485}; !equalUints(got, want) {
		t.Fatalf("requests %#x, want %#x", got, want)
	}
	var want [32]byte
	native.PutUint32(want[0:], 1|1<<1|1<<4|1<<5|addrb)
	native.PutUint32(want[4:], 5)
	native.PutUint32(want[8:], 70)
	want[12], want[13] = 0x12, 0x34
	if got := calls[1].arg; !bytes.Equal(got, want[:]) {
		t.Errorf("TIOCSRS485 given\n% x\nwant\n% x", got, want)
	}

	native.PutUint32(f.rs485[0:], 1|1<<2|addrb)
	native.PutUint32(f.rs485[4:], 0)
	native.PutUint32(f.rs485[8:], 100)
	c, err := adapters.GetRS485(slave)
	if err != nil {
		t.Fatal(err)
	}
	if w := (adapters.RS485Config{Enabled: true, RTSAfterSend: true, DelayRTSAfterSend: 100 * time.Millisecond}); c != w {
		t.Errorf("GetRS485 = %+v, want %+v", c, w)
	}
}

// The low-latency encoding on a fake UART, against struct serial_struct's
// layout: flags is the int at byte 16 and ASYNC_LOW_LATENCY its bit 13;
// every other byte the driver reported goes back unchanged.
func TestSerialLowLatencyEncoding(t *testing.T) {
	_, slave := streamtest.PTY(t)
	f := serialTestFake(t)
	for i := range f.ss {
		f.ss[i] = byte(i*7 + 1)
	}
	native.PutUint32(f.ss[16:], 0x10000040) // some flags, low latency off
	orig := bytes.Clone(f.ss)

	if on, err := adapters.LowLatency(slave); err != nil || on {
		t.Fatalf("LowLatency = %v, %v; want false", on, err)
	}
	if err := adapters.SetLowLatency(slave, true); err != nil {
		t.Fatal(err)
	}
	calls := f.take()
	if got, want := serialReqs(calls), []uint{unix.TIOCGSERIAL, unix.TIOCGSERIAL, unix.TIOCSSERIAL}; !equalUints(got, want) {
		t.Fatalf("requests %#x, want %#x", got, want)
	}
	want := bytes.Clone(orig)
	native.PutUint32(want[16:], 0x10000040|1<<13)
	if got := calls[2].arg; !bytes.Equal(got, want) {
		t.Errorf("TIOCSSERIAL given\n% x\nwant\n% x", got, want)
	}
	if on, err := adapters.LowLatency(slave); err != nil || !on {
		t.Errorf("LowLatency after SetLowLatency(true) = %v, %v", on, err)
	}
	if err := adapters.SetLowLatency(slave, false); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.ss, orig) {
		t.Errorf("SetLowLatency(false) left\n% x\nwant\n% x", f.ss, orig)
	}
}

// HungUp on a live pty is false on both sides; once the master is closed
// the slave is hung up (TCGETS fails with EIO), and once the slave is
// closed the master, which is not hung up itself, polls POLLHUP.
func TestSerialHungUpPTY(t *testing.T) {
	master, slave := streamtest.PTY(t)
	for _, s := range []*fdstream.Stream{master, slave} {
		if hung, err := adapters.HungUp(s); err != nil || hung {
			t.Errorf("HungUp(%s) on a live pty = %v, %v", s.Name(), hung, err)
		}
	}
	master.Close()
	if hung, err := adapters.HungUp(slave); err != nil || !hung {
		t.Errorf("HungUp(slave) after the master closed = %v, %v; want true", hung, err)
	}
	_, err := adapters.GetSerial(slave)
	if !adapters.IsHangUp(err) {
		t.Errorf("GetSerial on the hung-up slave = %v; want IsHangUp", err)
	}
	_, err = slave.Write([]byte("x"))
	if !adapters.IsHangUp(err) || !errors.Is(err, unix.EIO) {
		t.Errorf("Write on the hung-up slave = %v; want IsHangUp (EIO)", err)
	}

	master2, slave2 := streamtest.PTY(t)
	slave2.Close()
	if hung, err := adapters.HungUp(master2); err != nil || !hung {
		t.Errorf("HungUp(master) after the slave closed = %v, %v; want true", hung, err)
	}
}

// IsHangUp holds for the errors a hung-up terminal gives, however
// wrapped, and for nothing else.
func TestSerialIsHangUp(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{unix.EIO, true},
		{&os.PathError{Op: "write", Path: "/dev/ttyUSB0", Err: unix.EIO}, true},
		{&os.PathError{Op: "write", Path: "/dev/ttyUSB0", Err: os.NewSyscallError("write", unix.EIO)}, true},
		{unix.EPIPE, false},
		{os.ErrClosed, false},
		{context.Canceled, false},
		{errors.New("input/output error"), false},
	} {
		if got := adapters.IsHangUp(tc.err); got != tc.want {
			t.Errorf("IsHangUp(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// Bad input to every serial function: arguments are refused before the
// Stream is touched (so a closed Stream still gives EINVAL); a Stream that
// is not a terminal gives ENOTTY, a closed one os.ErrClosed, a nil one
// os.ErrInvalid; always an *os.PathError with the function's name as Op,
// never a panic.
func TestSerialErrors(t *testing.T) {
	_, slave := streamtest.PTY(t)
	r, w, err := fdstream.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	_, closed := streamtest.PTY(t)
	closed.Close()
	bg := context.Background()

	for _, tc := range []struct {
		name string
		op   string
		s    *fdstream.Stream
		call func(s *fdstream.Stream) error
		want error
	}{
		{"unknown line bit", "setmodem", closed, func(s *fdstream.Stream) error { return adapters.SetModem(s, 1<<20, 0) }, unix.EINVAL},
		{"input line on", "setmodem", closed, func(s *fdstream.Stream) error { return adapters.SetModem(s, adapters.ModemCTS, 0) }, unix.EINVAL},
		{"input line off", "setmodem", closed, func(s *fdstream.Stream) error { return adapters.SetModem(s, 0, adapters.ModemDCD) }, unix.EINVAL},
		{"on and off", "setmodem", closed, func(s *fdstream.Stream) error {
			return adapters.SetModem(s, adapters.ModemDTR, adapters.ModemDTR|adapters.ModemRTS)
		}, unix.EINVAL},
		{"nothing", "setmodem", closed, func(s *fdstream.Stream) error { return adapters.SetModem(s, 0, 0) }, unix.EINVAL},
		{"empty mask", "waitmodem", closed, func(s *fdstream.Stream) error { _, err := adapters.WaitModem(bg, s, 0, 0); return err }, unix.EINVAL},
		{"unknown mask bit", "waitmodem", closed, func(s *fdstream.Stream) error {
			_, err := adapters.WaitModem(bg, s, adapters.ModemCTS|1<<31, 0)
			return err
		}, unix.EINVAL},
		{"unknown last bit", "waitmodem", closed, func(s *fdstream.Stream) error {
			_, err := adapters.WaitModem(bg, s, adapters.ModemCTS, 1<<7)
			return err
		}, unix.EINVAL},
		{"nil ctx", "waitmodem", slave, func(s *fdstream.Stream) error {
			//lint:ignore SA1012 the nil ctx is the point
			_, err := adapters.WaitModem(nil, s, adapters.ModemCTS, 0)
			return err
		}, fdstream.ErrNilContext},
		{"negative length", "sendbreak", closed, func(s *fdstream.Stream) error { return adapters.SendBreak(bg, s, -time.Millisecond) }, unix.EINVAL},
		{"zero length", "sendbreak", closed, func(s *fdstream.Stream) error { return adapters.SendBreak(bg, s, 0) }, unix.EINVAL},
		{"nil ctx", "sendbreak", slave, func(s *fdstream.Stream) error {
			//lint:ignore SA1012 the nil ctx is the point
			return adapters.SendBreak(nil, s, time.Millisecond)
		}, fdstream.ErrNilContext},
		{"negative delay", "setrs485", closed, func(s *fdstream.Stream) error {
			return adapters.SetRS485(s, adapters.RS485Config{Enabled: true, DelayRTSBeforeSend: -time.Millisecond})
		}, unix.EINVAL},
		{"sub-millisecond delay", "setrs485", closed, func(s *fdstream.Stream) error {
			return adapters.SetRS485(s, adapters.RS485Config{Enabled: true, DelayRTSAfterSend: 1500 * time.Microsecond})
		}, unix.EINVAL},
		{"delay beyond 32 bits", "setrs485", closed, func(s *fdstream.Stream) error {
			return adapters.SetRS485(s, adapters.RS485Config{Enabled: true, DelayRTSAfterSend: (1 << 32) * time.Millisecond})
		}, unix.EINVAL},
		{"nil Stream", "getmodem", nil, func(s *fdstream.Stream) error { _, err := adapters.GetModem(s); return err }, os.ErrInvalid},
		{"nil Stream", "sendbreak", nil, func(s *fdstream.Stream) error { return adapters.SendBreak(bg, s, time.Millisecond) }, os.ErrInvalid},
		{"nil Stream", "hungup", nil, func(s *fdstream.Stream) error { _, err := adapters.HungUp(s); return err }, os.ErrInvalid},
	} {
		t.Run(tc.op+"/"+tc.name, func(t *testing.T) {
			ttyTestWantErr(t, tc.call(tc.s), tc.op, tc.s, tc.want)
		})
	}

	// Each function on a pipe, then on a closed pty, then on a nil Stream.
	for _, tc := range []struct {
		op   string
		call func(s *fdstream.Stream) error
	}{
		{"getmodem", func(s *fdstream.Stream) error { _, err := adapters.GetModem(s); return err }},
		{"setmodem", func(s *fdstream.Stream) error { return adapters.SetModem(s, adapters.ModemDTR, adapters.ModemRTS) }},
		{"waitmodem", func(s *fdstream.Stream) error { _, err := adapters.WaitModem(bg, s, adapters.ModemCTS, 0); return err }},
		{"sendbreak", func(s *fdstream.Stream) error { return adapters.SendBreak(bg, s, time.Millisecond) }},
		{"outqueue", func(s *fdstream.Stream) error { _, err := adapters.OutQueue(s); return err }},
		{"hungup", func(s *fdstream.Stream) error { _, err := adapters.HungUp(s); return err }},
		{"getrs485", func(s *fdstream.Stream) error { _, err := adapters.GetRS485(s); return err }},
		{"setrs485", func(s *fdstream.Stream) error { return adapters.SetRS485(s, adapters.RS485Config{Enabled: true}) }},
		{"lowlatency", func(s *fdstream.Stream) error { _, err := adapters.LowLatency(s); return err }},
		{"setlowlatency", func(s *fdstream.Stream) error { return adapters.SetLowLatency(s, true) }},
	} {
		t.Run(tc.op+"/not a terminal", func(t *testing.T) {
			ttyTestWantErr(t, tc.call(r), tc.op, r, unix.ENOTTY)
		})
		t.Run(tc.op+"/closed", func(t *testing.T) {
			ttyTestWantErr(t, tc.call(closed), tc.op, closed, os.ErrClosed)
		})
		t.Run(tc.op+"/nil Stream", func(t *testing.T) {
			ttyTestWantErr(t, tc.call(nil), tc.op, nil, os.ErrInvalid)
		})
	}

	// InQueue is FIONREAD, which a pipe answers too: it is not refused.
	if _, err := w.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if n, err := adapters.InQueue(r); err != nil || n != 3 {
		t.Errorf("InQueue(pipe) = %d, %v; want 3, nil", n, err)
	}
	ttyTestWantErr(t, callErr(adapters.InQueue(closed)), "inqueue", closed, os.ErrClosed)
	ttyTestWantErr(t, callErr(adapters.InQueue(nil)), "inqueue", nil, os.ErrInvalid)

	// A nil Conn has no Streams; the terminal functions refuse them.
	var nilConn *adapters.Conn
	if r, w := nilConn.Streams(); r != nil || w != nil {
		t.Errorf("nil Conn's Streams = %v, %v", r, w)
	}
}

func callErr(_ int, err error) error { return err }
