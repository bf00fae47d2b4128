package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/fdstream/fdstream/adapters"
)

// listPorts prints the port list (--list).
func listPorts(e env) int {
	ports, err := adapters.ListSerialPorts()
	if err != nil {
		fmt.Fprintf(e.stderr, "fdcom: %v\n", err)
		return exitFailed
	}
	if len(ports) == 0 {
		fmt.Fprintln(e.stderr, "fdcom: no serial ports found")
		return exitOK
	}
	fmt.Fprint(e.stdout, formatPorts(ports))
	return exitOK
}

// formatPorts is the --list table: path, USB vendor:product, serial
// number, manufacturer and product, driver, and udev's by-id link.
func formatPorts(ports []adapters.SerialPort) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "PORT\tUSB ID\tSERIAL\tPRODUCT\tDRIVER\tBY-ID")
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, p := range ports {
		id, serial, product := "-", "-", "-"
		if u := p.USB; u != nil {
			id = fmt.Sprintf("%04x:%04x", u.VendorID, u.ProductID)
			serial = dash(u.SerialNumber)
			product = dash(strings.TrimSpace(u.Manufacturer + " " + u.Product))
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Path, id, serial, product, dash(p.Driver), dash(p.ByID))
	}
	w.Flush()
	return b.String()
}

// describePort names a USB port for the start line:
// "/dev/ttyUSB0 (FTDI FT232R USB UART, serial A1B2C3D4)".
func describePort(p adapters.SerialPort) string {
	if p.USB == nil {
		return p.Path
	}
	var about []string
	if s := strings.TrimSpace(p.USB.Manufacturer + " " + p.USB.Product); s != "" {
		about = append(about, s)
	}
	if p.USB.SerialNumber != "" {
		about = append(about, "serial "+p.USB.SerialNumber)
	}
	if len(about) == 0 {
		return fmt.Sprintf("%s (USB %04x:%04x)", p.Path, p.USB.VendorID, p.USB.ProductID)
	}
	return p.Path + " (" + strings.Join(about, ", ") + ")"
}

// pickPort chooses among an adapter's ports (FindSerialPorts orders them
// by interface) the one on interface iface, or the first.
func pickPort(ports []adapters.SerialPort, iface int) adapters.SerialPort {
	for _, p := range ports {
		if p.USB != nil && p.USB.Interface == iface {
			return p
		}
	}
	return ports[0]
}

// findUSBPort looks path up in the port list, by its node or by its by-id
// link, and reports the port if it is a USB adapter with a serial number:
// --reconnect then finds it again by that number.
func findUSBPort(path string) (adapters.SerialPort, bool) {
	ports, err := adapters.ListSerialPorts()
	if err != nil {
		return adapters.SerialPort{}, false
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		real = path
	}
	for _, p := range ports {
		if (p.Path == real || p.Path == path || p.ByID == path) && p.USB != nil && p.USB.SerialNumber != "" {
			return p, true
		}
	}
	return adapters.SerialPort{}, false
}
