//go:build unix && !linux

package fdstream

import "golang.org/x/sys/unix"

// isPTY is false outside Linux; there a pty's EIO after the other side
// hung up is returned as the errno.
func isPTY(fd int, st *unix.Stat_t) bool { return false }

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
