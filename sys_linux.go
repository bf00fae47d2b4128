package fdstream

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// isPTYMaster reports whether fd is the master side of a pseudo-terminal:
// only the master answers TIOCGPTN. Reads on a master whose slave side is
// closed fail with EIO, which the Stream reports as io.EOF (creack/pty#21).
func isPTYMaster(fd int) bool {
	_, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	return err == nil
}

func pipe() (r, w int, err error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return -1, -1, err
	}
	return p[0], p[1], nil
}

// privateDup returns a new descriptor for the file behind fd. For ttys,
// FIFOs, pipes and character devices it reopens /proc/self/fd/N, which
// gives a new open file description: its O_NONBLOCK is ours alone, and a
// shell sharing the original (stdin) never sees it change. Where the
// kernel refuses (sockets and anonymous inodes cannot be reopened; a
// device may be busy or not ours to open), and for regular files, whose
// offset must stay shared, it dups the descriptor instead.
func privateDup(fd int) (int, error) {
	var st unix.Stat_t
	if err := ignoringEINTR(func() error { return unix.Fstat(fd, &st) }); err != nil {
		return -1, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR, unix.S_IFIFO:
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		if err != nil {
			return -1, err
		}
		flags := fl&(unix.O_ACCMODE|unix.O_APPEND) | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_NOCTTY
		var nfd int
		err = ignoringEINTR(func() error {
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
