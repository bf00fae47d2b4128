package main

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/internal/fdtest"
)

// socatPair is socat relaying between two ptys, a null-modem cable:
// what is written to one side's slave is read from the other's. Each
// side is reached through a link, a and b, which socat makes at start
// and removes when it ends.
type socatPair struct {
	t    *testing.T
	a, b string
	cmd  *exec.Cmd
	done chan struct{}
}

// startSocat starts the pair and returns once socat relays; it is
// stopped at cleanup if the test has not stopped it.
func startSocat(t *testing.T, a, b string) *socatPair {
	t.Helper()
	fdtest.NeedTool(t, "socat")
	cmd := exec.Command("socat", "-d", "-d", "pty,raw,echo=0,link="+a, "pty,raw,echo=0,link="+b)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sp := &socatPair{t: t, a: a, b: b, cmd: cmd, done: make(chan struct{})}
	ready := make(chan bool, 1)
	go func() {
		defer close(sp.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "starting data transfer loop") {
				ready <- true
			}
		}
		close(ready)
		cmd.Wait()
	}()
	t.Cleanup(sp.stop)
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("socat exited before relaying")
		}
	case <-time.After(hang):
		t.Fatalf("socat not relaying after %v", hang)
	}
	return sp
}

// stop ends socat as a clean exit does: SIGTERM, after which it closes
// its pty masters (hanging the slaves up) and removes the links.
func (sp *socatPair) stop() {
	select {
	case <-sp.done:
		return
	default:
	}
	sp.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-sp.done:
	case <-time.After(hang):
		sp.cmd.Process.Kill()
		<-sp.done
		sp.t.Errorf("socat still running %v after SIGTERM", hang)
	}
}

// portTermios reads path's settings as any other program would see them.
func portTermios(t *testing.T, path string) *unix.Termios {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS2)
	if err != nil {
		t.Fatal(err)
	}
	return tio
}

// setHUPCL turns HUPCL on for path, as a real UART has it by default
// (socat's ptys have it off), so that C-q has something to keep.
func setHUPCL(t *testing.T, path string) {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Cflag |= unix.HUPCL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
}

// fdcom against a socat null-modem pair at -b 115200, with a read loop on
// the other end: bytes cross both ways whole; the modem lines are refused
// with the pty's ENOTTY, named; the baud rate steps, as another program
// sees it; a break is sent; C-a C-x restores the port's settings.
func TestE2ESocat(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "ttyA"), filepath.Join(dir, "ttyB")
	startSocat(t, a, b)
	setHUPCL(t, a)
	orig := portTermios(t, a)
	other := openDemoPort(t, b)

	p := startPane(t, []string{"-b", "115200", a})
	real, err := filepath.EvalSymlinks(a)
	if err != nil {
		t.Fatal(err)
	}
	p.waitFor("fdcom: " + a + " (" + real + ") 115200 8N1; C-a C-h help, C-a C-x quit")
	if got := portTermios(t, a); got.Ospeed != 115200 || got.Lflag&unix.ICANON != 0 {
		t.Errorf("port while fdcom runs: speed %d, lflag %#x; want 115200, raw", got.Ospeed, got.Lflag)
	}

	p.typeText("hello from fdcom")
	p.keys("Enter")
	other.waitFor("hello from fdcom\r")
	other.write("hello from the other end\r\n")
	p.waitForLine("hello from the other end")

	// More than a line: every byte arrives, in order.
	long := strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz", 60) + "<end>"
	p.typeText(long)
	if got := other.waitFor("<end>"); got != long {
		t.Errorf("the other end read %d bytes, want the %d typed: %q", len(got), len(long), got)
	}

	p.escape("14") // C-t: a pty has no modem lines, and fdcom says so
	p.waitForLine("*** DTR not changed: getmodem " + a + ": adapters: this terminal's driver has no modem control lines (a pty has none): inappropriate ioctl for device")
	p.escape("07") // C-g
	p.waitFor("*** RTS not changed: getmodem " + a + ": adapters: this terminal's driver has no modem control lines")
	p.escape("15") // C-u
	p.waitForLine("*** baud 230400")
	if got := portTermios(t, a).Ospeed; got != 230400 {
		t.Errorf("speed after C-u, seen by another program: %d, want 230400", got)
	}
	p.escape("1c") // C-\ (a pty sends no break, but the ioctls succeed)
	p.waitForLine("*** break sent (250ms)")
	p.escape("16") // C-v
	p.waitForLine("*** " + a + " (" + real + "): 230400 8N1")
	p.waitFor("*** modem lines: getmodem " + a + ": adapters: this terminal's driver has no modem control lines")

	p.escape("18") // C-x
	if code := p.waitExit(); code != 0 {
		t.Errorf("exit status %d after C-a C-x", code)
	}
	if got := portTermios(t, a); *got != *orig {
		t.Errorf("C-a C-x did not restore the port:\nbefore %+v\nafter  %+v", orig, got)
	}
}

// C-a C-q leaves the port as fdcom set it, and HUPCL off, so that closing
// it does not drop DTR and RTS.
func TestE2ESocatQuitKeepsPort(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "ttyA"), filepath.Join(dir, "ttyB")
	startSocat(t, a, b)
	setHUPCL(t, a)
	openDemoPort(t, b)
	p := startPane(t, []string{"-b", "115200", a})
	p.waitFor("115200 8N1; C-a C-h help")
	p.escape("15")
	p.waitForLine("*** baud 230400")
	p.escape("11") // C-q
	if code := p.waitExit(); code != 0 {
		t.Errorf("exit status %d after C-a C-q", code)
	}
	got := portTermios(t, a)
	if got.Ospeed != 230400 || got.Cflag&unix.HUPCL != 0 || got.Lflag&unix.ICANON != 0 {
		t.Errorf("after C-a C-q: speed %d, HUPCL %v, ICANON %v; want 230400, off, off (as fdcom left it)",
			got.Ospeed, got.Cflag&unix.HUPCL != 0, got.Lflag&unix.ICANON != 0)
	}
}

// socat stopped is a hang-up, as a USB adapter pulled; under --reconnect
// fdcom waits, and when socat makes the pair again behind the same links
// it reopens the port with the same settings and bytes cross again.
func TestE2ESocatReconnect(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "ttyA"), filepath.Join(dir, "ttyB")
	sp := startSocat(t, a, b)
	other := openDemoPort(t, b)
	p := startPane(t, []string{"-b", "115200", "--reconnect", a})
	p.waitFor("115200 8N1; reconnects by path; C-a C-h help")
	p.typeText("before")
	p.keys("Enter")
	other.waitFor("before\r")

	sp.stop()
	p.waitForLine("*** " + a + " hung up (the device is gone: unplugged?)")
	p.waitForLine("*** waiting for " + a + " to come back; C-a C-x quits")
	if err := other.waitEnd(); err == nil {
		t.Errorf("the other end's read loop ended without an error")
	}

	startSocat(t, a, b)
	other = openDemoPort(t, b)
	real, err := filepath.EvalSymlinks(a)
	if err != nil {
		t.Fatal(err)
	}
	p.waitForLine("*** reconnected: " + a + " (" + real + ") 115200 8N1")
	p.typeText("after")
	p.keys("Enter")
	other.waitFor("after\r")
	other.write("and back\r\n")
	p.waitForLine("and back")
	p.escape("18")
	if code := p.waitExit(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}
