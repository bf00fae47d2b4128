//go:build linux

package adapters_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
	"github.com/fdstream/fdstream/internal/fdtest"
)

// TestStdioHelperProcess is the child of TestStdioSharedWithParent; run
// directly it has nothing to do.
func TestStdioHelperProcess(t *testing.T) {
	fdtest.HelperMode(t, "TestStdioHelperProcess", "TestStdioSharedWithParent")
	c, err := adapters.Stdio()
	if err != nil {
		fmt.Println("error", err)
		return
	}
	// A read that nothing answers (the parent writes only once told):
	// the ctx ends it, and it must consume nothing.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err = c.ReadContext(ctx, make([]byte, 64))
	cancel()
	fmt.Fprintf(c, "cancelled %v\n", errors.Is(err, context.DeadlineExceeded))

	ctx, cancel = context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	line, err := bufio.NewReader(fdstream.NewReader(ctx, c)).ReadString('\n')
	fmt.Fprintf(c, "got %q %v\n", line, err)
	if err := c.Close(); err != nil {
		fmt.Fprintf(os.Stdout, "close error %v\n", err)
	}
	// os.Stdout is still the process's and still works.
	fmt.Fprintln(os.Stdout, "closed")
}

// Stdio in a child whose stdin and stdout are pipes shared with the
// parent: while the child runs and after it closed its Conn, the
// parent's descriptions keep the flags they had (blocking), and a ctx
// cancelled read in the child loses no byte.
func TestStdioSharedWithParent(t *testing.T) {
	blockingPipe := func() (r, w *os.File) {
		fds := make([]int, 2)
		if err := unix.Pipe2(fds, unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		return os.NewFile(uintptr(fds[0]), "r"), os.NewFile(uintptr(fds[1]), "w")
	}
	inR, inW := blockingPipe()
	outR, outW := blockingPipe()
	defer inR.Close()
	defer inW.Close()
	defer outR.Close()
	defer outW.Close()
	flags := func(f *os.File) int {
		rc, _ := f.SyscallConn()
		var fl int
		rc.Control(func(fd uintptr) { fl, _ = unix.FcntlInt(fd, unix.F_GETFL, 0) })
		return fl
	}
	inBefore, outBefore := flags(inR), flags(outW)

	cmd, _ := fdtest.HelperCommand(t, "TestStdioHelperProcess", "")
	cmd.Stdin = inR
	cmd.Stdout = outW
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(outR)
	next := func() string {
		line, err := out.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the child: %q, %v", line, err)
		}
		return strings.TrimSuffix(line, "\n")
	}
	if got := next(); got != "cancelled true" {
		t.Fatalf("child: %q, want its read cancelled by its ctx", got)
	}
	if flags(inR) != inBefore || flags(outW) != outBefore {
		t.Errorf("while the child runs Stdio, the shared descriptions changed: stdin %#x→%#x, stdout %#x→%#x",
			inBefore, flags(inR), outBefore, flags(outW))
	}
	if _, err := inW.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != `got "hello\n" <nil>` {
		t.Fatalf("child: %s, want it to read the whole line written after its cancelled read", got)
	}
	if got := next(); got != "closed" {
		t.Fatalf("child: %q, want \"closed\"", got)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if flags(inR) != inBefore || flags(outW) != outBefore {
		t.Errorf("after the child closed Stdio, the shared descriptions changed: stdin %#x→%#x, stdout %#x→%#x",
			inBefore, flags(inR), outBefore, flags(outW))
	}
	if inBefore&unix.O_NONBLOCK != 0 {
		t.Fatal("setup: the pipes should start blocking")
	}
}
