package fdtest

import (
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// UnlockPTY unlocks the slave of the pty master fd (TIOCSPTLCK) and
// returns the slave's path.
func UnlockPTY(master int) (slavePath string, err error) {
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return "", err
	}
	n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
	if err != nil {
		return "", err
	}
	return "/dev/pts/" + strconv.Itoa(n), nil
}

// RawPTY opens a pty master from /dev/ptmx (O_RDWR, O_NOCTTY, O_CLOEXEC
// and flags) and unlocks its slave; it returns the master's fd, which the
// caller closes, and the slave's path. It does not touch the slave, so the
// slave keeps the kernel's default (cooked, echoing) mode.
func RawPTY(flags int) (master int, slavePath string, err error) {
	master, err = unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|flags, 0)
	if err != nil {
		return -1, "", err
	}
	if slavePath, err = UnlockPTY(master); err != nil {
		unix.Close(master)
		return -1, "", err
	}
	return master, slavePath, nil
}

// PTY is RawPTY for a test: it fails t on an error and closes the master
// when t ends.
func PTY(t testing.TB, flags int) (master int, slavePath string) {
	t.Helper()
	master, slavePath, err := RawPTY(flags)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(master) })
	return master, slavePath
}

// MakeRaw puts the terminal fd in raw mode (cfmakeraw, VMIN 1, VTIME 0),
// so bytes pass unchanged in both directions.
func MakeRaw(fd int) error {
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8
	tio.Cc[unix.VMIN] = 1
	tio.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, tio)
}

// Socketpair returns a connected pair of close-on-exec AF_UNIX stream
// sockets, failing t on an error. The caller owns both fds (most hand
// them to a Stream, which closes them).
func Socketpair(t testing.TB) (a, b int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return fds[0], fds[1]
}

// OpenFDs returns how many descriptors this process has open, from
// /proc/self/fd, not counting the one reading the directory takes.
func OpenFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents) - 1 // the directory's own fd
}
