package adapters

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
)

// Linux's half of OpenPTY and StartPTY (pty.go): the master is a fresh
// open of /dev/ptmx, the slave is unlocked with TIOCSPTLCK and found with
// TIOCGPTN or, better, opened with TIOCGPTPEER.

// ptyOpenMaster opens a new pty master, non-blocking, O_CLOEXEC and
// O_NOCTTY. Errors are *os.PathError.
func ptyOpenMaster(opts []fdstream.Option) (*fdstream.Stream, error) {
	return fdstream.Open("/dev/ptmx", os.O_RDWR, opts...)
}

// openSlave unlocks master's slave side and opens a descriptor of it with
// O_RDWR|O_NOCTTY|O_CLOEXEC and extra flags.
func openSlave(master *fdstream.Stream, extra int) (fd int, name string, err error) {
	rc, err := master.SyscallConn()
	if err != nil {
		return -1, "", err
	}
	fd = -1
	var cerr error
	err = rc.Control(func(m uintptr) {
		if cerr = unix.IoctlSetPointerInt(int(m), unix.TIOCSPTLCK, 0); cerr != nil {
			cerr = &os.PathError{Op: "unlockpt", Path: master.Name(), Err: cerr}
			return
		}
		n, e := unix.IoctlGetInt(int(m), unix.TIOCGPTN)
		if e != nil {
			cerr = &os.PathError{Op: "ptsname", Path: master.Name(), Err: e}
			return
		}
		name = "/dev/pts/" + strconv.Itoa(n)
		flags := uintptr(unix.O_RDWR | unix.O_NOCTTY | unix.O_CLOEXEC | extra)
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, m, unix.TIOCGPTPEER, flags)
		if errno == 0 {
			fd = int(r)
			return
		}
		// Before Linux 4.13: open the path.
		for {
			fd, cerr = unix.Open(name, int(flags), 0)
			if cerr != unix.EINTR {
				break
			}
		}
		if cerr != nil {
			cerr = &os.PathError{Op: "open", Path: name, Err: cerr}
		}
	})
	if err == nil {
		err = cerr
	}
	return fd, name, err
}

// ptyPeerName returns the slave's path when s is a pty master ("" for
// anything else), so that a Conn over a master names the terminal at its
// other end rather than /dev/ptmx, which every master shares.
func ptyPeerName(s *fdstream.Stream) string {
	rc, err := s.SyscallConn()
	if err != nil {
		return ""
	}
	name := ""
	rc.Control(func(fd uintptr) {
		if n, err := unix.IoctlGetInt(int(fd), unix.TIOCGPTN); err == nil {
			name = "/dev/pts/" + strconv.Itoa(n)
		}
	})
	return name
}
