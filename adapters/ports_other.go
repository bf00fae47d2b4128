//go:build !linux

package adapters

import (
	"os"

	"golang.org/x/sys/unix"
)

// The roots ListSerialPorts reads on Linux; unused elsewhere.
const (
	serialSysfsRoot = "/sys"
	serialDevRoot   = "/dev"
)

// ListSerialPorts is implemented on Linux only (from sysfs): macOS needs
// IOKit and the BSDs devinfo or sysctl for the USB identity. Elsewhere it
// returns an *os.PathError with Op "listserialports" wrapping unix.ENOTSUP.
func ListSerialPorts() ([]SerialPort, error) {
	return listSerialPorts(serialSysfsRoot, serialDevRoot)
}

func listSerialPorts(string, string) ([]SerialPort, error) {
	return nil, &os.PathError{Op: "listserialports", Path: "/dev", Err: unix.ENOTSUP}
}
