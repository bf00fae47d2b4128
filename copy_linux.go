package fdstream

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/internal/sysx"
)

// maxSplice is the most one splice(2) asks for, and the size asked for a
// private pipe: net's value (internal/poll/splice_linux.go).
const maxSplice = 1 << 20

var (
	// errOtherSide: a straight splice got EAGAIN because of the other
	// Stream, on whose waits it must go on.
	errOtherSide = errors.New("fdstream: splice waits on the other end")
	// errStuck: a straight splice keeps getting EAGAIN while poll(2)
	// says both ends are ready; the buffered loop takes over.
	errStuck = errors.New("fdstream: splice makes no progress")
)

// splice copies with splice(2) when both Streams wait for readiness and
// are byte streams. It reports done false when the buffered loop must
// take over (the kernel cannot splice these fds), with pending the bytes
// already taken from src, which that loop writes first.
func (c *copier) splice() (done bool, pending []byte, err error) {
	src, dst := c.src, c.dst
	if !src.pollable() || !dst.pollable() || !src.zeroReadIsEOF || !dst.zeroReadIsEOF || testHookNoSplice.Load() {
		return false, nil, nil
	}
	if isPipe(src) || isPipe(dst) {
		return c.spliceDirect()
	}
	return c.spliceViaPipe()
}

func isPipe(s *Stream) bool { return s.st.Mode&unix.S_IFMT == unix.S_IFIFO }

// unsupported reports whether a splice's errno says the kernel cannot
// splice these fds (no splice_read or splice_write for the file type).
func unsupported(err error) bool {
	return err == unix.EINVAL || err == unix.ENOSYS || err == unix.EOPNOTSUPP
}

func spliceOnce(rfd, wfd, n int) (int, error) {
	m, err := unix.Splice(rfd, nil, wfd, nil, n, unix.SPLICE_F_NONBLOCK|unix.SPLICE_F_MOVE)
	if err != nil {
		return 0, err
	}
	return int(m), nil
}

// chunk is how much the next splice out of src may take.
func (c *copier) chunk() int {
	if c.limit >= 0 && c.limit < maxSplice {
		return int(c.limit)
	}
	return maxSplice
}

// spliceDirect splices from src straight into dst (one of them is a
// pipe): a byte is either still in src or already in dst, so nothing can
// be stranded. An EAGAIN does not say which end is not ready; poll(2),
// asked only then, does, and the copy waits on that end's Stream.
func (c *copier) spliceDirect() (bool, []byte, error) {
	copyPathHook("splice")
	c.rd.sys = c.directOnSrc
	c.wr.sys = c.directOnDst
	onSrc := true
	for c.limit != 0 {
		if err := c.checkRead(); err != nil {
			return true, nil, err
		}
		var n int
		var err error
		if onSrc {
			n, err = c.rd.run()
		} else {
			n, err = c.wr.run()
		}
		switch {
		case err == nil && n > 0:
			c.account(n)
			c.written += int64(n)
		case err == nil:
			return true, nil, nil // src is at end of stream
		case err == errOtherSide:
			onSrc = !onSrc
		case err == errStuck, unsupported(err) && c.written == 0:
			return false, nil, nil
		case err == unix.EIO && c.src.ptyEOF:
			// As ReadContext: the other side is gone, but its last
			// output may still be on its way in; take it once more.
			n, err = spliceOnce(c.src.fd, c.dst.fd, c.chunk())
			if err != nil || n == 0 {
				return true, nil, nil
			}
			c.account(n)
			c.written += int64(n)
		case err == errPeerClosed || !isErrno(err):
			if onSrc {
				return true, nil, c.readErr(err)
			}
			return true, nil, c.writeErr(err)
		default:
			return true, nil, &os.PathError{Op: "splice", Path: c.src.name + " -> " + c.dst.name, Err: err}
		}
	}
	return true, nil, nil
}

func (c *copier) directOnSrc(int) (int, error) { return c.direct(true) }
func (c *copier) directOnDst(int) (int, error) { return c.direct(false) }

// direct is one straight splice. On EAGAIN it returns EAGAIN if the end
// the caller waits on is the one not ready, errOtherSide if the other is.
func (c *copier) direct(onSrc bool) (int, error) {
	for {
		n, err := spliceOnce(c.src.fd, c.dst.fd, c.chunk())
		if err != unix.EAGAIN {
			if n > 0 {
				c.spins = 0
			}
			return n, err
		}
		srcReady, dstReady := pollPair(c.src.fd, c.dst.fd)
		switch {
		case !srcReady && onSrc, srcReady && !dstReady && !onSrc:
			return 0, unix.EAGAIN
		case !srcReady, !dstReady:
			return 0, errOtherSide
		}
		if c.spins++; c.spins > 3 {
			return 0, errStuck
		}
	}
}

// pollPair asks poll(2), without waiting, whether src is readable and dst
// writable. A hang-up or an error counts as ready: the splice reports it.
func pollPair(src, dst int) (srcReady, dstReady bool) {
	fds := [2]unix.PollFd{{Fd: int32(src), Events: unix.POLLIN}, {Fd: int32(dst), Events: unix.POLLOUT}}
	if err := sysx.IgnoringEINTR(func() error { _, err := unix.Poll(fds[:], 0); return err }); err != nil {
		return true, true
	}
	return fds[0].Revents != 0, fds[1].Revents != 0
}

// spliceViaPipe splices src into a private pipe and the pipe into dst,
// as net does between two sockets: each splice has one end that can be
// not ready, so each EAGAIN says which Stream to wait on. The pipe is
// filled only when empty, and emptied into dst before src is read again.
// A copy that stops while the pipe holds bytes (ctx, dst's deadline, a
// Close, a write error) reads them back and returns them in a
// *CopyError.
func (c *copier) spliceViaPipe() (bool, []byte, error) {
	pr, pw, err := pipe()
	if err != nil {
		return false, nil, nil // no fd to spare (EMFILE): the buffered loop needs none
	}
	c.pr, c.pw = pr, pw
	defer unix.Close(c.pr)
	defer unix.Close(c.pw)
	// As net: a bigger pipe takes a splice's worth at once; a smaller
	// one (the per-user pipe quota reached) only means more syscalls.
	unix.FcntlInt(uintptr(c.pw), unix.F_SETPIPE_SZ, maxSplice)
	copyPathHook("splice-pipe")
	c.rd.sys = c.fill
	c.wr.sys = c.drain
	for {
		for c.inPipe > 0 {
			if err := c.checkWrite(); err != nil {
				return true, nil, strand(err, c.takePipe())
			}
			n, err := c.wr.run()
			if n > 0 {
				c.inPipe -= n
				c.written += int64(n)
			}
			if err == nil && n == 0 {
				err = io.ErrUnexpectedEOF
			}
			if err != nil {
				if unsupported(err) && c.written == 0 {
					return false, c.takePipe(), nil // dst takes no splice
				}
				return true, nil, strand(c.pipeErr(c.dst, err, c.writeErr), c.takePipe())
			}
		}
		if c.limit == 0 {
			return true, nil, nil
		}
		if err := c.checkRead(); err != nil {
			return true, nil, err
		}
		n, err := c.rd.run()
		switch {
		case err == nil && n > 0:
		case err == nil:
			return true, nil, nil // src is at end of stream
		case unsupported(err) && c.written == 0:
			return false, nil, nil // src gives no splice; nothing taken
		case err == unix.EIO && c.src.ptyEOF:
			// As ReadContext: take the other side's last output.
			n, err = spliceOnce(c.src.fd, c.pw, c.chunk())
			if err != nil || n == 0 {
				return true, nil, nil
			}
		default:
			return true, nil, c.pipeErr(c.src, err, c.readErr)
		}
		c.inPipe = n
		c.account(n)
	}
}

func (c *copier) fill(fd int) (int, error)  { return spliceOnce(fd, c.pw, c.chunk()) }
func (c *copier) drain(fd int) (int, error) { return spliceOnce(c.pr, fd, c.inPipe) }

// account counts n bytes taken from src against the limit.
func (c *copier) account(n int) {
	if c.limit > 0 {
		c.limit -= int64(n)
	}
}

// pipeErr wraps the error of a splice between s and the private pipe: a
// splice errno is s's, with Op "splice"; anything else is wrap's.
func (c *copier) pipeErr(s *Stream, err error, wrap func(error) error) error {
	if err != errPeerClosed && isErrno(err) {
		return s.pathErr("splice", err)
	}
	return wrap(err)
}

// takePipe reads back the bytes left in the private pipe, which is ours
// alone and holds exactly c.inPipe of them.
func (c *copier) takePipe() []byte {
	if c.inPipe == 0 {
		return nil
	}
	buf := make([]byte, c.inPipe)
	got := 0
	for got < len(buf) {
		n, err := unix.Read(c.pr, buf[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			break // not expected: the bytes are there
		}
		got += n
	}
	c.inPipe = 0
	return buf[:got]
}

func isErrno(err error) bool {
	_, ok := err.(unix.Errno)
	return ok
}
