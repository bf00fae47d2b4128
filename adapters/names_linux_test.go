//go:build linux

package adapters_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
	"github.com/fdstream/fdstream/internal/fdtest"
)

// A StartPTY Conn names the child's side: the slave, /dev/pts/N, which
// is the child's own terminal, and the command, quoted where needed and
// cut when long. Its errors carry both.
// A Conn made with NewConn over OpenPTY's master names the slave at the
// other end, as StartPTY's does, not the /dev/ptmx every master shares.
func TestPTYMasterConnNamesSlave(t *testing.T) {
	master, slave, err := adapters.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	c := adapters.NewConn(master)
	defer c.Close()
	if la, ra := c.LocalAddr().String(), c.RemoteAddr().String(); la != "/dev/ptmx" || ra != slave.Name() || !strings.HasPrefix(ra, "/dev/pts/") {
		t.Fatalf("addresses %q -> %q, want /dev/ptmx -> %q", la, ra, slave.Name())
	}
	c.SetReadDeadline(time.Now())
	_, err = c.Read(make([]byte, 1))
	if err == nil || !strings.Contains(err.Error(), "/dev/ptmx->"+slave.Name()) {
		t.Fatalf("a timed-out read says %v, want it to name %s", err, slave.Name())
	}
}

func TestPTYConnNames(t *testing.T) {
	long := strings.Repeat("x", 50)
	tests := []struct {
		args []string
		want string // RemoteAddr after "/dev/pts/N "
	}{
		{[]string{"sh", "-c", "tty; read x"}, `(sh -c "tty; read x")`},
		{[]string{"true", "a b", "", "ok=1,2"}, `(true "a b" "" ok=1,2)`},
		{[]string{"true", "tab\there", `q"uote`}, `(true "tab\there" "q\"uote")`},
		{[]string{"true", long}, "(true " + long[:35] + "...)"},
		// cut at 40 bytes, on a rune boundary
		{[]string{"true", strings.Repeat("é", 30)}, `(true "` + strings.Repeat("é", 17) + "...)"},
		{[]string{"true", "x" + strings.Repeat("é", 30)}, `(true "x` + strings.Repeat("é", 16) + "...)"},
	}
	for _, tt := range tests {
		t.Run(tt.args[0]+" "+tt.args[1], func(t *testing.T) {
			cmd := exec.Command(tt.args[0], tt.args[1:]...)
			c, err := adapters.StartPTY(cmd)
			if err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			defer cmd.Process.Kill()
			defer c.Close()
			la, ra := c.LocalAddr(), c.RemoteAddr()
			if la.Network() != "tty" || la.String() != "/dev/ptmx" || ra.Network() != "tty" {
				t.Errorf("addresses %s %q, %s %q", la.Network(), la, ra.Network(), ra)
			}
			pts, cmdName, ok := strings.Cut(ra.String(), " ")
			if !ok || !strings.HasPrefix(pts, "/dev/pts/") || cmdName != tt.want {
				t.Fatalf("RemoteAddr = %q, want /dev/pts/N %s", ra, tt.want)
			}
			if tt.args[0] != "sh" {
				return
			}
			// The child's terminal is the slave the address names.
			out := expect(t, c, "\n")
			if got := strings.TrimSpace(out); got != pts {
				t.Fatalf("the child's tty is %q, the address says %q", got, pts)
			}
			c.SetReadDeadline(time.Now())
			_, err = c.Read(make([]byte, 1))
			if want := "read tty /dev/ptmx->" + ra.String() + ": i/o timeout"; err == nil || err.Error() != want {
				t.Errorf("timeout error %q, want %q", err, want)
			}
		})
	}
}

// CloseWrite and CloseRead errors: a single Op word, said once, with a
// message that says why (and, on a tty, what to do instead: VEOF) for a
// file that cannot be half-closed, and the failing syscall by name
// otherwise.
func TestHalfCloseErrors(t *testing.T) {
	m, s := connTestRawPTY(t)
	tty := adapters.NewConn(m)
	defer tty.Close()
	defer s.Close()

	devnull, err := fdstream.Open(os.DevNull, os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	dev := adapters.NewConn(devnull)
	defer dev.Close()

	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	sock, err := fdstream.NewStream(fd, "unconnected")
	if err != nil {
		unix.Close(fd)
		t.Fatal(err)
	}
	unconnected := adapters.NewConn(sock)
	defer unconnected.Close()

	tests := []struct {
		name    string
		err     error
		op      string
		is      error
		text    string
		syscall string // the *os.SyscallError's name; "" for none
	}{
		{"tty CloseWrite", tty.CloseWrite(), "closewrite", unix.ENOTSUP,
			"closewrite tty /dev/ptmx->" + s.Name() + ": adapters: a single tty cannot be half-closed (to end a terminal reader's input, write VEOF, ^D, at the start of a line): operation not supported", ""},
		{"tty CloseRead", tty.CloseRead(), "closeread", unix.ENOTSUP,
			"closeread tty /dev/ptmx->" + s.Name() + ": adapters: a single tty or device cannot be half-closed: operation not supported", ""},
		{"device CloseWrite", dev.CloseWrite(), "closewrite", unix.ENOTSUP,
			"closewrite fd /dev/null->/dev/null: adapters: a single tty or device cannot be half-closed: operation not supported", ""},
		{"unconnected socket CloseWrite", unconnected.CloseWrite(), "closewrite", unix.ENOTCONN,
			"closewrite fd unconnected->unconnected: shutdown: transport endpoint is not connected", "shutdown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var oe *net.OpError
			if !errors.As(tt.err, &oe) || oe.Op != tt.op || !errors.Is(tt.err, tt.is) {
				t.Fatalf("err = %#v, want a *net.OpError %q wrapping %v", tt.err, tt.op, tt.is)
			}
			if !errors.Is(tt.err, errors.ErrUnsupported) && tt.is == unix.ENOTSUP {
				t.Errorf("%v does not wrap errors.ErrUnsupported", tt.err)
			}
			if got := tt.err.Error(); got != tt.text {
				t.Errorf("text %q\nwant %q", got, tt.text)
			}
			if n := strings.Count(tt.err.Error(), tt.op); n != 1 {
				t.Errorf("%q names %q %d times", tt.err, tt.op, n)
			}
			var se *os.SyscallError
			if got := errors.As(tt.err, &se); got != (tt.syscall != "") || (got && se.Syscall != tt.syscall) {
				t.Errorf("SyscallError %v, want %q", se, tt.syscall)
			}
		})
	}
	// Refused half-closes changed nothing: the tty still works both ways.
	s.Write([]byte("k"))
	if _, err := tty.Read(make([]byte, 1)); err != nil {
		t.Fatalf("tty read after the refused half-closes: %v", err)
	}
	if _, err := tty.Write([]byte("w")); err != nil {
		t.Fatalf("tty write after the refused half-closes: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	if _, err := s.ReadContext(ctx, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
}
