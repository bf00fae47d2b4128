//go:build linux

package adapters_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
	"github.com/fdstream/fdstream/internal/fdtest"
	"github.com/fdstream/fdstream/internal/streamtest"
)

// ttyTestControl runs f on s's fd and fails the test if f fails.
func ttyTestControl(t *testing.T, s *fdstream.Stream, f func(fd int) error) {
	t.Helper()
	if err := fdtest.Control(s, f); err != nil {
		t.Fatalf("ioctl on %s: %v", s.Name(), err)
	}
}

// ttyTestTermios reads s's termios2 (speeds included) behind the package's
// back, to check what it did.
func ttyTestTermios(t *testing.T, s *fdstream.Stream) unix.Termios {
	t.Helper()
	var tio unix.Termios
	ttyTestControl(t, s, func(fd int) error {
		p, err := unix.IoctlGetTermios(fd, unix.TCGETS2)
		if err == nil {
			tio = *p
		}
		return err
	})
	return tio
}

// ttyTestIoctlInt returns the int an ioctl such as TIOCINQ reports on s.
func ttyTestIoctlInt(t *testing.T, s *fdstream.Stream, req uint) int {
	t.Helper()
	var n int
	ttyTestControl(t, s, func(fd int) (err error) {
		n, err = unix.IoctlGetInt(fd, req)
		return err
	})
	return n
}

// ttyTestWantErr checks that err is an *os.PathError with op, the Stream's
// name as Path, and target inside.
func ttyTestWantErr(t *testing.T, err error, op string, s *fdstream.Stream, target error) {
	t.Helper()
	var pe *os.PathError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want an *os.PathError", err, err)
	}
	if pe.Op != op || pe.Path != s.Name() {
		t.Errorf("err = %v: Op %q Path %q, want %q %q", err, pe.Op, pe.Path, op, s.Name())
	}
	if !errors.Is(err, target) {
		t.Errorf("err = %v, want errors.Is(err, %v)", err, target)
	}
}

// ttyTestWaitInput blocks until s has at least n bytes to read, waiting
// for readiness through s's reactor (s must be in raw mode: a cooked
// terminal is readable only once it has a whole line).
func ttyTestWaitInput(t *testing.T, s *fdstream.Stream, n int) {
	t.Helper()
	rc, err := s.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	s.SetReadDeadline(time.Now().Add(fdtest.Hang))
	defer s.SetReadDeadline(time.Time{})
	var ierr error
	err = rc.Read(func(fd uintptr) bool {
		var q int
		q, ierr = unix.IoctlGetInt(int(fd), unix.TIOCINQ)
		return ierr != nil || q >= n
	})
	if err != nil || ierr != nil {
		t.Fatalf("waiting for %d bytes on %s: %v %v", n, s.Name(), err, ierr)
	}
}

// ttyTestReadN reads exactly n bytes from s.
func ttyTestReadN(t *testing.T, s *fdstream.Stream, n int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	buf := make([]byte, n)
	if _, err := io.ReadFull(fdstream.NewReader(ctx, s), buf); err != nil {
		t.Fatalf("reading %d bytes from %s: %v", n, s.Name(), err)
	}
	return string(buf)
}

func TestTTYStateRoundTrip(t *testing.T) {
	master, slave := streamtest.PTY(t)
	orig := ttyTestTermios(t, slave)
	if orig.Lflag&(unix.ICANON|unix.ECHO) != unix.ICANON|unix.ECHO {
		t.Fatalf("a new pty is not cooked: lflag %#x", orig.Lflag)
	}
	saved, err := adapters.GetState(slave)
	if err != nil {
		t.Fatal(err)
	}

	prev, err := adapters.MakeRaw(slave)
	if err != nil {
		t.Fatal(err)
	}
	raw := ttyTestTermios(t, slave)
	for _, f := range []struct {
		name      string
		got, mask uint32
	}{
		{"iflag", raw.Iflag, unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON},
		{"oflag", raw.Oflag, unix.OPOST},
		{"lflag", raw.Lflag, unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN},
		{"cflag", raw.Cflag, unix.PARENB},
	} {
		if f.got&f.mask != 0 {
			t.Errorf("raw %s %#x still has %#x", f.name, f.got, f.got&f.mask)
		}
	}
	if raw.Cflag&unix.CSIZE != unix.CS8 || raw.Cc[unix.VMIN] != 1 || raw.Cc[unix.VTIME] != 0 {
		t.Errorf("raw: csize %#x VMIN %d VTIME %d, want CS8 1 0", raw.Cflag&unix.CSIZE, raw.Cc[unix.VMIN], raw.Cc[unix.VTIME])
	}
	if raw.Ospeed != orig.Ospeed || raw.Cflag&unix.CBAUD != orig.Cflag&unix.CBAUD {
		t.Errorf("MakeRaw changed the speed: %d, want %d", raw.Ospeed, orig.Ospeed)
	}
	// Raw in practice: no line to wait for, CR not turned into NL.
	if _, err := master.Write([]byte("x\r")); err != nil {
		t.Fatal(err)
	}
	if got := ttyTestReadN(t, slave, 2); got != "x\r" {
		t.Errorf("raw slave read %q, want %q", got, "x\r")
	}

	if err := adapters.Restore(slave, prev); err != nil {
		t.Fatal(err)
	}
	if got := ttyTestTermios(t, slave); got != orig {
		t.Errorf("Restore(MakeRaw's state):\n got %+v\nwant %+v", got, orig)
	}
	if _, err := adapters.MakeRaw(slave); err != nil {
		t.Fatal(err)
	}
	if err := adapters.Restore(slave, saved); err != nil {
		t.Fatal(err)
	}
	if got := ttyTestTermios(t, slave); got != orig {
		t.Errorf("Restore(GetState's state):\n got %+v\nwant %+v", got, orig)
	}
}

// An arbitrary speed is part of the state: Restore puts it back exactly.
func TestTTYStateKeepsArbitrarySpeed(t *testing.T) {
	_, slave := streamtest.PTY(t)
	if err := adapters.SetBaud(slave, 250000); err != nil {
		t.Fatal(err)
	}
	prev, err := adapters.MakeRaw(slave)
	if err != nil {
		t.Fatal(err)
	}
	if err := adapters.SetBaud(slave, 9600); err != nil {
		t.Fatal(err)
	}
	if err := adapters.Restore(slave, prev); err != nil {
		t.Fatal(err)
	}
	if baud, err := adapters.Baud(slave); err != nil || baud != 250000 {
		t.Errorf("Baud after Restore = %d, %v; want 250000", baud, err)
	}
}

// ttyTestSerialCases: what SetSerial is given, what GetSerial on a Linux
// pty reports back, and the cflag bits the pty keeps. The pty driver's
// pty_set_termios (drivers/tty/pty.c) clears CSIZE and PARENB and sets CS8
// on every termios change, so a pty always reads back 8 data bits and no
// parity; it leaves PARODD, CMSPAR, CSTOPB and CRTSCTS as set, and the
// speed too.
var ttyTestSerialCases = []struct {
	name      string
	set, want adapters.SerialConfig
	cflag     uint32 // must be set
	clear     uint32 // must be clear
}{
	{
		name:  "8N1",
		set:   adapters.SerialConfig{Baud: 115200, DataBits: 8, Parity: adapters.ParityNone, StopBits: adapters.StopBits1},
		want:  adapters.SerialConfig{Baud: 115200, DataBits: 8, Parity: adapters.ParityNone, StopBits: adapters.StopBits1},
		clear: unix.PARODD | unix.CMSPAR | unix.CSTOPB | unix.CRTSCTS,
	},
	{
		name:  "7E2",
		set:   adapters.SerialConfig{Baud: 9600, DataBits: 7, Parity: adapters.ParityEven, StopBits: adapters.StopBits2},
		want:  adapters.SerialConfig{Baud: 9600, DataBits: 8, Parity: adapters.ParityNone, StopBits: adapters.StopBits2},
		cflag: unix.CSTOPB,
		clear: unix.PARODD | unix.CMSPAR,
	},
	{
		name:  "5O1",
		set:   adapters.SerialConfig{Baud: 2400, DataBits: 5, Parity: adapters.ParityOdd, StopBits: adapters.StopBits1},
		want:  adapters.SerialConfig{Baud: 2400, DataBits: 8, Parity: adapters.ParityNone, StopBits: adapters.StopBits1},
		cflag: unix.PARODD,
		clear: unix.CSTOPB | unix.CMSPAR,
	},
	{
		name:  "6M2",
		set:   adapters.SerialConfig{Baud: 250000, DataBits: 6, Parity: adapters.ParityMark, StopBits: adapters.StopBits2},
		want:  adapters.SerialConfig{Baud: 250000, DataBits: 8, Parity: adapters.ParityNone, StopBits: adapters.StopBits2},
		cflag: unix.CMSPAR | unix.PARODD | unix.CSTOPB,
	},
	{
		name:  "8S1",
		set:   adapters.SerialConfig{Baud: 19200, DataBits: 8, Parity: adapters.ParitySpace, StopBits: adapters.StopBits1},
		want:  adapters.SerialConfig{Baud: 19200, DataBits: 8, Parity: adapters.ParityNone, StopBits: adapters.StopBits1},
		cflag: unix.CMSPAR,
		clear: unix.PARODD | unix.CSTOPB,
	},
	{
		name: "defaults",
		set:  adapters.SerialConfig{Baud: 57600},
		want: adapters.SerialConfig{Baud: 57600, DataBits: 8, Parity: adapters.ParityNone, StopBits: adapters.StopBits1},
	},
}

func TestTTYSerialRoundTrip(t *testing.T) {
	for _, tc := range ttyTestSerialCases {
		t.Run(tc.name, func(t *testing.T) {
			_, slave := streamtest.PTY(t)
			if err := adapters.SetSerial(slave, tc.set); err != nil {
				t.Fatal(err)
			}
			got, err := adapters.GetSerial(slave)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("GetSerial = %+v, want %+v", got, tc.want)
			}
			tio := ttyTestTermios(t, slave)
			if tio.Cflag&tc.cflag != tc.cflag || tio.Cflag&tc.clear != 0 {
				t.Errorf("cflag %#x: want %#x set and %#x clear", tio.Cflag, tc.cflag, tc.clear)
			}
			if tio.Cflag&(unix.CLOCAL|unix.CREAD) != unix.CLOCAL|unix.CREAD {
				t.Errorf("cflag %#x lacks CLOCAL|CREAD", tio.Cflag)
			}
			if tio.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 || tio.Oflag&unix.OPOST != 0 ||
				tio.Iflag&(unix.IXON|unix.IXOFF|unix.IXANY|unix.INPCK|unix.ICRNL) != 0 {
				t.Errorf("not raw: iflag %#x oflag %#x lflag %#x", tio.Iflag, tio.Oflag, tio.Lflag)
			}
			if tio.Cc[unix.VMIN] != 1 || tio.Cc[unix.VTIME] != 0 {
				t.Errorf("VMIN %d VTIME %d, want 1 0", tio.Cc[unix.VMIN], tio.Cc[unix.VTIME])
			}
		})
	}
}

// A zero Baud leaves the speed alone; the rest is applied.
func TestTTYSerialZeroBaudKeepsSpeed(t *testing.T) {
	_, slave := streamtest.PTY(t)
	if err := adapters.SetBaud(slave, 4800); err != nil {
		t.Fatal(err)
	}
	if err := adapters.SetSerial(slave, adapters.SerialConfig{StopBits: adapters.StopBits2}); err != nil {
		t.Fatal(err)
	}
	want := adapters.SerialConfig{Baud: 4800, DataBits: 8, StopBits: adapters.StopBits2}
	if got, err := adapters.GetSerial(slave); err != nil || got != want {
		t.Errorf("GetSerial = %+v, %v; want %+v", got, err, want)
	}
}

func TestTTYSerialRTSCTS(t *testing.T) {
	_, slave := streamtest.PTY(t)
	for _, on := range []bool{true, false, true, false} {
		c := adapters.SerialConfig{Baud: 38400, RTSCTS: on}
		if err := adapters.SetSerial(slave, c); err != nil {
			t.Fatal(err)
		}
		got, err := adapters.GetSerial(slave)
		if err != nil {
			t.Fatal(err)
		}
		if got.RTSCTS != on || got.Baud != 38400 {
			t.Errorf("after SetSerial(RTSCTS %v): %+v", on, got)
		}
		if has := ttyTestTermios(t, slave).Cflag&unix.CRTSCTS != 0; has != on {
			t.Errorf("CRTSCTS in cflag = %v, want %v", has, on)
		}
	}
}

// A Linux pty keeps any speed exactly as given: pty_set_termios does not
// look at it, and nothing calls tty_encode_baud_rate for a pty (a UART
// driver would, reporting the speed its divisor really gives). So a speed
// with a Bxxx code reads back with that code, and any other, even 1 or
// 12345678, as BOTHER with the number in c_ospeed. Termios ioctls on a
// master act on its slave.
func TestTTYBaudRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		baud int
		code uint32
	}{
		{9600, unix.B9600},
		{115200, unix.B115200},
		{4000000, unix.B4000000},
		{250000, unix.BOTHER},
		{1, unix.BOTHER},
		{12345678, unix.BOTHER},
	} {
		t.Run(strconv.Itoa(tc.baud), func(t *testing.T) {
			master, slave := streamtest.PTY(t)
			if _, err := adapters.MakeRaw(slave); err != nil {
				t.Fatal(err)
			}
			before := ttyTestTermios(t, slave)
			if err := adapters.SetBaud(slave, tc.baud); err != nil {
				t.Fatal(err)
			}
			for _, s := range []*fdstream.Stream{slave, master} {
				if got, err := adapters.Baud(s); err != nil || got != tc.baud {
					t.Errorf("Baud(%s) = %d, %v; want %d", s.Name(), got, err, tc.baud)
				}
			}
			after := ttyTestTermios(t, slave)
			if after.Cflag&unix.CBAUD != tc.code || after.Ospeed != uint32(tc.baud) || after.Ispeed != uint32(tc.baud) {
				t.Errorf("cflag speed code %#x ispeed %d ospeed %d, want %#x %d %d",
					after.Cflag&unix.CBAUD, after.Ispeed, after.Ospeed, tc.code, tc.baud, tc.baud)
			}
			// Nothing but the speed changed.
			after.Cflag &^= unix.CBAUD | unix.CBAUD<<unix.IBSHIFT
			before.Cflag &^= unix.CBAUD | unix.CBAUD<<unix.IBSHIFT
			after.Ispeed, after.Ospeed, before.Ispeed, before.Ospeed = 0, 0, 0, 0
			if after != before {
				t.Errorf("SetBaud changed more than the speed:\n got %+v\nwant %+v", after, before)
			}
			if got, err := adapters.GetSerial(slave); err != nil || got.Baud != tc.baud {
				t.Errorf("GetSerial = %+v, %v; want Baud %d", got, err, tc.baud)
			}
		})
	}
}

func TestTTYWinSize(t *testing.T) {
	master, slave := streamtest.PTY(t)
	want := adapters.WinSize{Rows: 24, Cols: 80, XPixel: 640, YPixel: 480}
	if err := adapters.SetWinSize(master, want); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*fdstream.Stream{slave, master} {
		if got, err := adapters.GetWinSize(s); err != nil || got != want {
			t.Errorf("GetWinSize(%s) = %+v, %v; want %+v", s.Name(), got, err, want)
		}
	}
	want = adapters.WinSize{Rows: 50, Cols: 132}
	if err := adapters.SetWinSize(slave, want); err != nil {
		t.Fatal(err)
	}
	if got, err := adapters.GetWinSize(master); err != nil || got != want {
		t.Errorf("GetWinSize(master) = %+v, %v; want %+v", got, err, want)
	}
}

// ttyTestCapSysAdmin reports whether this process has CAP_SYS_ADMIN,
// which lets it open a terminal in exclusive mode.
func ttyTestCapSysAdmin(t *testing.T) bool {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if hex, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return caps&(1<<unix.CAP_SYS_ADMIN) != 0
		}
	}
	t.Fatal("no CapEff in /proc/self/status")
	return false
}

// Exclusive mode is read back with TIOCGEXCL (Linux 3.8). The kernel lets
// a process with CAP_SYS_ADMIN (root, usually) open the terminal anyway,
// so what a second open does depends on who runs the test; both outcomes
// are checked.
func TestTTYExclusive(t *testing.T) {
	_, slave := streamtest.PTY(t)
	privileged := ttyTestCapSysAdmin(t)
	for _, on := range []bool{true, false, true, false} {
		if err := adapters.SetExclusive(slave, on); err != nil {
			t.Fatal(err)
		}
		want := 0
		if on {
			want = 1
		}
		if got := ttyTestIoctlInt(t, slave, unix.TIOCGEXCL); got != want {
			t.Errorf("after SetExclusive(%v): TIOCGEXCL = %d, want %d", on, got, want)
		}
		second, err := fdstream.Open(slave.Name(), os.O_RDWR)
		switch {
		case !on || privileged:
			if err != nil {
				t.Errorf("exclusive %v, CAP_SYS_ADMIN %v: second open: %v", on, privileged, err)
			} else {
				second.Close()
			}
		case err == nil:
			second.Close()
			t.Errorf("exclusive, no CAP_SYS_ADMIN: second open succeeded")
		default:
			ttyTestWantErr(t, err, "open", slave, unix.EBUSY)
		}
	}
}

func TestTTYFlush(t *testing.T) {
	master, slave := streamtest.PTY(t)
	if _, err := adapters.MakeRaw(slave); err != nil {
		t.Fatal(err)
	}
	if _, err := master.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	ttyTestWaitInput(t, slave, 5)

	// Output is a different queue: input stays.
	if err := adapters.Flush(slave, adapters.FlushOutput); err != nil {
		t.Fatal(err)
	}
	if n := ttyTestIoctlInt(t, slave, unix.TIOCINQ); n != 5 {
		t.Fatalf("after FlushOutput: TIOCINQ = %d, want 5", n)
	}
	if err := adapters.Flush(slave, adapters.FlushInput); err != nil {
		t.Fatal(err)
	}
	if n := ttyTestIoctlInt(t, slave, unix.TIOCINQ); n != 0 {
		t.Fatalf("after FlushInput: TIOCINQ = %d, want 0", n)
	}
	// The bytes are gone, not hidden: the next byte read is a new one.
	if _, err := master.Write([]byte("Z")); err != nil {
		t.Fatal(err)
	}
	if got := ttyTestReadN(t, slave, 1); got != "Z" {
		t.Errorf("read after FlushInput = %q, want %q", got, "Z")
	}

	if _, err := master.Write([]byte("again")); err != nil {
		t.Fatal(err)
	}
	ttyTestWaitInput(t, slave, 5)
	if err := adapters.Flush(slave, adapters.FlushBoth); err != nil {
		t.Fatal(err)
	}
	if n := ttyTestIoctlInt(t, slave, unix.TIOCINQ); n != 0 {
		t.Fatalf("after FlushBoth: TIOCINQ = %d, want 0", n)
	}
}

// A Linux pty has no output queue: a write puts the bytes straight into
// the other side's input buffer (or waits for room there), and TIOCOUTQ
// reports 0 even with the master not reading. Drain therefore returns nil
// at once, as tcdrain(3) does on a pty, and nothing written is lost.
func TestTTYDrainPTY(t *testing.T) {
	master, slave := streamtest.PTY(t)
	if _, err := adapters.MakeRaw(slave); err != nil {
		t.Fatal(err)
	}
	msg := strings.Repeat("0123456789", 10)
	if _, err := slave.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if n := ttyTestIoctlInt(t, slave, unix.TIOCOUTQ); n != 0 {
		t.Errorf("TIOCOUTQ on a pty slave = %d, want 0", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	if err := adapters.Drain(ctx, slave); err != nil {
		t.Fatal(err)
	}
	if got := ttyTestReadN(t, master, len(msg)); got != msg {
		t.Errorf("master read %q, want %q", got, msg)
	}
}

// ttyTestStuckQueue makes Drain see pending bytes, on top of the real
// queue, until the test changes it, and reports each look on looks.
func ttyTestStuckQueue(t *testing.T, pending *atomic.Int64) (looks chan struct{}) {
	looks = make(chan struct{}, 1)
	restore := adapters.TTYSetOutQueueHook(func(fd int) (int, error) {
		n, err := unix.IoctlGetInt(fd, unix.TIOCOUTQ)
		select {
		case looks <- struct{}{}:
		default:
		}
		return n + int(pending.Load()), err
	})
	t.Cleanup(restore)
	return looks
}

func TestTTYDrainWaitsForQueue(t *testing.T) {
	_, slave := streamtest.PTY(t)
	var pending atomic.Int64
	pending.Store(3)
	looks := ttyTestStuckQueue(t, &pending)
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- adapters.Drain(ctx, slave) }()

	// Two looks: Drain found the queue full, slept, and looked again.
	for i := 0; i < 2; i++ {
		select {
		case <-looks:
		case err := <-done:
			t.Fatalf("Drain returned %v with bytes queued", err)
		}
	}
	pending.Store(0)
	if err := <-done; err != nil {
		t.Fatalf("Drain = %v once the queue emptied", err)
	}
}

func TestTTYDrainContext(t *testing.T) {
	t.Run("canceled while waiting", func(t *testing.T) {
		_, slave := streamtest.PTY(t)
		var pending atomic.Int64
		pending.Store(1)
		looks := ttyTestStuckQueue(t, &pending)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan error, 1)
		go func() { done <- adapters.Drain(ctx, slave) }()
		<-looks // Drain is in its wait
		cancel()
		ttyTestWantErr(t, <-done, "drain", slave, context.Canceled)
	})
	t.Run("deadline while waiting", func(t *testing.T) {
		_, slave := streamtest.PTY(t)
		var pending atomic.Int64
		pending.Store(1)
		ttyTestStuckQueue(t, &pending)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		ttyTestWantErr(t, adapters.Drain(ctx, slave), "drain", slave, context.DeadlineExceeded)
	})
	t.Run("done at entry", func(t *testing.T) {
		_, slave := streamtest.PTY(t)
		var pending atomic.Int64
		looks := ttyTestStuckQueue(t, &pending)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		ttyTestWantErr(t, adapters.Drain(ctx, slave), "drain", slave, context.Canceled)
		select {
		case <-looks:
			t.Error("Drain with a done ctx looked at the queue")
		default:
		}
	})
	t.Run("closed while waiting", func(t *testing.T) {
		_, slave := streamtest.PTY(t)
		var pending atomic.Int64
		pending.Store(1)
		looks := ttyTestStuckQueue(t, &pending)
		done := make(chan error, 1)
		go func() { done <- adapters.Drain(context.Background(), slave) }()
		<-looks
		slave.Close()
		ttyTestWantErr(t, <-done, "drain", slave, os.ErrClosed)
	})
}

// Every function: bad arguments are refused before the Stream is touched
// (so a closed Stream still gives EINVAL), a Stream that is not a terminal
// gives ENOTTY, a closed one os.ErrClosed; always as an *os.PathError
// with the function's name as Op.
func TestTTYErrors(t *testing.T) {
	_, slave := streamtest.PTY(t)
	r, w, err := fdstream.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	_, closed := streamtest.PTY(t)
	closed.Close()
	state, err := adapters.GetState(slave)
	if err != nil {
		t.Fatal(err)
	}
	good := adapters.SerialConfig{Baud: 9600}
	ctx := context.Background()

	for _, tc := range []struct {
		name string
		op   string
		s    *fdstream.Stream
		call func(s *fdstream.Stream) error
		want error
	}{
		{"nil state", "restore", slave, func(s *fdstream.Stream) error { return adapters.Restore(s, nil) }, unix.EINVAL},
		{"zero state", "restore", slave, func(s *fdstream.Stream) error { return adapters.Restore(s, &adapters.TTYState{}) }, unix.EINVAL},
		{"9 data bits", "setserial", closed, func(s *fdstream.Stream) error {
			return adapters.SetSerial(s, adapters.SerialConfig{Baud: 9600, DataBits: 9})
		}, unix.EINVAL},
		{"4 data bits", "setserial", closed, func(s *fdstream.Stream) error {
			return adapters.SetSerial(s, adapters.SerialConfig{Baud: 9600, DataBits: 4})
		}, unix.EINVAL},
		{"negative baud", "setserial", closed, func(s *fdstream.Stream) error {
			return adapters.SetSerial(s, adapters.SerialConfig{Baud: -1})
		}, unix.EINVAL},
		{"unknown parity", "setserial", closed, func(s *fdstream.Stream) error {
			return adapters.SetSerial(s, adapters.SerialConfig{Baud: 9600, Parity: adapters.ParitySpace + 1})
		}, unix.EINVAL},
		{"negative parity", "setserial", closed, func(s *fdstream.Stream) error {
			return adapters.SetSerial(s, adapters.SerialConfig{Baud: 9600, Parity: -1})
		}, unix.EINVAL},
		{"3 stop bits", "setserial", closed, func(s *fdstream.Stream) error {
			return adapters.SetSerial(s, adapters.SerialConfig{Baud: 9600, StopBits: 3})
		}, unix.EINVAL},
		{"zero baud", "setbaud", closed, func(s *fdstream.Stream) error { return adapters.SetBaud(s, 0) }, unix.EINVAL},
		{"negative baud", "setbaud", closed, func(s *fdstream.Stream) error { return adapters.SetBaud(s, -9600) }, unix.EINVAL},
		{"zero flush mode", "flush", closed, func(s *fdstream.Stream) error { return adapters.Flush(s, 0) }, unix.EINVAL},
		{"unknown flush mode", "flush", closed, func(s *fdstream.Stream) error { return adapters.Flush(s, adapters.FlushBoth+1) }, unix.EINVAL},
		{"nil ctx", "drain", slave, func(s *fdstream.Stream) error {
			//lint:ignore SA1012 the nil ctx is the point
			return adapters.Drain(nil, s)
		}, fdstream.ErrNilContext},
		{"nil Stream", "getstate", nil, func(s *fdstream.Stream) error { _, err := adapters.GetState(s); return err }, os.ErrInvalid},
	} {
		t.Run(tc.op+"/"+tc.name, func(t *testing.T) {
			ttyTestWantErr(t, tc.call(tc.s), tc.op, tc.s, tc.want)
		})
	}

	// Each function on a pipe, then on a closed pty.
	for _, tc := range []struct {
		op   string
		call func(s *fdstream.Stream) error
	}{
		{"getstate", func(s *fdstream.Stream) error { _, err := adapters.GetState(s); return err }},
		{"restore", func(s *fdstream.Stream) error { return adapters.Restore(s, state) }},
		{"makeraw", func(s *fdstream.Stream) error { _, err := adapters.MakeRaw(s); return err }},
		{"setserial", func(s *fdstream.Stream) error { return adapters.SetSerial(s, good) }},
		{"getserial", func(s *fdstream.Stream) error { _, err := adapters.GetSerial(s); return err }},
		{"setbaud", func(s *fdstream.Stream) error { return adapters.SetBaud(s, 250000) }},
		{"baud", func(s *fdstream.Stream) error { _, err := adapters.Baud(s); return err }},
		{"getwinsize", func(s *fdstream.Stream) error { _, err := adapters.GetWinSize(s); return err }},
		{"setwinsize", func(s *fdstream.Stream) error { return adapters.SetWinSize(s, adapters.WinSize{Rows: 1, Cols: 1}) }},
		{"setexclusive", func(s *fdstream.Stream) error { return adapters.SetExclusive(s, true) }},
		{"flush", func(s *fdstream.Stream) error { return adapters.Flush(s, adapters.FlushInput) }},
		{"drain", func(s *fdstream.Stream) error { return adapters.Drain(ctx, s) }},
	} {
		t.Run(tc.op+"/not a terminal", func(t *testing.T) {
			ttyTestWantErr(t, tc.call(r), tc.op, r, unix.ENOTTY)
		})
		t.Run(tc.op+"/closed", func(t *testing.T) {
			ttyTestWantErr(t, tc.call(closed), tc.op, closed, os.ErrClosed)
		})
	}

	// A speed beyond speed_t (uint32) is refused after the termios is
	// read, before it is written: the terminal is left as it was. Only a
	// 64-bit int can hold one.
	if strconv.IntSize == 64 {
		tooFast := int(uint64(math.MaxUint32) + 1)
		before := ttyTestTermios(t, slave)
		err := adapters.SetSerial(slave, adapters.SerialConfig{Baud: tooFast, DataBits: 7})
		ttyTestWantErr(t, err, "setserial", slave, unix.EINVAL)
		ttyTestWantErr(t, adapters.SetBaud(slave, tooFast), "setbaud", slave, unix.EINVAL)
		if after := ttyTestTermios(t, slave); after != before {
			t.Errorf("a refused SetSerial changed the termios:\n got %+v\nwant %+v", after, before)
		}
	}
}

// A line configured by SetSerial is a plain byte stream: what one side
// writes, the other reads unchanged.
func TestTTYSerialLineCrosses(t *testing.T) {
	master, slave := streamtest.PTY(t)
	if err := adapters.SetSerial(slave, adapters.SerialConfig{Baud: 115200}); err != nil {
		t.Fatal(err)
	}
	if _, err := slave.Write([]byte("AT\r\n")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	line, err := bufio.NewReader(fdstream.NewReader(ctx, master)).ReadString('\n')
	if err != nil || line != "AT\r\n" {
		t.Errorf("master read %q, %v; want %q (OPOST off: no CR added)", line, err, "AT\r\n")
	}
}
