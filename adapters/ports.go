package adapters

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// SerialPort is a serial port found by ListSerialPorts.
type SerialPort struct {
	// Path is the device node to open: "/dev/ttyUSB0".
	Path string
	// ByID is udev's stable link to the node in /dev/serial/by-id
	// ("/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_A1B2C3D4-if00-port0"),
	// or "" where there is none (no udev, or not a USB port).
	ByID string
	// Driver is the kernel driver behind the port: "ftdi_sio", "cp210x",
	// "cdc_acm", "uart-pl011", "serial" (a PC's 16550); "" if unknown.
	Driver string
	// USB is the USB identity of the adapter, nil for a port that is not
	// on USB.
	USB *USBInfo
}

// USBInfo is the identity of a USB serial adapter, from its USB device and
// interface descriptors.
type USBInfo struct {
	VendorID, ProductID uint16
	// SerialNumber, Manufacturer and Product are the device's strings, ""
	// where it has none. The serial number is what finds the adapter
	// again after it was unplugged: the port's name may change (ttyACM0
	// coming back as ttyACM1), its serial number does not.
	SerialNumber, Manufacturer, Product string
	// Interface is the USB interface the port belongs to
	// (bInterfaceNumber): a dual adapter (FT2232) or a composite board
	// has one per port, all with the same serial number. -1 if unknown.
	Interface int
	// Location is the device's place on the bus as sysfs names it, "1-2.4"
	// (bus 1, hub port 2, port 4): it stays the same when the same adapter,
	// or another one, is plugged into the same socket.
	Location string
}

// FindSerialPorts returns the ports of the USB adapter whose serial number
// is serialNumber, ordered by interface, as ListSerialPorts describes them:
// after an unplug, Close the old Stream, call FindSerialPorts until the
// adapter is back, and open its Path. It does not block.
//
// Errors are *os.PathError with Op "findserialports" wrapping
// os.ErrNotExist when no port has that serial number (the adapter is not
// plugged in, or has not been set up by the kernel yet), unix.EINVAL for
// an empty serialNumber, or ListSerialPorts's errors. It is safe for
// concurrent use.
func FindSerialPorts(serialNumber string) ([]SerialPort, error) {
	return findSerialPorts(serialSysfsRoot, serialDevRoot, serialNumber)
}

func findSerialPorts(sysRoot, devRoot, serialNumber string) ([]SerialPort, error) {
	const op = "findserialports"
	where := filepath.Join(sysRoot, "class", "tty")
	if serialNumber == "" {
		return nil, &os.PathError{Op: op, Path: where, Err: ttyInvalid("empty USB serial number")}
	}
	all, err := listSerialPorts(sysRoot, devRoot)
	if err != nil {
		if pe, ok := err.(*os.PathError); ok {
			pe.Op = op
		}
		return nil, err
	}
	var ports []SerialPort
	for _, p := range all {
		if p.USB != nil && p.USB.SerialNumber == serialNumber {
			ports = append(ports, p)
		}
	}
	if len(ports) == 0 {
		return nil, &os.PathError{Op: op, Path: where,
			Err: fmt.Errorf("adapters: no serial port with USB serial number %q: %w", serialNumber, os.ErrNotExist)}
	}
	sort.SliceStable(ports, func(i, j int) bool { return ports[i].USB.Interface < ports[j].USB.Interface })
	return ports, nil
}

// serialSortPorts orders ports by name, the number in it as a number:
// ttyS2 before ttyS10.
func serialSortPorts(ports []SerialPort) {
	split := func(p string) (string, int) {
		base := filepath.Base(p)
		i := len(base)
		for i > 0 && base[i-1] >= '0' && base[i-1] <= '9' {
			i--
		}
		n, err := strconv.Atoi(base[i:])
		if err != nil {
			n = -1
		}
		return base[:i], n
	}
	sort.Slice(ports, func(i, j int) bool {
		pi, ni := split(ports[i].Path)
		pj, nj := split(ports[j].Path)
		if pi != pj {
			return pi < pj
		}
		if ni != nj {
			return ni < nj
		}
		return strings.Compare(ports[i].Path, ports[j].Path) < 0
	})
}
