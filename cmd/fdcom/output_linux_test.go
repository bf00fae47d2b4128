package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fdstream/fdstream/adapters"
)

func TestBaudSteps(t *testing.T) {
	for _, tt := range []struct{ from, up, down int }{
		{115200, 230400, 57600},
		{9600, 19200, 4800},
		{300, 600, 300},             // the bottom stays
		{4000000, 4000000, 3500000}, // the top stays
		{250000, 460800, 230400},    // a custom rate steps to its neighbours
		{100, 300, 100},
		{5000000, 5000000, 4000000},
	} {
		if got := baudUp(tt.from); got != tt.up {
			t.Errorf("baudUp(%d) = %d, want %d", tt.from, got, tt.up)
		}
		if got := baudDown(tt.from); got != tt.down {
			t.Errorf("baudDown(%d) = %d, want %d", tt.from, got, tt.down)
		}
	}
}

func TestHexDumper(t *testing.T) {
	var h hexDumper
	out := h.dump([]byte("AT\r"), nil)
	if string(out) != "41 54 0d" || h.atLineStart() {
		t.Fatalf("dump %q, at line start %v", out, h.atLineStart())
	}
	out = h.dump([]byte("\nOK\r\n"), nil) // a line continues across reads, and ends after LF
	if string(out) != " 0a\r\n4f 4b 0d 0a\r\n" || !h.atLineStart() {
		t.Fatalf("dump %q, at line start %v", out, h.atLineStart())
	}
	out = h.dump([]byte("0123456789abcdefg"), nil) // 16 to a line
	if want := "30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66\r\n67"; string(out) != want {
		t.Fatalf("dump %q, want %q", out, want)
	}
}

func TestFormatPorts(t *testing.T) {
	ports := []adapters.SerialPort{
		{Path: "/dev/ttyACM0", Driver: "cdc_acm", ByID: "/dev/serial/by-id/usb-Arduino_Uno_1234-if00",
			USB: &adapters.USBInfo{VendorID: 0x2341, ProductID: 0x43, SerialNumber: "1234", Manufacturer: "Arduino", Product: "Uno", Interface: 0}},
		{Path: "/dev/ttyS0", Driver: "serial"},
		{Path: "/dev/ttyUSB0", Driver: "ftdi_sio", USB: &adapters.USBInfo{VendorID: 0x0403, ProductID: 0x6001, Interface: -1}},
	}
	got := formatPorts(ports)
	want := `PORT          USB ID     SERIAL  PRODUCT      DRIVER    BY-ID
/dev/ttyACM0  2341:0043  1234    Arduino Uno  cdc_acm   /dev/serial/by-id/usb-Arduino_Uno_1234-if00
/dev/ttyS0    -          -       -            serial    -
/dev/ttyUSB0  0403:6001  -       -            ftdi_sio  -
`
	if got != want {
		t.Errorf("formatPorts:\n%s\nwant\n%s", got, want)
	}
	for p, want := range map[*adapters.SerialPort]string{
		&ports[0]: "/dev/ttyACM0 (Arduino Uno, serial 1234)",
		&ports[1]: "/dev/ttyS0",
		&ports[2]: "/dev/ttyUSB0 (USB 0403:6001)",
	} {
		if got := describePort(*p); got != want {
			t.Errorf("describePort = %q, want %q", got, want)
		}
	}
}

// --reconnect by serial number goes back to the same interface of a
// composite adapter, whatever its node is called now.
func TestPickPort(t *testing.T) {
	usb := func(path string, iface int) adapters.SerialPort {
		return adapters.SerialPort{Path: path, USB: &adapters.USBInfo{SerialNumber: "X", Interface: iface}}
	}
	ports := []adapters.SerialPort{usb("/dev/ttyACM3", 0), usb("/dev/ttyACM4", 2)}
	for iface, want := range map[int]string{0: "/dev/ttyACM3", 2: "/dev/ttyACM4", 5: "/dev/ttyACM3", -1: "/dev/ttyACM3"} {
		if got := pickPort(ports, iface).Path; got != want {
			t.Errorf("pickPort(interface %d) = %s, want %s", iface, got, want)
		}
	}
}

func TestHelpNamesEveryCommand(t *testing.T) {
	help := helpText(0x02)
	for _, k := range []string{"C-b, then", "C-x quit", "C-q quit", "C-t toggle DTR", "C-g toggle RTS", `C-\ send a break`,
		"C-u baud up", "C-d baud down", "C-v show", "C-b send C-b", "C-h this help"} {
		if !strings.Contains(help, k) {
			t.Errorf("help does not say %q:\n%s", k, help)
		}
	}
	for k := range commandKeys {
		if !strings.Contains(help, keyName(k)+" ") {
			t.Errorf("help does not name %s", keyName(k))
		}
	}
}

// runCaptured runs fdcom's run with stdout and stderr in files, and no
// terminal.
func runCaptured(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	files := make([]*os.File, 3)
	for i, name := range []string{"stdin", "stdout", "stderr"} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files[i] = f
	}
	code = run(args, env{stdin: files[0], stdout: files[1], stderr: files[2]})
	out, _ := os.ReadFile(files[1].Name())
	errOut, _ := os.ReadFile(files[2].Name())
	return code, string(out), string(errOut)
}

// --list prints this machine's ports as ListSerialPorts finds them, or
// says there are none; -h prints the usage.
func TestListAndHelp(t *testing.T) {
	ports, err := adapters.ListSerialPorts()
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCaptured(t, "--list")
	switch {
	case code != 0:
		t.Errorf("--list: status %d, stderr %q", code, errOut)
	case len(ports) == 0 && (out != "" || errOut != "fdcom: no serial ports found\n"):
		t.Errorf("--list with no ports: stdout %q, stderr %q", out, errOut)
	case len(ports) > 0 && (out != formatPorts(ports) || errOut != ""):
		t.Errorf("--list: stdout %q, stderr %q; want %q", out, errOut, formatPorts(ports))
	}
	code, out, errOut = runCaptured(t, "-h")
	if code != 0 || out != usageText || errOut != "" {
		t.Errorf("-h: status %d, stdout %q, stderr %q", code, out, errOut)
	}
}
