package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A whole demo session in a real terminal: AT and OK, an echoed line,
// every escape command with its status line and (for DTR, RTS and the
// baud rate) the demo device's own report, a log file, then C-a C-x:
// status 0, the terminal as it was, no process left. The transcript is
// logged (go test -v shows it).
func TestE2EDemoSession(t *testing.T) {
	logDir := t.TempDir()
	logFile := filepath.Join(logDir, "fdcom.log")
	p := startPane(t, []string{"-demo", "-l", logFile})
	p.waitForMatch(`^fdcom: /\S+/ttyDEMO \(/dev/pts/\d+, the demo device\) 115200 8N1; C-a C-h help, C-a C-x quit$`)
	p.waitFor("[demo device] plugged in: type AT, ATI, AT+LINES? or AT+UNPLUG, then Enter")

	p.typeText("AT")
	p.keys("Enter")
	p.waitForLine("OK")
	p.typeText("hello, fdcom")
	p.keys("Enter")
	p.waitForLine("echo: hello, fdcom")

	p.escape("14") // C-t
	p.waitForLine("*** DTR off (simulated by the demo device: a pty has no modem lines)")
	p.waitForLine("[demo device] DTR off, RTS on")
	p.escape("07") // C-g
	p.waitForLine("*** RTS off (simulated by the demo device: a pty has no modem lines)")
	p.waitForLine("[demo device] DTR off, RTS off")
	p.escape("14")
	p.waitForLine("*** DTR on (simulated by the demo device: a pty has no modem lines)")
	p.waitForLine("[demo device] DTR on, RTS off")

	p.escape("15") // C-u
	p.waitForLine("*** baud 230400")
	p.waitForLine("[demo device] line now 230400 8N1, read from its pty")
	p.escape("04") // C-d
	p.escape("04")
	p.waitForLine("*** baud 57600")
	p.waitForLine("[demo device] line now 57600 8N1, read from its pty")

	p.escape("16") // C-v
	p.waitForMatch(`^\*\*\* /\S+/ttyDEMO \(/dev/pts/\d+\): 57600 8N1$`)
	p.waitForLine("*** modem lines: DTR on, RTS off (simulated by the demo device: a pty has none)")
	p.waitForLine("*** escape C-a, hex off, log " + logFile + ", reconnect off")
	p.typeText("AT+LINES?")
	p.keys("Enter")
	p.waitForLine("+LINES: DTR on, RTS off; 57600 8N1")

	p.escape("1c") // C-\
	p.waitForLine("*** break sent (250ms); a pty carries no break, so the demo device sees none")
	p.escape("08") // C-h
	p.waitForLine("***   C-t toggle DTR    C-g toggle RTS    C-\\ send a break")
	p.escape("7a") // C-a z
	p.waitForLine(`*** C-a "z" is no command; C-a C-h for help`)
	p.escape("01") // C-a C-a sends C-a, which the device echoes as ^A
	p.typeText("x")
	p.keys("Enter")
	p.waitForLine("^Ax")
	p.waitForLine("echo: x")

	p.escape("18") // C-x
	if code := p.waitExit(); code != 0 {
		t.Errorf("exit status %d after C-a C-x, want 0", code)
	}
	screen := p.screen()
	t.Logf("capture-pane of the session:\n%s", screen)
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[demo device] plugged in", "AT\r\nOK\r\n", "echo: hello, fdcom\r\n", "+LINES: DTR on, RTS off; 57600 8N1\r\n"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("log file lacks %q:\n%q", want, log)
		}
	}
	if strings.Contains(string(log), "***") {
		t.Errorf("log file holds status lines: %q", log)
	}
}

// --hex shows what the device sends as hexadecimal.
func TestE2EDemoHex(t *testing.T) {
	p := startPane(t, []string{"-demo", "--hex", "-q"})
	p.waitFor("5b 64 65 6d 6f") // "[demo"
	p.typeText("AT")
	p.keys("Enter")
	p.waitFor("41 54 0d 0a") // the echo: "AT" CR LF
	p.waitForLine("4f 4b 0d 0a")
	if strings.Contains(p.screen(), "fdcom:") {
		t.Errorf("-q printed the start line")
	}
	p.escape("18")
	if code := p.waitExit(); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// AT+UNPLUG under --reconnect: the hang-up is reported, fdcom says it
// waits, reopens the new pty behind the link with the same settings
// (including a baud rate changed with C-u), and goes on.
func TestE2EDemoReconnect(t *testing.T) {
	p := startPane(t, []string{"-demo", "--reconnect"})
	p.waitFor("[demo device] plugged in")
	p.escape("15")
	p.waitForLine("*** baud 230400")
	p.typeText("AT+UNPLUG=1")
	p.keys("Enter")
	p.waitFor("ttyDEMO hung up (the device is gone: unplugged?)")
	p.waitFor("*** waiting for ")
	p.waitFor("ttyDEMO to come back; C-a C-x quits")
	p.waitForMatch(`^\*\*\* reconnected: /\S+/ttyDEMO \(/dev/pts/\d+\) 230400 8N1$`)
	p.waitFor("[demo device] plugged in", 2)
	p.waitForLine("[demo device] line now 230400 8N1, read from its pty", 2)
	oks := p.countLines("OK") // AT+UNPLUG's OK may be lost in the hang-up, as with a real unplug
	p.typeText("AT")
	p.keys("Enter")
	p.waitForLine("OK", oks+1)
	p.escape("18")
	if code := p.waitExit(); code != 0 {
		t.Errorf("exit status %d", code)
	}
	t.Logf("capture-pane of the session:\n%s", p.screen())
}

// While it waits for the port, fdcom still answers quit.
func TestE2EDemoQuitWhileWaiting(t *testing.T) {
	p := startPane(t, []string{"-demo", "--reconnect"})
	p.waitFor("[demo device] plugged in")
	p.typeText("AT+UNPLUG=3600")
	p.keys("Enter")
	p.waitFor("to come back; C-a C-x quits")
	p.escape("18")
	if code := p.waitExit(); code != 0 {
		t.Errorf("exit status %d after C-a C-x while waiting, want 0", code)
	}
}

// Without --reconnect a hang-up ends fdcom with status 1 and a message
// that says what happened and what would have waited.
func TestE2EDemoHangUp(t *testing.T) {
	p := startPane(t, []string{"-demo"})
	p.waitFor("[demo device] plugged in")
	p.typeText("AT+UNPLUG")
	p.keys("Enter")
	if code := p.waitExit(); code != 1 {
		t.Errorf("exit status %d after a hang-up, want 1", code)
	}
	p.waitFor("ttyDEMO hung up (the device is gone: unplugged?); with --reconnect fdcom waits for it to come back")
}

// SIGTERM, SIGHUP and SIGINT end fdcom with 128+N, the terminal restored.
func TestE2ESignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startPane(t, []string{"-demo"})
			p.waitFor("[demo device] plugged in")
			if err := syscall.Kill(p.fdcomPID(), sig); err != nil {
				t.Fatal(err)
			}
			if code := p.waitExit(); code != 128+int(sig) {
				t.Errorf("exit status %d after %v, want %d", code, sig, 128+int(sig))
			}
			p.waitFor("fdcom: " + sig.String() + ": terminal restored, port closed")
		})
	}
}

// A panic in the goroutine reading the port, or the one reading the
// keyboard, ends fdcom with status 1 and the terminal restored.
func TestE2EPanicRestoresTerminal(t *testing.T) {
	for _, where := range []struct{ hook, name string }{{"reader", "port reader"}, {"keys", "keyboard reader"}} {
		t.Run(where.hook, func(t *testing.T) {
			p := startPane(t, []string{"-demo"}, "FDCOM_TEST_PANIC="+where.hook)
			p.waitFor("C-a C-x quit")
			if where.hook == "keys" {
				p.typeText("x") // the keyboard reader panics on its first key
			}
			if code := p.waitExit(); code != 1 {
				t.Errorf("exit status %d after a panic, want 1", code)
			}
			p.waitFor("fdcom: internal error in the " + where.name + ": panic: fdcom test:")
		})
	}
}

// Bad input: each case exits 2 with one line on stderr that says what is
// wrong, and the terminal is left as it was.
func TestE2EBadInput(t *testing.T) {
	regular := filepath.Join(t.TempDir(), "not-a-tty")
	if err := os.WriteFile(regular, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing port", []string{"/dev/ttyNOSUCH9"}, "fdcom: open /dev/ttyNOSUCH9: no such file or directory"},
		{"regular file", []string{regular}, "fdcom: " + regular + " is not a terminal (getstate " + regular + ": inappropriate ioctl for device)"},
		{"not a tty device", []string{"/dev/null"}, "fdcom: /dev/null is not a terminal (getstate /dev/null: inappropriate ioctl for device)"},
		{"bad baud", []string{"-b", "fast", "-demo"}, `fdcom: invalid value "fast" for flag -b: want a whole number of bits per second, from 1 to 4294967295`},
		{"zero baud", []string{"-b", "0", "-demo"}, `fdcom: invalid value "0" for flag -b: want a whole number of bits per second, from 1 to 4294967295`},
		{"bad parity", []string{"-p", "q", "-demo"}, `fdcom: invalid value "q" for flag -p: parity is n, o, e, m or s (none, odd, even, mark, space)`},
		{"unknown flag", []string{"-x", "-demo"}, "fdcom: flag provided but not defined: -x (fdcom -h lists the flags)"},
		{"no port", nil, "fdcom: no port: give PORT, -serial NUMBER or -demo (fdcom -h for help)"},
		{"unknown USB serial", []string{"-serial", "NOSUCHSERIAL"}, `fdcom: findserialports /sys/class/tty: adapters: no serial port with USB serial number "NOSUCHSERIAL": file does not exist`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stderr := filepath.Join(t.TempDir(), "stderr")
			p := startPaneStderr(t, c.args, stderr)
			code := p.waitExit()
			got, err := os.ReadFile(stderr)
			if err != nil {
				t.Fatal(err)
			}
			if code != 2 || string(got) != c.want+"\n" {
				t.Errorf("fdcom %q: status %d, stderr %q; want 2, %q", c.args, code, got, c.want+"\n")
			}
		})
	}
}
