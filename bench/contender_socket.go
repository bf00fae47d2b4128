package main

import (
	"github.com/mdlayher/socket"
	"golang.org/x/sys/unix"
)

func init() { register(60, socketContender{}) }

// socketContender is github.com/mdlayher/socket's Conn. socket.FileConn
// and socket.New wrap any pollable fd, not only sockets: the fd is
// registered with the Go runtime poller and ENOTSOCK from its SO_TYPE
// probe makes it a plain stream. So this is a real pipe, made with
// pipe2(O_NONBLOCK) and handed to socket.New.
type socketContender struct{}

func (socketContender) Name() string { return "socket" }

func (socketContender) About() string {
	return "github.com/mdlayher/socket: socket.New on a non-blocking pipe fd (not a socket); runtime poller, a watcher goroutine per call with a cancellable ctx"
}

func (socketContender) NewPipe() (Reader, Writer, func(), error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return nil, nil, nil, err
	}
	r, err := socket.New(fds[0], "pipe-r")
	if err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, nil, nil, err
	}
	w, err := socket.New(fds[1], "pipe-w")
	if err != nil {
		r.Close()
		unix.Close(fds[1])
		return nil, nil, nil, err
	}
	return r, w, func() { w.Close(); r.Close() }, nil
}
