//go:build linux || darwin || freebsd

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

// The pty functions are shared by Linux, macOS and FreeBSD; each has its
// own way to open a master and its slave (ptmx_linux.go, ptmx_darwin.go,
// ptmx_freebsd.go: posix_openpt, grantpt, unlockpt and ptsname as ioctls,
// without cgo). Only Linux's is run in CI; the others are compile-checked
// and vetted.

// OpenPTY opens a new pseudo-terminal pair and returns both sides as
// Streams, O_CLOEXEC and O_NOCTTY (opening them never makes the pty the
// process's controlling terminal). On Linux the master is opened from
// /dev/ptmx and the slave through TIOCGPTPEER where the kernel has it
// (Linux 4.13), so no path lookup can be raced, otherwise through
// /dev/pts/N; on macOS from /dev/ptmx and /dev/ttysN; on FreeBSD with
// posix_openpt(2) and /dev/pts/N. On Linux a read on the master after the
// slave side is closed everywhere returns io.EOF. The slave is in the
// kernel's default (cooked, echoing) mode: use MakeRaw for a byte pipe.
// On error nothing stays open. Errors are *os.PathError.
func OpenPTY(opts ...fdstream.Option) (master, slave *fdstream.Stream, err error) {
	master, err = ptyOpenMaster(opts)
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

// StartPTY starts cmd with a new pty as its controlling terminal and as
// its stdin, stdout and stderr (those left nil), in a new session, and
// returns a Conn over the master side. The child gets its own blocking
// descriptors of the slave; the parent keeps none, so that once the child
// (and whatever it started on the terminal) is gone, a Read on the Conn
// returns io.EOF. The caller still waits for cmd with cmd.Wait.
//
// The terminal's window size is the kernel's default (0 rows, 0 columns)
// unless StartPTYWithSize gives one. To resize it later, as a terminal
// emulator does when its window changes, call SetWinSize on the Conn's
// Stream (Conn.Streams): the kernel then sends SIGWINCH to the child's
// foreground process group.
//
// On error nothing stays open and the child is not running. Errors are
// *os.PathError from opening the pty (wrapping os.ErrInvalid for a nil
// cmd), or cmd.Start's.
//
// The Conn's LocalAddr is the master, "/dev/ptmx"; its RemoteAddr names
// the child's side, the slave and the command, as in
// `/dev/pts/3 (sh -c "read name")` (arguments quoted where needed, the
// whole cut to about 40 bytes), so that an error reads
// `read tty /dev/ptmx->/dev/pts/3 (sh -c "read name"): i/o timeout`.
func StartPTY(cmd *exec.Cmd, opts ...fdstream.Option) (*Conn, error) {
	return startPTY(cmd, nil, opts)
}

// StartPTYWithSize is StartPTY with the terminal's window size set to ws
// before cmd starts, so that the child's first look (stty size,
// TIOCGWINSZ) sees it. Errors are StartPTY's, and *os.PathError with Op
// "setwinsize" from setting the size. Like StartPTY it starts no
// goroutine, and it is safe for concurrent use (cmd is not).
func StartPTYWithSize(cmd *exec.Cmd, ws WinSize, opts ...fdstream.Option) (*Conn, error) {
	return startPTY(cmd, &ws, opts)
}

func startPTY(cmd *exec.Cmd, ws *WinSize, opts []fdstream.Option) (*Conn, error) {
	if cmd == nil {
		return nil, &os.PathError{Op: "startpty", Path: "/dev/ptmx", Err: os.ErrInvalid}
	}
	master, err := ptyOpenMaster(opts)
	if err != nil {
		return nil, err
	}
	if ws != nil {
		if err := SetWinSize(master, *ws); err != nil {
			master.Close()
			return nil, err
		}
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
