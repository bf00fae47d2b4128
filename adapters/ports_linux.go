package adapters

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The roots ListSerialPorts reads; tests give listSerialPorts a fake tree.
const (
	serialSysfsRoot = "/sys"
	serialDevRoot   = "/dev"
)

// ListSerialPorts returns the serial ports the kernel knows, ordered by
// name, from sysfs (/sys/class/tty), without cgo or libudev: on-board and
// PCI UARTs (ttyS*, ttyAMA*, ...), USB-serial adapters (ttyUSB*) and
// CDC-ACM devices (ttyACM*), with the USB identity of those on USB and
// udev's /dev/serial/by-id link where there is one. It does not block.
//
// A tty without a device behind it (virtual consoles, ptys, /dev/console)
// is not a port. Nor is a serial-core port whose UART the kernel did not
// find: the legacy 8250 driver registers ttyS0 to ttyS3 (or more) whether
// or not the hardware exists, and reports those it did not find with the
// type 0 (PORT_UNKNOWN) in their "type" attribute. pyserial's
// list_ports_linux hides the same ports by hiding every port whose device
// is on the platform bus, which also hides real on-chip UARTs; this
// reads the type instead, and keeps pyserial's rule only for the legacy
// serial8250 device on a kernel too old to have the attribute. A port
// whose node is missing from /dev (a container sharing the host's sysfs)
// is left out too.
//
// The tree can change while it is read (an adapter unplugged): a port that
// vanishes midway is left out, never an error. Errors are *os.PathError
// with Op "listserialports" when /sys/class/tty cannot be read. It is safe
// for concurrent use.
func ListSerialPorts() ([]SerialPort, error) {
	return listSerialPorts(serialSysfsRoot, serialDevRoot)
}

// listSerialPorts reads sysfs under sysRoot and device nodes under devRoot.
func listSerialPorts(sysRoot, devRoot string) ([]SerialPort, error) {
	const op = "listserialports"
	class := filepath.Join(sysRoot, "class", "tty")
	ents, err := os.ReadDir(class)
	if err != nil {
		if pe, ok := err.(*os.PathError); ok {
			err = pe.Err
		}
		return nil, &os.PathError{Op: op, Path: class, Err: err}
	}
	devices := filepath.Join(sysRoot, "devices")
	if real, err := filepath.EvalSymlinks(devices); err == nil {
		devices = real
	}
	byID := sysfsByID(filepath.Join(devRoot, "serial", "by-id"))
	var ports []SerialPort
	for _, e := range ents {
		p, ok := sysfsPort(filepath.Join(class, e.Name()), e.Name(), devices, devRoot)
		if !ok {
			continue
		}
		p.ByID = byID[filepath.Base(p.Path)]
		ports = append(ports, p)
	}
	serialSortPorts(ports)
	return ports, nil
}

// sysfsPort describes the tty whose class directory is dir, or reports
// that it is not a serial port.
func sysfsPort(dir, name, devices, devRoot string) (SerialPort, bool) {
	var p SerialPort
	dev, err := filepath.EvalSymlinks(filepath.Join(dir, "device"))
	if err != nil {
		return p, false // virtual, or gone
	}
	typ, hasType := sysfsAttr(dir, "type")
	if hasType && typ == "0" {
		return p, false // serial core found no UART here
	}
	// Since Linux 6.5 a serial-core tty's device is a port device of the
	// "serial-base" bus, below a controller device of the same bus: the
	// hardware is the first ancestor on another bus.
	hw := dev
	for sysfsLinkBase(hw, "subsystem") == "serial-base" && strings.HasPrefix(filepath.Dir(hw), devices) {
		hw = filepath.Dir(hw)
	}
	p.Driver = sysfsLinkBase(hw, "driver")
	if !hasType && p.Driver == "serial8250" && sysfsLinkBase(hw, "subsystem") == "platform" {
		return p, false // pyserial's rule, for kernels without "type"
	}
	node := name
	if uevent, ok := sysfsAttr(dir, "uevent"); ok {
		for _, line := range strings.Split(uevent, "\n") {
			if v, ok := strings.CutPrefix(line, "DEVNAME="); ok && v != "" {
				node = v
			}
		}
	}
	p.Path = filepath.Join(devRoot, node)
	if _, err := os.Lstat(p.Path); err != nil {
		return p, false
	}
	p.USB = sysfsUSB(dev, devices)
	return p, true
}

// sysfsUSB finds the USB interface and device above dev: the first
// ancestor with a bInterfaceNumber, and the first with an idVendor.
func sysfsUSB(dev, devices string) *USBInfo {
	iface := ""
	for d := dev; strings.HasPrefix(d, devices+string(filepath.Separator)); d = filepath.Dir(d) {
		if _, ok := sysfsAttr(d, "bInterfaceNumber"); ok && iface == "" {
			iface = d
		}
		vid, ok := sysfsAttr(d, "idVendor")
		if !ok {
			continue
		}
		pid, _ := sysfsAttr(d, "idProduct")
		v, err1 := strconv.ParseUint(vid, 16, 16)
		pr, err2 := strconv.ParseUint(pid, 16, 16)
		if err1 != nil || err2 != nil {
			return nil
		}
		u := &USBInfo{VendorID: uint16(v), ProductID: uint16(pr), Interface: -1, Location: filepath.Base(d)}
		u.SerialNumber, _ = sysfsAttr(d, "serial")
		u.Manufacturer, _ = sysfsAttr(d, "manufacturer")
		u.Product, _ = sysfsAttr(d, "product")
		if iface != "" {
			num, _ := sysfsAttr(iface, "bInterfaceNumber")
			if n, err := strconv.ParseUint(num, 16, 8); err == nil {
				u.Interface = int(n)
			}
		}
		return u
	}
	return nil
}

// sysfsAttr reads a sysfs attribute, trimmed of its newline.
func sysfsAttr(dir, name string) (string, bool) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}

// sysfsLinkBase returns the last element of the symbolic link dir/name
// (a device's "driver" or "subsystem"), "" if there is none.
func sysfsLinkBase(dir, name string) string {
	target, err := os.Readlink(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	return filepath.Base(target)
}

// sysfsByID maps a node's name to the first link to it in dir
// (/dev/serial/by-id).
func sysfsByID(dir string) map[string]string {
	m := map[string]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return m
	}
	for _, e := range ents { // sorted by name
		link := filepath.Join(dir, e.Name())
		target, err := os.Readlink(link)
		if err != nil {
			continue
		}
		node := filepath.Base(target)
		if _, ok := m[node]; !ok {
			m[node] = link
		}
	}
	return m
}
