//go:build linux

package adapters_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/fdstream/fdstream/adapters"
)

// Guarantee 32: Conn passes vectored calls on to its Streams: bytes go
// through in order, errors are *net.OpError with Op "writev" or "readv"
// and the std sentinels inside, and end of stream is io.EOF itself.
func TestConnVectored(t *testing.T) {
	a, b, err := adapters.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	bg := context.Background()
	if n, err := b.WriteBuffersContext(bg, [][]byte{[]byte("vec"), nil, []byte("tored")}); n != 8 || err != nil {
		t.Fatalf("WriteBuffersContext = %d, %v", n, err)
	}
	x, y := make([]byte, 3), make([]byte, 5)
	if n, err := a.ReadBuffersContext(bg, [][]byte{x, {}, y}); n != 8 || err != nil || string(x)+string(y) != "vectored" {
		t.Fatalf("ReadBuffersContext = %d, %v, %q %q", n, err, x, y)
	}

	var oe *net.OpError
	a.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := a.ReadBuffersContext(bg, [][]byte{x}); !errors.As(err, &oe) || oe.Op != "readv" || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("ReadBuffersContext past the deadline = %v; want *net.OpError readv wrapping os.ErrDeadlineExceeded", err)
	}
	a.SetReadDeadline(time.Time{})
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, err := b.WriteBuffersContext(ctx, [][]byte{x}); !errors.As(err, &oe) || oe.Op != "writev" || !errors.Is(err, context.Canceled) {
		t.Errorf("WriteBuffersContext(done ctx) = %v; want *net.OpError writev wrapping context.Canceled", err)
	}
	if err := b.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if n, err := a.ReadBuffersContext(bg, [][]byte{x}); n != 0 || err != io.EOF {
		t.Errorf("ReadBuffersContext after the peer's CloseWrite = %d, %v; want 0, io.EOF", n, err)
	}
	if _, err := b.WriteBuffersContext(bg, [][]byte{x}); !errors.As(err, &oe) || !errors.Is(err, net.ErrClosed) {
		t.Errorf("WriteBuffersContext after CloseWrite = %v; want *net.OpError wrapping net.ErrClosed", err)
	}
	var nilConn *adapters.Conn
	if _, err := nilConn.WriteBuffersContext(bg, nil); err != os.ErrInvalid {
		t.Errorf("nil Conn WriteBuffersContext = %v", err)
	}
	if _, err := nilConn.ReadBuffersContext(bg, nil); err != os.ErrInvalid {
		t.Errorf("nil Conn ReadBuffersContext = %v", err)
	}
}
