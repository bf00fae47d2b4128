package fdstream

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/internal/sysx"
)

// sameDescription reports whether fds a and b of this process share one
// open file description (kcmp(2) KCMP_FILE). Where kcmp is unavailable
// (kernels without CONFIG_CHECKPOINT_RESTORE, seccomp) it answers true:
// the caller only asks about fds on the same inode that are both
// non-blocking, and treating them as one description merely delays
// clearing O_NONBLOCK until both are closed.
func sameDescription(a, b int) bool {
	const kcmpFile = 0
	pid := uintptr(os.Getpid())
	r, _, e := unix.Syscall6(unix.SYS_KCMP, pid, pid, kcmpFile, uintptr(a), uintptr(b), 0)
	if e != 0 {
		return true
	}
	return r == 0
}

// isPTY reports whether fd is either side of a pseudo-terminal: a master
// answers TIOCGPTN; Unix98 pty slaves have majors 136 to 143
// (Documentation/admin-guide/devices.txt). After the other side closes,
// a master's read fails with EIO; a slave's read fails with EIO or
// returns 0, depending on whether the kernel has finished hanging it up.
func isPTY(fd int, st *unix.Stat_t) bool {
	if maj := unix.Major(uint64(st.Rdev)); maj >= 136 && maj <= 143 {
		return true
	}
	return isPTYMaster(fd)
}

// isPTYMaster reports whether fd is the master side of a pseudo-terminal:
// only the master answers TIOCGPTN. Reads on a master whose slave side is
// closed fail with EIO, which the Stream reports as io.EOF (creack/pty#21).
func isPTYMaster(fd int) bool {
	_, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	return err == nil
}

// privateDup returns a new descriptor for the file behind fd. For FIFOs,
// pipes and terminals it reopens /proc/self/fd/N, which gives a new open
// file description: its O_NONBLOCK is ours alone, and a shell sharing the
// original (stdin) never sees it change. Everything else is dup'ed: a
// regular file's offset must stay shared; reopening a pty master (ptmx)
// would make a new pty, and other character devices (tun, fuse, evdev)
// keep state per open; sockets and anonymous inodes cannot be reopened.
// So is a reopen the kernel refuses (a device opened exclusively, a tty
// not ours to open).
func privateDup(fd int) (int, error) {
	var st unix.Stat_t
	if err := sysx.IgnoringEINTR(func() error { return unix.Fstat(fd, &st) }); err != nil {
		return -1, err
	}
	if reopenable(fd, &st) {
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			return -1, err
		}
		flags := fl&(unix.O_ACCMODE|unix.O_APPEND) | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_NOCTTY
		var nfd int
		err = sysx.IgnoringEINTR(func() error {
			nfd, err = unix.Open("/proc/self/fd/"+strconv.Itoa(fd), flags, 0)
			return err
		})
		if err == nil {
			var nst unix.Stat_t
			// Make sure the path still named the same file.
			if unix.Fstat(nfd, &nst) == nil && nst.Dev == st.Dev && nst.Ino == st.Ino && nst.Rdev == st.Rdev {
				return nfd, nil
			}
			unix.Close(nfd)
		}
	}
	return unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
}

// reopenable reports whether reopening fd through /proc yields the same
// object: FIFOs and pipes, and terminals other than a pty master.
func reopenable(fd int, st *unix.Stat_t) bool {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO:
		return true
	case unix.S_IFCHR:
		if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err != nil {
			return false // not a terminal
		}
		return !isPTYMaster(fd)
	}
	return false
}

// runtimePollable reports whether the Go runtime's poller is known to take
// fd: on Linux, every fd epoll takes. Pipes, FIFOs, sockets and terminals
// always are; another character device is asked with a throwaway epoll
// set (3 syscalls, once per Stream), because once its File owns the fd a
// refusal cannot hand the fd back to NewStream's caller.
func runtimePollable(fd int, st *unix.Stat_t) bool {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFIFO, unix.S_IFSOCK:
		return true
	case unix.S_IFCHR:
		if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
			return true
		}
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return false // the shard loops say why, if they fail too
	}
	defer unix.Close(ep)
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	return unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &ev) == nil
}
