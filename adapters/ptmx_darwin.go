package adapters

import (
	"bytes"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
)

// macOS's half of OpenPTY and StartPTY (pty.go): posix_openpt(3) is an
// open of /dev/ptmx, and grantpt, unlockpt and ptsname are the ioctls
// TIOCPTYGRANT, TIOCPTYUNLK and TIOCPTYGNAME. Compile-checked and vetted
// only: CI has no macOS machine.

// ptyOpenMaster opens a new pty master, non-blocking, O_CLOEXEC and
// O_NOCTTY. Errors are *os.PathError.
func ptyOpenMaster(opts []fdstream.Option) (*fdstream.Stream, error) {
	return fdstream.Open("/dev/ptmx", os.O_RDWR, opts...)
}

// ptyNameLen is TIOCPTYGNAME's buffer: 128 bytes (its _IOC length).
const ptyNameLen = 128

// openSlave grants and unlocks master's slave side and opens a descriptor
// of it with O_RDWR|O_NOCTTY|O_CLOEXEC and extra flags.
func openSlave(master *fdstream.Stream, extra int) (fd int, name string, err error) {
	rc, err := master.SyscallConn()
	if err != nil {
		return -1, "", err
	}
	fd = -1
	var cerr error
	err = rc.Control(func(m uintptr) {
		if e := ttyIoctlSys(int(m), unix.TIOCPTYGRANT, nil); e != nil {
			cerr = &os.PathError{Op: "grantpt", Path: master.Name(), Err: e}
			return
		}
		if e := ttyIoctlSys(int(m), unix.TIOCPTYUNLK, nil); e != nil {
			cerr = &os.PathError{Op: "unlockpt", Path: master.Name(), Err: e}
			return
		}
		var buf [ptyNameLen]byte
		if e := ttyIoctlSys(int(m), unix.TIOCPTYGNAME, unsafe.Pointer(&buf[0])); e != nil {
			cerr = &os.PathError{Op: "ptsname", Path: master.Name(), Err: e}
			return
		}
		n := bytes.IndexByte(buf[:], 0)
		if n <= 0 {
			cerr = &os.PathError{Op: "ptsname", Path: master.Name(), Err: unix.ENAMETOOLONG}
			return
		}
		name = string(buf[:n])
		flags := unix.O_RDWR | unix.O_NOCTTY | unix.O_CLOEXEC | extra
		for {
			fd, cerr = unix.Open(name, flags, 0)
			if cerr != unix.EINTR {
				break
			}
		}
		if cerr != nil {
			fd = -1
			cerr = &os.PathError{Op: "open", Path: name, Err: cerr}
		}
	})
	if err == nil {
		err = cerr
	}
	return fd, name, err
}
