package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
)

// hang bounds every wait in these tests: it catches a hang, it is no
// timing goal.
const hang = 30 * time.Second

func TestDemoAnswer(t *testing.T) {
	status := func() string { return "DTR on, RTS off; 9600 8N1" }
	tests := []struct {
		line   string
		want   string
		unplug bool
		replug time.Duration
	}{
		{"AT", "OK\r\n", false, 0},
		{"at", "OK\r\n", false, 0},
		{"  AT  ", "OK\r\n", false, 0},
		{"AT+GMR", "OK\r\n", false, 0},
		{"ATI", "fdcom demo device, a pty served by fdstream\r\nOK\r\n", false, 0},
		{"at+lines?", "+LINES: DTR on, RTS off; 9600 8N1\r\nOK\r\n", false, 0},
		{"AT+UNPLUG", "OK\r\n[demo device] unplugging now, back in 2s\r\n", true, 2 * time.Second},
		{"AT+UNPLUG=0", "OK\r\n[demo device] unplugging now, back in 0s\r\n", true, 0},
		{"at+unplug=600", "OK\r\n[demo device] unplugging now, back in 10m0s\r\n", true, 600 * time.Second},
		{"AT+UNPLUG=-1", "ERROR: AT+UNPLUG=N wants N seconds, 0 to 3600\r\n", false, 0},
		{"AT+UNPLUG=3601", "ERROR: AT+UNPLUG=N wants N seconds, 0 to 3600\r\n", false, 0},
		{"AT+UNPLUG=soon", "ERROR: AT+UNPLUG=N wants N seconds, 0 to 3600\r\n", false, 0},
		{"hello", "echo: hello\r\n", false, 0},
		{"hello, wörld\t!", "echo: hello, wörld\t!\r\n", false, 0},
		{"A", "echo: A\r\n", false, 0},
		{"", "", false, 0},
		{"   ", "", false, 0},
	}
	for _, tt := range tests {
		r := demoAnswer(tt.line, status)
		if r.text != tt.want || r.unplug != tt.unplug || r.replug != tt.replug {
			t.Errorf("demoAnswer(%q) = %q unplug %v replug %v; want %q %v %v", tt.line, r.text, r.unplug, r.replug, tt.want, tt.unplug, tt.replug)
		}
	}
}

func TestDemoLineReader(t *testing.T) {
	answer := func(line string) ([]byte, bool) {
		return []byte("<" + line + ">"), line == "STOP"
	}
	tests := []struct {
		name   string
		chunks []string
		want   string
	}{
		{"CR ends a line", []string{"AT\r"}, "AT\r\n<AT>"},
		{"LF ends a line", []string{"AT\n"}, "AT\r\n<AT>"},
		{"CR LF is one end", []string{"AT\r\nB\r\n"}, "AT\r\n<AT>B\r\n<B>"},
		{"CR LF split across reads", []string{"AT\r", "\nB\r"}, "AT\r\n<AT>B\r\n<B>"},
		{"LF LF is two ends", []string{"A\n\n"}, "A\r\n<A>\r\n<>"},
		{"CR CR is two ends", []string{"A\r\r"}, "A\r\n<A>\r\n<>"},
		{"a line split across reads", []string{"he", "llo\r"}, "hello\r\n<hello>"},
		{"DEL erases", []string{"ATX\x7f\r"}, "ATX\b \b\r\n<AT>"},
		{"BS erases, never past the start", []string{"A\b\b\r"}, "A\b \b\r\n<>"},
		{"control bytes echo as carets and are not kept", []string{"A\x01\x03T\r"}, "A^A^CT\r\n<AT>"},
		{"tab is kept", []string{"a\tb\r"}, "a\tb\r\n<a\tb>"},
		{"stop drops the rest", []string{"STOP\rAT\r"}, "STOP\r\n<STOP>"},
	}
	for _, tt := range tests {
		var lr lineReader
		var out []byte
		for _, c := range tt.chunks {
			out = lr.feed([]byte(c), out, answer)
		}
		if string(out) != tt.want {
			t.Errorf("%s: %q gives %q, want %q", tt.name, tt.chunks, out, tt.want)
		}
	}

	// A line longer than demoMaxLine is refused whole, and the next one is
	// taken as usual.
	var lr lineReader
	long := strings.Repeat("x", demoMaxLine+10)
	out := lr.feed([]byte(long+"\rAT\r"), nil, answer)
	want := strings.Repeat("x", demoMaxLine) + "\r\nERROR: line longer than 256 bytes\r\nAT\r\n<AT>"
	if string(out) != want {
		t.Errorf("long line gives %q, want %q", out, want)
	}
}

// demoPort opens the demo device's link as fdcom does, with a read loop
// whose output the test waits on.
type demoPort struct {
	t    *testing.T
	s    *fdstream.Stream
	got  chan []byte
	seen []byte
	err  error // the read loop's last error, once got is closed
}

// openDemoPort opens path (the demo device's link, or a null modem's far
// side) at 115200, as fdcom does, with a read loop.
func openDemoPort(t *testing.T, path string) *demoPort {
	t.Helper()
	s, err := fdstream.Open(path, os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := adapters.SetSerial(s, adapters.SerialConfig{Baud: 115200}); err != nil {
		t.Fatal(err)
	}
	return watch(t, s)
}

// watch starts a read loop on s, stopped at cleanup (before s is closed,
// if s's cleanup was registered first).
func watch(t *testing.T, s *fdstream.Stream) *demoPort {
	p := &demoPort{t: t, s: s, got: make(chan []byte, 64)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(p.got)
		for {
			buf := make([]byte, 256)
			n, err := s.ReadContext(ctx, buf)
			if n > 0 {
				select {
				case p.got <- buf[:n]:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				p.err = err
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return p
}

// waitFor reads until want has arrived; it returns what arrived up to
// and including it, and keeps the rest for the next wait.
func (p *demoPort) waitFor(want string) string {
	p.t.Helper()
	timeout := time.NewTimer(hang)
	defer timeout.Stop()
	for {
		if i := bytes.Index(p.seen, []byte(want)); i >= 0 {
			upto := string(p.seen[:i+len(want)])
			p.seen = p.seen[i+len(want):]
			return upto
		}
		select {
		case b, ok := <-p.got:
			if !ok {
				p.t.Fatalf("port ended (%v) before %q; read %q", p.err, want, p.seen)
			}
			p.seen = append(p.seen, b...)
		case <-timeout.C:
			p.t.Fatalf("no %q within %v; read %q", want, hang, p.seen)
		}
	}
}

// waitEnd reads until the read loop ends, and returns its error.
func (p *demoPort) waitEnd() error {
	p.t.Helper()
	timeout := time.NewTimer(hang)
	defer timeout.Stop()
	for {
		select {
		case b, ok := <-p.got:
			if !ok {
				return p.err
			}
			p.seen = append(p.seen, b...)
		case <-timeout.C:
			p.t.Fatalf("port still open after %v; read %q", hang, p.seen)
		}
	}
}

func (p *demoPort) write(s string) {
	p.t.Helper()
	if _, err := p.s.Write([]byte(s)); err != nil {
		p.t.Fatal(err)
	}
}

// The demo device over its real pty: its answers, what it reads from its
// own Stream, the simulated lines, an unplug that hangs the port up and a
// replug behind the same link; stop leaves nothing (goleak checks the
// goroutines).
func TestDemoDevice(t *testing.T) {
	d, err := startDemo()
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			d.stop()
		}
	})
	if !strings.HasPrefix(d.portName(), "/dev/pts/") {
		t.Fatalf("portName %q", d.portName())
	}
	if real, err := os.Readlink(d.link); err != nil || real != d.portName() {
		t.Fatalf("link %s -> %q, %v; want %s", d.link, real, err, d.portName())
	}

	p := openDemoPort(t, d.link)
	p.waitFor("[demo device] plugged in: type AT, ATI, AT+LINES? or AT+UNPLUG, then Enter\r\n")
	p.write("AT\r")
	if got := p.waitFor("OK\r\n"); got != "AT\r\nOK\r\n" {
		t.Errorf("AT gives %q", got)
	}
	p.write("hello\r\n")
	if got := p.waitFor("echo: hello\r\n"); got != "hello\r\necho: hello\r\n" {
		t.Errorf("hello gives %q", got)
	}

	// The baud rate fdcom sets on its side, the device reads from its own.
	if err := adapters.SetBaud(p.s, 230400); err != nil {
		t.Fatal(err)
	}
	d.settingsChanged()
	p.waitFor("[demo device] line now 230400 8N1, read from its pty\r\n")

	// The lines are simulated; the device announces what it sees.
	if got := d.setLines(0, adapters.ModemDTR); got != adapters.ModemRTS {
		t.Errorf("setLines(0, DTR) = %v", got)
	}
	p.waitFor("[demo device] DTR off, RTS on\r\n")
	if got := d.setLines(adapters.ModemDTR, adapters.ModemRTS); got != adapters.ModemDTR || d.modemLines() != adapters.ModemDTR {
		t.Errorf("setLines(DTR, RTS) = %v, modemLines %v", got, d.modemLines())
	}
	p.waitFor("[demo device] DTR on, RTS off\r\n")
	p.write("AT+LINES?\r")
	p.waitFor("+LINES: DTR on, RTS off; 230400 8N1\r\nOK\r\n")

	// The pty is what a serial port's driver would refuse: no modem lines.
	if _, err := adapters.GetModem(p.s); !errors.Is(err, unix.ENOTTY) {
		t.Errorf("GetModem on the demo port: %v, want ENOTTY", err)
	}

	// Unplug: the port hangs up; the link goes, then comes back to a new pty.
	old := d.portName()
	p.write("AT+UNPLUG=0\r")
	if err := p.waitEnd(); err != io.EOF {
		t.Errorf("read after AT+UNPLUG: %v, want io.EOF", err)
	}
	if hung, err := adapters.HungUp(p.s); !hung || err != nil {
		t.Errorf("HungUp after AT+UNPLUG = %v, %v", hung, err)
	}
	if !bytes.Contains(p.seen, []byte("OK\r\n[demo device] unplugging now, back in 0s\r\n")) {
		t.Errorf("AT+UNPLUG answered %q", p.seen)
	}
	var p2 *demoPort
	for deadline := time.Now().Add(hang); p2 == nil; {
		if _, err := os.Stat(d.link); err == nil {
			p2 = openDemoPort(t, d.link)
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no replug within %v", hang)
		}
		time.Sleep(10 * time.Millisecond)
	}
	p2.waitFor("[demo device] plugged in")
	if now := d.portName(); now == "" {
		t.Errorf("portName empty after the replug (was %s)", old)
	}
	if d.modemLines() != adapters.ModemDTR|adapters.ModemRTS {
		t.Errorf("lines after replug: %v, want DTR|RTS as on a fresh open", d.modemLines())
	}
	p2.write("AT\r")
	p2.waitFor("AT\r\nOK\r\n")

	d.stop()
	stopped = true
	if _, err := os.Stat(d.dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("demo directory after stop: %v", err)
	}
	if err := p2.waitEnd(); err != io.EOF {
		t.Errorf("port after stop: %v, want io.EOF", err)
	}
}

// While the device is away, stop ends its wait at once.
func TestDemoDeviceStopWhileUnplugged(t *testing.T) {
	d, err := startDemo()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.stop) // a second stop does nothing
	p := openDemoPort(t, d.link)
	p.write("AT+UNPLUG=3600\r")
	if err := p.waitEnd(); err != io.EOF {
		t.Errorf("read after AT+UNPLUG: %v", err)
	}
	if _, err := os.Lstat(d.link); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("link while unplugged: %v", err)
	}
	stopped := make(chan struct{})
	go func() {
		d.stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(hang):
		t.Fatalf("stop still waiting after %v", hang)
	}
}
