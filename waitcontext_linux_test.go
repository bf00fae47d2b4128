package fdstream_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/reactor"
)

// A Stream's Priority wait returns when /proc/self/mounts reports a
// change of the mount table, on every reactor kind: the file is a
// regular file to fstat, so the Stream does plain I/O, and the wait goes
// through the Stream's own registration with its reactor's loops. In a
// child with its own mount namespace (as root, or else in a new user
// namespace; skipped, saying so, only where neither is allowed), a tmpfs
// is mounted while the wait is blocked, then unmounted before the next
// wait begins; both changes end a wait, and with no change since, a
// wait ends only on its ctx. Closing the Streams leaves no
// registration behind.
func TestStreamWaitContextPriorityMounts(t *testing.T) {
	const child = "TestStreamWaitContextPriorityMountsChild"
	parentNS, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Skipf("no /proc/self/ns/mnt (%v): mount namespaces unavailable", err)
	}
	var startErrs []string
	for _, attr := range []*syscall.SysProcAttr{
		{Unshareflags: syscall.CLONE_NEWNS},
		{
			Cloneflags:   syscall.CLONE_NEWUSER,
			Unshareflags: syscall.CLONE_NEWNS,
			UidMappings:  []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings:  []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		},
	} {
		cmd, stderr := helperCommand(t, child, parentNS)
		cmd.Args = append(cmd.Args, "-test.v")
		cmd.SysProcAttr = attr
		var out strings.Builder
		cmd.Stdout = &out
		if err := cmd.Start(); err != nil {
			startErrs = append(startErrs, err.Error())
			continue
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), stderr)
		}
		if !strings.Contains(out.String(), "--- PASS: "+child) {
			t.Fatalf("the child did not run:\n%s", out.String())
		}
		for _, l := range strings.Split(out.String(), "\n") {
			if strings.Contains(l, "priority:") {
				t.Log(strings.TrimSpace(l))
			}
		}
		return
	}
	t.Skipf("cannot start a process in a new mount namespace, as root or in a user namespace: %s", strings.Join(startErrs, "; "))
}

func TestStreamWaitContextPriorityMountsChild(t *testing.T) {
	parentNS := helperMode(t, "TestStreamWaitContextPriorityMountsChild", "TestStreamWaitContextPriorityMounts")
	if ns, err := os.Readlink("/proc/self/ns/mnt"); err != nil || ns == parentNS {
		t.Fatalf("child mount namespace %q (%v) is the parent's: refusing to mount", ns, err)
	}
	type watch struct {
		name string
		r    *reactor.Reactor
		s    *fdstream.Stream
	}
	var ws []watch
	for _, c := range testReactors(t) {
		s, err := fdstream.Open("/proc/self/mounts", os.O_RDONLY, fdstream.WithReactor(c.r))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		ws = append(ws, watch{c.name, c.r, s})
	}
	dir := t.TempDir()
	mounted := false
	t.Cleanup(func() {
		if mounted {
			unix.Unmount(dir, unix.MNT_DETACH)
		}
	})
	bw := watchBlocks(t)
	// The first change lands while every wait is blocked.
	var done []<-chan error
	for _, w := range ws {
		ctx, cancel := context.WithTimeout(context.Background(), hang)
		t.Cleanup(cancel)
		done = append(done, async(func() error { return w.s.WaitContext(ctx, reactor.Priority) }))
		bw.await(t, w.s, 1)
	}
	mounted = true
	if err := unix.Mount("none", dir, "tmpfs", 0, "size=16k"); err != nil {
		t.Fatalf("mount: %v", err)
	}
	for i, w := range ws {
		if err := recvErr(t, done[i]); err != nil {
			t.Fatalf("%s: Priority wait across a mount = %v", w.name, err)
		}
		t.Logf("priority: Stream on %s, wait blocked across the mount: returned", w.name)
	}
	// The second lands before the waits begin.
	mounted = false
	if err := unix.Unmount(dir, 0); err != nil {
		t.Fatalf("umount: %v", err)
	}
	for _, w := range ws {
		ctx, cancel := context.WithTimeout(context.Background(), hang)
		err := w.s.WaitContext(ctx, reactor.Priority)
		cancel()
		if err != nil {
			t.Fatalf("%s: Priority wait after an unmount = %v", w.name, err)
		}
		t.Logf("priority: Stream on %s, wait begun after the unmount: returned", w.name)
	}
	// No change since: a wait blocks until its ctx ends it (no stale
	// report is left from the two changes).
	for _, w := range ws {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		err := w.s.WaitContext(ctx, reactor.Priority)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s: Priority wait with no change = %v, want the ctx's deadline", w.name, err)
		}
	}
	for _, w := range ws {
		if err := w.s.Close(); err != nil {
			t.Fatal(err)
		}
		if n := w.r.Registrations(); n != 0 {
			t.Fatalf("%s: %d registrations left after Close", w.name, n)
		}
	}
}
