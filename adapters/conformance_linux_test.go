//go:build linux

package adapters_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
	"github.com/fdstream/fdstream/ctxiotest"
)

// Guarantee 32: Conn passes package ctxiotest's conformance checks, every
// one (it has Close, deadlines and the vectored calls), over Pipe and a
// socketpair.
func TestConnConformance(t *testing.T) {
	t.Run("Pipe", func(t *testing.T) {
		ctxiotest.TestPipe(t, func() (fdstream.ContextReader, fdstream.ContextWriter, func(), error) {
			a, b, err := adapters.Pipe()
			if err != nil {
				return nil, nil, nil, err
			}
			return a, b, func() { a.Close(); b.Close() }, nil
		})
	})
	t.Run("Socketpair", func(t *testing.T) {
		ctxiotest.TestPipe(t, func() (fdstream.ContextReader, fdstream.ContextWriter, func(), error) {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return nil, nil, nil, err
			}
			sa, err := fdstream.NewStream(fds[0], "sock:a")
			if err != nil {
				unix.Close(fds[0])
				unix.Close(fds[1])
				return nil, nil, nil, err
			}
			sb, err := fdstream.NewStream(fds[1], "sock:b")
			if err != nil {
				sa.Close()
				unix.Close(fds[1])
				return nil, nil, nil, err
			}
			a, b := adapters.NewConn(sa), adapters.NewConn(sb)
			return a, b, func() { a.Close(); b.Close() }, nil
		})
	})
}
