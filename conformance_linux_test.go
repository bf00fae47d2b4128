//go:build linux

package fdstream_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/ctxiotest"
)

// Guarantee 17: Stream passes package ctxiotest's conformance checks
// (every one: it has Close, deadlines and the vectored calls) over a pipe
// on every reactor, and over a socketpair.
func TestStreamConformance(t *testing.T) {
	for _, r := range testReactors(t) {
		t.Run(r.name+"/pipe", func(t *testing.T) {
			ctxiotest.TestPipe(t, func() (fdstream.ContextReader, fdstream.ContextWriter, func(), error) {
				r, w, err := fdstream.Pipe(fdstream.WithReactor(r.r))
				if err != nil {
					return nil, nil, nil, err
				}
				return r, w, func() { r.Close(); w.Close() }, nil
			})
		})
	}
	t.Run("socketpair", func(t *testing.T) {
		ctxiotest.TestPipe(t, func() (fdstream.ContextReader, fdstream.ContextWriter, func(), error) {
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return nil, nil, nil, err
			}
			a, err := fdstream.NewStream(fds[0], "sock0")
			if err != nil {
				unix.Close(fds[0])
				unix.Close(fds[1])
				return nil, nil, nil, err
			}
			b, err := fdstream.NewStream(fds[1], "sock1")
			if err != nil {
				a.Close()
				unix.Close(fds[1])
				return nil, nil, nil, err
			}
			return a, b, func() { a.Close(); b.Close() }, nil
		})
	})
}
