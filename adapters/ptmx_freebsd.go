package adapters

import (
	"bytes"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
)

// FreeBSD's half of OpenPTY and StartPTY (pty.go): posix_openpt(2) is a
// system call (/dev/ptmx exists only with the pty(4) compatibility
// module), grantpt and unlockpt only check that the descriptor is a master
// (TIOCPTMASTER), and ptsname is the device's name (FIODGNAME).
// Compile-checked and vetted only: CI has no FreeBSD machine.

// ptyOpenMaster opens a new pty master, non-blocking, O_CLOEXEC and
// O_NOCTTY. Errors are *os.PathError.
func ptyOpenMaster(opts []fdstream.Option) (*fdstream.Stream, error) {
	const name = "/dev/ptmx"
	var fd int
	for {
		r, _, e := unix.Syscall(unix.SYS_POSIX_OPENPT, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return nil, &os.PathError{Op: "posix_openpt", Path: name, Err: e}
		}
		fd = int(r)
		break
	}
	s, err := fdstream.NewStream(fd, name, opts...)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	return s, nil
}

// ptyFiodgnameArg is struct fiodgname_arg (sys/filio.h).
type ptyFiodgnameArg struct {
	Len int32
	Buf *byte
}

// ptyFIODGNAME is _IOW('f', 120, struct fiodgname_arg); the struct's size,
// hence the number, differs between 32- and 64-bit platforms.
const ptyFIODGNAME = 0x80000000 | (uint(unsafe.Sizeof(ptyFiodgnameArg{}))&0x1fff)<<16 | 'f'<<8 | 120

// ptyNameLen is SPECNAMELEN+1 (FreeBSD 13: 255).
const ptyNameLen = 256

// openSlave checks that master is a pty master (grantpt and unlockpt do
// nothing else on FreeBSD) and opens a descriptor of its slave side with
// O_RDWR|O_NOCTTY|O_CLOEXEC and extra flags.
func openSlave(master *fdstream.Stream, extra int) (fd int, name string, err error) {
	rc, err := master.SyscallConn()
	if err != nil {
		return -1, "", err
	}
	fd = -1
	var cerr error
	err = rc.Control(func(m uintptr) {
		if e := ttyIoctlSys(int(m), unix.TIOCPTMASTER, nil); e != nil {
			cerr = &os.PathError{Op: "unlockpt", Path: master.Name(), Err: e}
			return
		}
		buf := make([]byte, ptyNameLen)
		arg := ptyFiodgnameArg{Len: int32(len(buf)), Buf: &buf[0]}
		if e := ttyIoctlSys(int(m), ptyFIODGNAME, unsafe.Pointer(&arg)); e != nil {
			cerr = &os.PathError{Op: "ptsname", Path: master.Name(), Err: e}
			return
		}
		n := bytes.IndexByte(buf, 0)
		if n <= 0 {
			cerr = &os.PathError{Op: "ptsname", Path: master.Name(), Err: unix.ENAMETOOLONG}
			return
		}
		name = "/dev/" + string(buf[:n])
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
