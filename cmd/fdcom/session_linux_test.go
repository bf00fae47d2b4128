package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/adapters"
)

// testTerminal is a pty standing in for the user's terminal: fdcom gets
// the slave as stdin, stdout and stderr, opened blocking as a shell
// leaves it; the test types into the master and reads the screen there.
type testTerminal struct {
	*demoPort
	tty *os.File
}

func newTestTerminal(t *testing.T) *testTerminal {
	t.Helper()
	master, slave, err := adapters.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	fd, err := unix.Open(slave.Name(), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	slave.Close()
	if err != nil {
		t.Fatal(err)
	}
	tty := os.NewFile(uintptr(fd), slave.Name())
	t.Cleanup(func() { tty.Close() })
	return &testTerminal{demoPort: watch(t, master), tty: tty}
}

// state returns the terminal's termios and its description's status
// flags, as fdcom's stdin has them.
func (tt *testTerminal) state() (*unix.Termios, int) {
	tt.t.Helper()
	var tio *unix.Termios
	var fl int
	rc, err := tt.tty.SyscallConn()
	if err != nil {
		tt.t.Fatal(err)
	}
	var ierr error
	rc.Control(func(fd uintptr) {
		if tio, ierr = unix.IoctlGetTermios(int(fd), unix.TCGETS); ierr != nil {
			return
		}
		fl, ierr = unix.FcntlInt(fd, unix.F_GETFL, 0)
	})
	if ierr != nil {
		tt.t.Fatal(ierr)
	}
	return tio, fl
}

// runInProcess runs fdcom's run with tt as its terminal. If the test
// ends before fdcom does, cleanup types C-a C-x and waits for it.
func runInProcess(t *testing.T, tt *testTerminal, args ...string) <-chan int {
	code := make(chan int, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		code <- run(args, env{stdin: tt.tty, stdout: tt.tty, stderr: tt.tty})
	}()
	t.Cleanup(func() {
		select {
		case <-done:
			return
		default:
		}
		tt.s.Write([]byte("\x01\x18"))
		select {
		case <-done:
		case <-time.After(hang):
			t.Errorf("fdcom still running %v after C-a C-x at cleanup", hang)
		}
	})
	return code
}

func waitCode(t *testing.T, code <-chan int) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(hang):
		t.Fatalf("fdcom still running after %v", hang)
	}
	return -1
}

// fdcom in this process, on a pty as its terminal: raw while it runs,
// restored after; the terminal's description never made non-blocking;
// typing reaches the demo device and its answer the screen; C-a C-x ends
// it with status 0, and nothing is left (goleak checks the goroutines,
// the test the demo's directory).
func TestSessionInProcess(t *testing.T) {
	tt := newTestTerminal(t)
	before, flags := tt.state()
	if flags&unix.O_NONBLOCK != 0 {
		t.Fatalf("the test terminal starts non-blocking")
	}
	code := runInProcess(t, tt, "-demo", "-b", "57600")
	start := tt.waitFor("C-x quit\r\n")
	m := regexp.MustCompile(`^fdcom: (/\S+/ttyDEMO) \((/dev/pts/\d+), the demo device\) 57600 8N1; C-a C-h help, C-a C-x quit\r\n$`).FindStringSubmatch(start)
	if m == nil {
		t.Fatalf("start line %q", start)
	}
	link := m[1]
	tt.waitFor("[demo device] plugged in")

	during, flags := tt.state()
	if during.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 || during.Oflag&unix.OPOST != 0 {
		t.Errorf("terminal not raw while fdcom runs: lflag %#x oflag %#x", during.Lflag, during.Oflag)
	}
	if flags&unix.O_NONBLOCK != 0 {
		t.Errorf("fdcom made its stdin's description non-blocking")
	}

	tt.write("AT\r")
	tt.waitFor("AT\r\nOK\r\n")
	tt.write("\x01\x15") // C-a C-u
	tt.waitFor("*** baud 115200\r\n")
	tt.waitFor("[demo device] line now 115200 8N1, read from its pty\r\n")
	tt.write("\x01\x18") // C-a C-x
	if c := waitCode(t, code); c != exitOK {
		t.Errorf("exit status %d after C-a C-x, want 0; screen %q", c, tt.seen)
	}
	after, flags := tt.state()
	if *after != *before {
		t.Errorf("terminal not restored:\nbefore %+v\nafter  %+v", before, after)
	}
	if flags&unix.O_NONBLOCK != 0 {
		t.Errorf("stdin's description left non-blocking")
	}
	if _, err := os.Stat(filepath.Dir(link)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("demo directory %s after exit: %v", filepath.Dir(link), err)
	}
}

// Bytes typed while the port is away are dropped, and fdcom says so once;
// commands still work, and C-a C-q quits while it waits.
func TestSessionInProcessWhileDisconnected(t *testing.T) {
	tt := newTestTerminal(t)
	before, _ := tt.state()
	code := runInProcess(t, tt, "-demo", "--reconnect", "-q")
	tt.waitFor("[demo device] plugged in")
	if strings.Contains(string(tt.seen), "fdcom:") {
		t.Errorf("-q printed a start line: %q", tt.seen)
	}
	tt.write("AT+UNPLUG=3600\r")
	tt.waitFor("hung up (the device is gone: unplugged?)\r\n")
	tt.waitFor("C-a C-x quits\r\n")
	tt.write("typed")
	tt.waitFor("*** not connected: what you type is dropped until the port is back\r\n")
	tt.write("more\x01\x08") // more typing is not reported again; help still answers
	if got := tt.waitFor("C-h this help\r\n"); strings.Contains(got, "not connected") {
		t.Errorf("second drop reported again: %q", got)
	}
	tt.write("\x01\x16") // C-v has no port to show
	tt.waitFor("*** not connected")
	tt.write("\x01\x11") // C-a C-q
	if c := waitCode(t, code); c != exitOK {
		t.Errorf("exit status %d after C-a C-q, want 0", c)
	}
	if after, _ := tt.state(); *after != *before {
		t.Errorf("terminal not restored")
	}
}
