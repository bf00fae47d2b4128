package adapters_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/adapters"
)

// portsTestTree builds the fake /sys and /dev described by manifest (see
// testdata/sysfs.txt) under a temporary directory and returns its root.
func portsTestTree(t *testing.T, manifest string) string {
	t.Helper()
	root := t.TempDir()
	f, err := os.Open(manifest)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		kind, rest, _ := strings.Cut(text, " ")
		var path string
		var err error
		switch kind {
		case "file":
			p, content, ok := strings.Cut(rest, " =")
			if !ok {
				t.Fatalf("%s:%d: file without =", manifest, line)
			}
			path = filepath.Join(root, p)
			if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
				content = strings.ReplaceAll(strings.TrimPrefix(content, " "), `\n`, "\n")
				if content != "" {
					content += "\n"
				}
				err = os.WriteFile(path, []byte(content), 0o644)
			}
		case "link":
			p, target, ok := strings.Cut(rest, " -> ")
			if !ok {
				t.Fatalf("%s:%d: link without ->", manifest, line)
			}
			path = filepath.Join(root, p)
			if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
				err = os.Symlink(target, path)
			}
		default:
			t.Fatalf("%s:%d: unknown entry %q", manifest, line, kind)
		}
		if err != nil {
			t.Fatalf("%s:%d: %v", manifest, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return root
}

// The fake tree holds USB-serial (FTDI), CDC-ACM (a composite board with
// two ports, an Arduino without a product string), a platform UART and an
// AMBA one, a PC's 16550, legacy 8250 ports the kernel found no UART for
// (old and 6.5+ layouts, and a kernel without the "type" attribute), an
// adapter unplugged mid-read, and virtual terminals. ListSerialPorts
// gives exactly the real ports, sorted by name, with their USB identity
// and by-id links.
func TestListSerialPorts(t *testing.T) {
	root := portsTestTree(t, "testdata/sysfs.txt")
	dev := filepath.Join(root, "dev")
	byID := func(name string) string { return filepath.Join(dev, "serial", "by-id", name) }
	probe := &adapters.USBInfo{
		VendorID: 0x2e8a, ProductID: 0x000c, SerialNumber: "E660583883265A2B",
		Manufacturer: "Raspberry Pi", Product: "Debugprobe on Pico (CMSIS-DAP)",
		Interface: 1, Location: "1-3.1",
	}
	probe3 := *probe
	probe3.Interface = 3
	want := []adapters.SerialPort{
		{
			Path: filepath.Join(dev, "ttyACM1"), Driver: "cdc_acm", USB: probe,
			ByID: byID("usb-Raspberry_Pi_Debugprobe_on_Pico__CMSIS-DAP__E660583883265A2B-if01"),
		},
		{
			Path: filepath.Join(dev, "ttyACM2"), Driver: "cdc_acm",
			USB: &adapters.USBInfo{
				VendorID: 0x2341, ProductID: 0x0043, SerialNumber: "85736323838351F0F0A1",
				Manufacturer: "Arduino (www.arduino.cc)", Interface: 0, Location: "1-4",
			},
			ByID: byID("usb-Arduino__www.arduino.cc__0043_85736323838351F0F0A1-if00"),
		},
		{
			Path: filepath.Join(dev, "ttyACM10"), Driver: "cdc_acm", USB: &probe3,
			ByID: byID("usb-Raspberry_Pi_Debugprobe_on_Pico__CMSIS-DAP__E660583883265A2B-if03"),
		},
		{Path: filepath.Join(dev, "ttyAMA0"), Driver: "uart-pl011"},
		{Path: filepath.Join(dev, "ttyS0"), Driver: "serial"},
		{Path: filepath.Join(dev, "ttyS4"), Driver: "dw-apb-uart"},
		{
			Path: filepath.Join(dev, "ttyUSB0"), Driver: "ftdi_sio",
			USB: &adapters.USBInfo{
				VendorID: 0x0403, ProductID: 0x6001, SerialNumber: "A1B2C3D4",
				Manufacturer: "FTDI", Product: "FT232R USB UART", Interface: 0, Location: "1-2",
			},
			ByID: byID("usb-FTDI_FT232R_USB_UART_A1B2C3D4-if00-port0"),
		},
	}
	got, err := adapters.ListSerialPortsIn(filepath.Join(root, "sys"), dev)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ListSerialPorts:\n%s\nwant:\n%s", portsString(got), portsString(want))
	}
}

func portsString(ports []adapters.SerialPort) string {
	var b strings.Builder
	for _, p := range ports {
		b.WriteString("  " + p.Path + " driver=" + p.Driver + " byid=" + p.ByID)
		if p.USB != nil {
			fmt.Fprintf(&b, " usb=%+v", *p.USB)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// FindSerialPorts finds an adapter again by its USB serial number, every
// port of a composite one in interface order; an unknown number is
// os.ErrNotExist and an empty one EINVAL.
func TestFindSerialPorts(t *testing.T) {
	root := portsTestTree(t, "testdata/sysfs.txt")
	sys, dev := filepath.Join(root, "sys"), filepath.Join(root, "dev")

	got, err := adapters.FindSerialPortsIn(sys, dev, "E660583883265A2B")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range got {
		paths = append(paths, filepath.Base(p.Path))
	}
	if want := []string{"ttyACM1", "ttyACM10"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("FindSerialPorts(composite) = %v, want %v", paths, want)
	}
	got, err = adapters.FindSerialPortsIn(sys, dev, "A1B2C3D4")
	if err != nil || len(got) != 1 || got[0].Path != filepath.Join(dev, "ttyUSB0") {
		t.Errorf("FindSerialPorts(FTDI) = %+v, %v; want ttyUSB0", got, err)
	}

	for _, tc := range []struct {
		serial string
		want   error
	}{
		{"NOSUCHSERIAL", os.ErrNotExist},
		{"0000:00:14.0", os.ErrNotExist}, // the root hub's "serial": a hub is no port
		{"", unix.EINVAL},
	} {
		_, err := adapters.FindSerialPortsIn(sys, dev, tc.serial)
		var pe *os.PathError
		if !errors.As(err, &pe) || pe.Op != "findserialports" || !errors.Is(err, tc.want) {
			t.Errorf("FindSerialPorts(%q) = %v, want an *os.PathError findserialports wrapping %v", tc.serial, err, tc.want)
		}
	}

	// No sysfs at all: the error names the function and the directory.
	_, err = adapters.ListSerialPortsIn(filepath.Join(root, "nosys"), dev)
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Op != "listserialports" || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ListSerialPorts without sysfs = %v, want *os.PathError listserialports wrapping ErrNotExist", err)
	}
	_, err = adapters.FindSerialPortsIn(filepath.Join(root, "nosys"), dev, "A1B2C3D4")
	if !errors.As(err, &pe) || pe.Op != "findserialports" || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("FindSerialPorts without sysfs = %v, want *os.PathError findserialports wrapping ErrNotExist", err)
	}
}

// On this machine: whatever ports it has, each listed one has a device
// node, and no virtual terminal or pty is among them.
func TestListSerialPortsHere(t *testing.T) {
	ports, err := adapters.ListSerialPorts()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		if _, err := os.Lstat(p.Path); err != nil {
			t.Errorf("%s listed without a node: %v", p.Path, err)
		}
		base := filepath.Base(p.Path)
		if base == "console" || base == "ptmx" || strings.HasPrefix(p.Path, "/dev/pts/") || (strings.HasPrefix(base, "tty") && len(base) > 3 && base[3] >= '0' && base[3] <= '9') {
			t.Errorf("%s is not a serial port", p.Path)
		}
	}
	t.Logf("ports here: %s", portsString(ports))
}
