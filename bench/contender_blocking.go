package main

import (
	"context"
	"io"

	"golang.org/x/sys/unix"
)

func init() { register(30, blockingContender{}) }

// blockingContender does plain read(2)/write(2) on a blocking pipe: each
// blocked call holds an OS thread, and nothing can interrupt it. It looks
// at ctx only before the syscall.
type blockingContender struct{}

func (blockingContender) Name() string { return "blocking" }

func (blockingContender) About() string {
	return "read(2)/write(2) on a blocking pipe (unix.Pipe2 without O_NONBLOCK): a thread per blocked call, ctx checked only at entry"
}

func (blockingContender) NewPipe() (Reader, Writer, func(), error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, nil, err
	}
	r, w := blockingFd(fds[0]), blockingFd(fds[1])
	// Closing the write end first ends any read still blocked in read(2).
	return r, w, func() { unix.Close(int(w)); unix.Close(int(r)) }, nil
}

// blockingFd is one end of a blocking pipe.
type blockingFd int

// ReadContext fails if ctx is done at entry, then blocks in read(2) until
// data arrives or the write end is closed, whatever ctx does meanwhile.
func (fd blockingFd) ReadContext(ctx context.Context, p []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	for {
		n, err := unix.Read(int(fd), p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

// WriteContext fails if ctx is done at entry, then writes all of p with
// blocking write(2) calls.
func (fd blockingFd) WriteContext(ctx context.Context, p []byte) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	nn := 0
	for nn < len(p) {
		n, err := unix.Write(int(fd), p[nn:])
		if n > 0 {
			nn += n
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nn, err
		}
	}
	return nn, nil
}
