package adapters_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
	"github.com/fdstream/fdstream/internal/fdtest"
	"github.com/fdstream/fdstream/reactor"
)

// Bad input to the adapters: nil and zero Conns, Conns over nil Streams,
// nil ctx, every method after Close, half-closes twice, bad commands for
// StartPTY and unusable reactors. Each gets its documented error, never a
// panic or a hang.
func TestBadInputConn(t *testing.T) {
	a, b, err := adapters.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	half, peer, err := adapters.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	defer peer.Close()
	if err := half.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := half.CloseRead(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// Half-closed, then closed: the half-close no longer excuses a
	// deadline call.
	gone, gonePeer, err := adapters.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer gonePeer.Close()
	if err := gone.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := gone.CloseRead(); err != nil {
		t.Fatal(err)
	}
	if err := gone.Close(); err != nil {
		t.Fatal(err)
	}
	var nilConn *adapters.Conn
	overNil := adapters.NewConn(nil)
	var nilCtx context.Context
	bg := context.Background()
	buf := make([]byte, 4)
	deadline := time.Now().Add(time.Hour)
	callErr := func(_ int, err error) error { return err }
	rawErr := func(_ any, err error) error { return err }

	tests := []struct {
		name  string
		err   error
		is    error
		netOp string // "": any error type; else a *net.OpError with this Op
	}{
		{"nil Conn Read", callErr(nilConn.Read(buf)), os.ErrInvalid, ""},
		{"nil Conn WriteContext", callErr(nilConn.WriteContext(bg, buf)), os.ErrInvalid, ""},
		{"nil Conn Close", nilConn.Close(), os.ErrInvalid, ""},
		{"nil Conn CloseWrite", nilConn.CloseWrite(), os.ErrInvalid, ""},
		{"nil Conn CloseRead", nilConn.CloseRead(), os.ErrInvalid, ""},
		{"nil Conn SetDeadline", nilConn.SetDeadline(deadline), os.ErrInvalid, ""},
		{"nil Conn SetReadDeadline", nilConn.SetReadDeadline(deadline), os.ErrInvalid, ""},
		{"nil Conn SetWriteDeadline", nilConn.SetWriteDeadline(deadline), os.ErrInvalid, ""},
		{"nil Conn SyscallConn", rawErr(nilConn.SyscallConn()), os.ErrInvalid, ""},

		{"Conn over nil Stream Read", callErr(overNil.Read(buf)), os.ErrInvalid, "read"},
		{"Conn over nil Stream Write", callErr(overNil.Write(buf)), os.ErrInvalid, "write"},
		{"Conn over nil Stream SetDeadline", overNil.SetDeadline(deadline), os.ErrInvalid, "set"},
		{"Conn over nil Stream Close", overNil.Close(), os.ErrInvalid, "close"},

		{"ReadContext nil ctx", callErr(b.ReadContext(nilCtx, buf)), fdstream.ErrNilContext, "read"},
		{"WriteContext nil ctx", callErr(b.WriteContext(nilCtx, buf)), fdstream.ErrNilContext, "write"},

		{"Read after Close", callErr(a.Read(buf)), net.ErrClosed, "read"},
		{"ReadContext after Close", callErr(a.ReadContext(bg, buf)), net.ErrClosed, "read"},
		{"Write after Close", callErr(a.Write(buf)), net.ErrClosed, "write"},
		{"WriteContext after Close", callErr(a.WriteContext(bg, buf)), net.ErrClosed, "write"},
		{"SetDeadline after Close", a.SetDeadline(deadline), net.ErrClosed, "set"},
		{"SetReadDeadline after Close", a.SetReadDeadline(deadline), net.ErrClosed, "set"},
		{"SetWriteDeadline after Close", a.SetWriteDeadline(deadline), net.ErrClosed, "set"},
		{"SyscallConn after Close", rawErr(a.SyscallConn()), net.ErrClosed, "syscallconn"},
		{"CloseWrite after Close", a.CloseWrite(), net.ErrClosed, "closewrite"},
		{"CloseRead after Close", a.CloseRead(), net.ErrClosed, "closeread"},
		{"Close twice", a.Close(), net.ErrClosed, "close"},

		{"SetWriteDeadline after CloseWrite and Close", gone.SetWriteDeadline(deadline), net.ErrClosed, "set"},
		{"SetReadDeadline after CloseRead and Close", gone.SetReadDeadline(deadline), net.ErrClosed, "set"},
		{"CloseWrite twice", half.CloseWrite(), net.ErrClosed, "closewrite"},
		{"CloseRead twice", half.CloseRead(), net.ErrClosed, "closeread"},
		{"Write after CloseWrite", callErr(half.Write(buf)), net.ErrClosed, "write"},
		{"Read after CloseRead", callErr(half.Read(buf)), net.ErrClosed, "read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.is) {
				t.Fatalf("err = %v, want %v", tt.err, tt.is)
			}
			var oe *net.OpError
			if tt.netOp != "" && (!errors.As(tt.err, &oe) || oe.Op != tt.netOp) {
				t.Fatalf("err = %#v, want a *net.OpError with Op %q", tt.err, tt.netOp)
			}
		})
	}
	if nilConn.LocalAddr() != nil || nilConn.RemoteAddr() != nil {
		t.Error("a nil Conn has addresses")
	}
	// Setting a deadline on a half-closed pair's closed side is harmless.
	if err := half.SetDeadline(deadline); err != nil {
		t.Errorf("SetDeadline after CloseRead and CloseWrite: %v", err)
	}
}

func TestBadInputPTY(t *testing.T) {
	fds := fdtest.OpenFDs(t)
	if _, err := adapters.StartPTY(nil); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("StartPTY(nil) = %v, want os.ErrInvalid", err)
	}
	cmd := exec.Command("/nonexistent/program")
	if c, err := adapters.StartPTY(cmd); err == nil {
		c.Close()
		t.Error("StartPTY of a missing program: no error")
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("StartPTY of a missing program = %v, want os.ErrNotExist", err)
	}
	started := exec.Command("/bin/true")
	if err := started.Start(); err != nil {
		t.Fatal(err)
	}
	if c, err := adapters.StartPTY(started); err == nil {
		c.Close()
		t.Error("StartPTY of a started command: no error")
	}
	if err := started.Wait(); err != nil {
		t.Fatal(err)
	}
	zero := fdstream.WithReactor(&reactor.Reactor{})
	if _, _, err := adapters.OpenPTY(zero); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("OpenPTY on a zero Reactor = %v, want os.ErrInvalid", err)
	}
	if _, _, err := adapters.Pipe(zero); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("Pipe on a zero Reactor = %v, want os.ErrInvalid", err)
	}
	var pe *os.PathError
	if _, err := adapters.StartPTY(exec.Command("/bin/true"), zero); !errors.As(err, &pe) || !errors.Is(err, os.ErrInvalid) {
		t.Errorf("StartPTY on a zero Reactor = %#v, want an *os.PathError wrapping os.ErrInvalid", err)
	}
	// None of the failures left an fd behind.
	if n := fdtest.OpenFDs(t); n != fds {
		t.Errorf("%d fds open after the failures, %d before", n, fds)
	}
}
