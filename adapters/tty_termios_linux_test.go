package adapters

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/internal/fdtest"
)

// A pty forces 8 data bits and no parity, so the encoding of the others is
// checked here, on a termios value, without a kernel.
func TestTTYSerialEncoding(t *testing.T) {
	for _, tc := range []struct {
		c     SerialConfig
		cflag uint32 // the bits under CSIZE|PARENB|PARODD|CMSPAR|CSTOPB|CRTSCTS
	}{
		{SerialConfig{Baud: 115200, DataBits: 8, Parity: ParityNone, StopBits: StopBits1}, unix.CS8},
		{SerialConfig{Baud: 9600, DataBits: 7, Parity: ParityEven, StopBits: StopBits2}, unix.CS7 | unix.PARENB | unix.CSTOPB},
		{SerialConfig{Baud: 2400, DataBits: 5, Parity: ParityOdd, StopBits: StopBits1}, unix.CS5 | unix.PARENB | unix.PARODD},
		{SerialConfig{Baud: 250000, DataBits: 6, Parity: ParityMark, StopBits: StopBits2, RTSCTS: true},
			unix.CS6 | unix.PARENB | unix.CMSPAR | unix.PARODD | unix.CSTOPB | unix.CRTSCTS},
		{SerialConfig{Baud: 1200, DataBits: 8, Parity: ParitySpace, StopBits: StopBits1}, unix.CS8 | unix.PARENB | unix.CMSPAR},
	} {
		var tio ttyTermios
		// Start from everything set, to see that setSerial clears too.
		tio.Cflag = ^uint32(0)
		if err := tio.setSerial(tc.c); err != nil {
			t.Fatalf("setSerial(%+v): %v", tc.c, err)
		}
		const mask = unix.CSIZE | unix.PARENB | unix.PARODD | unix.CMSPAR | unix.CSTOPB | unix.CRTSCTS
		if got := tio.Cflag & mask; got != tc.cflag {
			t.Errorf("setSerial(%+v): cflag bits %#x, want %#x", tc.c, got, tc.cflag)
		}
		if got := tio.serial(); got != tc.c {
			t.Errorf("serial() after setSerial(%+v) = %+v", tc.c, got)
		}
	}
}

// Where the kernel has no termios2 (gVisor until 2026), settings come from
// TCGETS and go back with TCSETS: the Bxxx speeds work, others are refused
// before anything is written.
func TestTTYLegacyTermios(t *testing.T) {
	_, path := fdtest.PTY(t, 0)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)

	p, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio := ttyTermios{Termios: *p, legacy: true}
	if err := tio.setSpeed(250000); !errors.Is(err, unix.EINVAL) {
		t.Errorf("legacy setSpeed(250000) = %v, want EINVAL", err)
	}
	if err := tio.setSpeed(19200); err != nil {
		t.Fatal(err)
	}
	if err := ttySet(fd, &tio); err != nil {
		t.Fatal(err)
	}
	got, err := ttyGet(fd)
	if err != nil {
		t.Fatal(err)
	}
	if got.legacy || got.speed() != 19200 || got.Ospeed != 19200 {
		t.Errorf("after a legacy set of 19200: speed %d ospeed %d legacy %v", got.speed(), got.Ospeed, got.legacy)
	}
}
