package adapters

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
)

// OpenPTY opens a new pseudo-terminal pair from /dev/ptmx and returns both
// sides as Streams, O_CLOEXEC and O_NOCTTY (opening them never makes the
// pty the process's controlling terminal). The slave is reached through
// TIOCGPTPEER where the kernel has it (Linux 4.13), so no path lookup can
// be raced; otherwise through /dev/pts/N. A read on the master after the
// slave side is closed everywhere returns io.EOF. The slave is in the
// kernel's default (cooked, echoing) mode: use MakeRaw for a byte pipe.
// On error nothing stays open. Errors are *os.PathError.
func OpenPTY(opts ...fdstream.Option) (master, slave *fdstream.Stream, err error) {
	master, err = fdstream.Open("/dev/ptmx", os.O_RDWR, opts...)
	if err != nil {
		return nil, nil, err
	}
	sfd, name, err := openSlave(master, unix.O_NONBLOCK)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	slave, err = fdstream.NewStream(sfd, name, opts...)
	if err != nil {
		unix.Close(sfd)
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
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

// StartPTY starts cmd with a new pty as its controlling terminal and as
// its stdin, stdout and stderr (those left nil), in a new session, and
// returns a Conn over the master side. The child gets its own blocking
// descriptors of the slave; the parent keeps none, so that once the child
// (and whatever it started on the terminal) is gone, a Read on the Conn
// returns io.EOF. The caller still waits for cmd with cmd.Wait. On error
// nothing stays open and the child is not running. Errors are
// *os.PathError from opening the pty (wrapping os.ErrInvalid for a nil
// cmd), or cmd.Start's.
//
// The Conn's LocalAddr is the master, "/dev/ptmx"; its RemoteAddr names
// the child's side, the slave and the command, as in
// `/dev/pts/3 (sh -c "read name")` (arguments quoted where needed, the
// whole cut to about 40 bytes), so that an error reads
// `read tty /dev/ptmx->/dev/pts/3 (sh -c "read name"): i/o timeout`.
func StartPTY(cmd *exec.Cmd, opts ...fdstream.Option) (*Conn, error) {
	if cmd == nil {
		return nil, &os.PathError{Op: "startpty", Path: "/dev/ptmx", Err: os.ErrInvalid}
	}
	master, err := fdstream.Open("/dev/ptmx", os.O_RDWR, opts...)
	if err != nil {
		return nil, err
	}
	sfd, name, err := openSlave(master, 0) // blocking: the child's programs expect it
	if err != nil {
		master.Close()
		return nil, err
	}
	tty := os.NewFile(uintptr(sfd), name)
	if cmd.Stdin == nil {
		cmd.Stdin = tty
	}
	if cmd.Stdout == nil {
		cmd.Stdout = tty
	}
	if cmd.Stderr == nil {
		cmd.Stderr = tty
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.Setctty = true
	cmd.SysProcAttr.Ctty = -1
	for i, f := range []any{cmd.Stdin, cmd.Stdout, cmd.Stderr} {
		if f == tty {
			cmd.SysProcAttr.Ctty = i
			break
		}
	}
	if cmd.SysProcAttr.Ctty < 0 {
		// Not on a standard descriptor: pass it as the first extra file.
		cmd.ExtraFiles = append(cmd.ExtraFiles, tty)
		cmd.SysProcAttr.Ctty = 2 + len(cmd.ExtraFiles)
	}
	err = cmd.Start()
	tty.Close()
	if err != nil {
		master.Close()
		return nil, err
	}
	c := NewConn(master)
	c.radr = Addr{Net: c.laddr.Net, Name: name + " (" + ptyCommandName(cmd) + ")"}
	return c, nil
}

// ptyCommandName is cmd as a shell would show it, for StartPTY's
// RemoteAddr: its arguments (the path when there are none), each quoted
// unless it is plainly a word, cut after ptyCommandNameMax bytes.
func ptyCommandName(cmd *exec.Cmd) string {
	args := cmd.Args
	if len(args) == 0 {
		args = []string{cmd.Path}
	}
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
			b.WriteString(a)
		} else {
			b.WriteString(strconv.Quote(a))
		}
		if b.Len() > ptyCommandNameMax {
			break
		}
	}
	name := b.String()
	if len(name) <= ptyCommandNameMax {
		return name
	}
	cut := ptyCommandNameMax
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + "..."
}

// ptyCommandNameMax keeps a long command line from burying the rest of an
// error message.
const ptyCommandNameMax = 40
