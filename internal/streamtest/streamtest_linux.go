// Package streamtest holds the test helpers that need fdstream itself,
// for the external test packages (fdstream_test, adapters_test); the
// fd-level helpers are in internal/fdtest, which the root package's
// internal tests can import too.
package streamtest

import (
	"os"
	"testing"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/internal/fdtest"
)

// PTY opens a pty pair as Streams, the master from /dev/ptmx and the
// slave by its path, with opts, in the kernel's default (cooked, echoing)
// mode. Both close when t ends.
func PTY(t testing.TB, opts ...fdstream.Option) (master, slave *fdstream.Stream) {
	t.Helper()
	master, err := fdstream.Open("/dev/ptmx", os.O_RDWR, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	var path string
	if err := fdtest.Control(master, func(fd int) (err error) {
		path, err = fdtest.UnlockPTY(fd)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	slave, err = fdstream.Open(path, os.O_RDWR, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}
