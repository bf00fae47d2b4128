package adapters_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
	"github.com/fdstream/fdstream/internal/fdtest"
)

// ptyTestSizeScript prints the terminal's size at start and on every
// SIGWINCH. A trap runs when the shell's wait returns, which a trapped
// signal makes it do at once (POSIX: wait is interrupted by a trapped
// signal).
const ptyTestSizeScript = `stty size; trap 'stty size' WINCH; echo ready; while :; do sleep 10 & wait $!; done`

// ptyTestStart starts the size script on a new pty (of size ws, unless
// nil), and kills its process group (the shell and its sleep) at cleanup.
func ptyTestStart(t *testing.T, ws *adapters.WinSize) (*adapters.Conn, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command("sh", "-c", ptyTestSizeScript)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	var c *adapters.Conn
	var err error
	if ws != nil {
		c, err = adapters.StartPTYWithSize(cmd, *ws)
	} else {
		c, err = adapters.StartPTY(cmd)
	}
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // a session leader: its pid is its group
		cmd.Wait()
		c.Close()
		cancel()
	})
	return c, bufio.NewReader(fdstream.NewReader(ctx, c))
}

// ptyTestLine reads the child's next line, without the CR the terminal
// adds.
func ptyTestLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the child: %q, %v", line, err)
	}
	return strings.TrimRight(line, "\r\n")
}

// StartPTYWithSize gives the child its size before it starts: its first
// stty size shows it. Resizing through the Conn's Stream reaches the
// child as SIGWINCH with the new size, each time. Without a size the
// terminal is 0x0, the kernel's default.
func TestStartPTYWithSizeAndResize(t *testing.T) {
	c, r := ptyTestStart(t, &adapters.WinSize{Rows: 31, Cols: 97})
	if got := ptyTestLine(t, r); got != "31 97" {
		t.Fatalf("child's first stty size = %q, want %q", got, "31 97")
	}
	if got := ptyTestLine(t, r); got != "ready" {
		t.Fatalf("child said %q, want ready", got)
	}
	ms, ws := c.Streams()
	if ms == nil || ms != ws {
		t.Fatalf("a pty Conn's Streams = %v, %v; want the master twice", ms, ws)
	}
	if got, err := adapters.GetWinSize(ms); err != nil || got != (adapters.WinSize{Rows: 31, Cols: 97}) {
		t.Errorf("GetWinSize(master) = %+v, %v", got, err)
	}
	for _, size := range []adapters.WinSize{{Rows: 40, Cols: 120}, {Rows: 12, Cols: 34, XPixel: 340, YPixel: 240}} {
		if err := adapters.SetWinSize(ms, size); err != nil {
			t.Fatal(err)
		}
		want := strconv.Itoa(int(size.Rows)) + " " + strconv.Itoa(int(size.Cols))
		if got := ptyTestLine(t, r); got != want {
			t.Errorf("after resizing to %+v the child printed %q, want %q", size, got, want)
		}
	}

	c0, r0 := ptyTestStart(t, nil)
	if got := ptyTestLine(t, r0); got != "0 0" {
		t.Errorf("StartPTY without a size: child's stty size = %q, want %q", got, "0 0")
	}
	c0.Close()
	ms0, _ := c0.Streams()
	if err := adapters.SetWinSize(ms0, adapters.WinSize{Rows: 1, Cols: 1}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("SetWinSize on a closed Conn's Stream = %v, want os.ErrClosed", err)
	}
	if _, err := adapters.StartPTYWithSize(nil, adapters.WinSize{Rows: 1, Cols: 1}); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("StartPTYWithSize(nil) = %v, want os.ErrInvalid", err)
	}
}
