//go:build unix && !linux

package fdstream

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// isPTY is false outside Linux; there a pty's EIO after the other side
// hung up is returned as the errno.
func isPTY(fd int, st *unix.Stat_t) bool { return false }

func pipe() (r, w int, err error) {
	var p [2]int
	// No pipe2 everywhere: hold ForkLock so no child inherits the pipe
	// before FD_CLOEXEC is set, as os.Pipe does.
	syscall.ForkLock.RLock()
	err = unix.Pipe(p[:])
	if err == nil {
		unix.CloseOnExec(p[0])
		unix.CloseOnExec(p[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, -1, err
	}
	if err = unix.SetNonblock(p[0], true); err == nil {
		err = unix.SetNonblock(p[1], true)
	}
	if err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return -1, -1, err
	}
	return p[0], p[1], nil
}

// sameDescription cannot tell outside Linux (no kcmp); see the Linux
// version for why true is the safe answer.
func sameDescription(a, b int) bool { return true }

// privateDup dups fd. Without /proc there is no portable way to get a
// private open file description, so the Stream sets O_NONBLOCK on the
// shared one and Close clears it again.
func privateDup(fd int) (int, error) {
	return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
}

// runtimePollable reports whether the Go runtime's poller is known to take
// fd. On darwin and the BSDs kqueue misses a FIFO's last writer closing
// (golang/go#24164) and mishandles terminals (golang/go#22099): those go
// to the shard loops. Everything else that is pollable goes to the
// runtime.
func runtimePollable(fd int, st *unix.Stat_t) bool {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return false
	case unix.S_IFCHR:
		if isTerminal(fd) {
			return false
		}
	}
	return true
}
