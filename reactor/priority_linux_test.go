package reactor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/reactor"
)

// childEnv tells a re-executed test binary that it is the child of the
// named test, and gives it its parent's mount namespace, which the child
// must not be in before it mounts anything.
const childEnv = "REACTOR_TEST_CHILD"

// inNewMountNS re-runs the test binary as the child test named, in a new
// mount namespace whose mounts do not propagate back (Go remounts / as
// MS_REC|MS_PRIVATE in the child when Unshareflags has CLONE_NEWNS). It
// tries as root first, then in a new user namespace; it skips the test,
// saying why, only when neither is allowed. The child's output is
// returned; a child that fails fails the test.
func inNewMountNS(t *testing.T, child string) string {
	t.Helper()
	parentNS, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Skipf("no /proc/self/ns/mnt (%v): mount namespaces unavailable", err)
	}
	attrs := []*syscall.SysProcAttr{
		{Unshareflags: syscall.CLONE_NEWNS},
		{
			Cloneflags:   syscall.CLONE_NEWUSER,
			Unshareflags: syscall.CLONE_NEWNS,
			UidMappings:  []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings:  []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		},
	}
	var startErrs []string
	for _, attr := range attrs {
		// Longer than the child's own hang bound, so that a child that
		// fails reports why.
		ctx, cancel := context.WithTimeout(context.Background(), 3*hang)
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+child+"$", "-test.count=1", "-test.v", "-test.timeout="+(2*hang).String())
		cmd.Env = append(os.Environ(), childEnv+"="+child+":"+parentNS,
			"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
		cmd.SysProcAttr = attr
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			cancel()
			startErrs = append(startErrs, err.Error())
			continue
		}
		err := cmd.Wait()
		cancel()
		if err != nil {
			t.Fatalf("child %s: %v\n%s", child, err, out.String())
		}
		if !strings.Contains(out.String(), "--- PASS: "+child) {
			t.Fatalf("child %s did not run:\n%s", child, out.String())
		}
		return out.String()
	}
	t.Skipf("cannot start a process in a new mount namespace, as root or in a user namespace: %s", strings.Join(startErrs, "; "))
	return ""
}

// childOf skips the test unless this process is the child of parent,
// started by inNewMountNS; it checks that the child has its own mount
// namespace, so that nothing it mounts is seen outside.
func childOf(t *testing.T, name, parent string) {
	test, parentNS, ok := strings.Cut(os.Getenv(childEnv), ":")
	if !ok || test != name {
		t.Skipf("runs only as the child process of %s", parent)
	}
	ns, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil || ns == parentNS {
		t.Fatalf("child mount namespace %q (%v) is the parent's %q: refusing to mount", ns, err, parentNS)
	}
}

// Priority events, as the kernel gives them: /proc/self/mounts reports
// POLLPRI|POLLERR once after the mount table changes. In a child with its
// own mount namespace, a tmpfs is mounted and then unmounted: each change
// is reported as Priority (with Err, as the kernel sets it) to a Poller
// on epoll (both park modes), poll and select, and ends a
// Registration.Wait for Priority on a shard of each backend; nothing is
// reported before the first change or between the two.
func TestPollerPriorityMounts(t *testing.T) {
	out := inNewMountNS(t, "TestPollerPriorityMountsChild")
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "priority:") {
			t.Log(strings.TrimSpace(l))
		}
	}
}

func TestPollerPriorityMountsChild(t *testing.T) {
	childOf(t, "TestPollerPriorityMountsChild", "TestPollerPriorityMounts")
	openMounts := func() int {
		fd, err := unix.Open("/proc/self/mounts", unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(fd) })
		return fd
	}
	// Each watcher has its own open file: mounts_poll records, per open
	// file, the change it last reported, so two watchers of one open
	// file would take the event from each other.
	type watcher struct {
		name string
		p    *reactor.Poller
		fd   int
		want reactor.Event
	}
	var ws []watcher
	for _, k := range pollerKinds(t) {
		w := watcher{k.name, newPoller(t, k.cfg), openMounts(), reactor.Event{Key: 42, Ready: reactor.Priority, Err: true}}
		if k.cfg.Backend == reactor.Select {
			w.want.Err = false // select reports conditions as readiness only
		}
		if err := w.p.Add(w.fd, 42, reactor.Priority, reactor.Oneshot); err != nil {
			t.Fatalf("%s: Add(/proc/self/mounts, Priority) = %v", k.name, err)
		}
		ws = append(ws, w)
	}
	type shardWatcher struct {
		name string
		reg  *reactor.Registration
	}
	var regs []shardWatcher
	for _, c := range configs(t) {
		r, err := reactor.New(c)
		if err != nil {
			t.Fatal(err)
		}
		regs = append(regs, shardWatcher{name(c), register(t, r, openMounts())})
	}
	for _, w := range ws {
		none(t, w.name+": before any change", w.p)
	}
	dir := t.TempDir()
	mounted := false
	t.Cleanup(func() {
		if mounted {
			unix.Unmount(dir, unix.MNT_DETACH)
		}
	})
	for i, change := range []func() error{
		func() error { mounted = true; return unix.Mount("none", dir, "tmpfs", 0, "size=16k") },
		func() error { mounted = false; return unix.Unmount(dir, 0) },
	} {
		// The first change comes while every Poller's Wait is blocked,
		// the second before any Wait: both orders are reported.
		var blocked []<-chan waitResult
		if i == 0 {
			for _, w := range ws {
				blocked = append(blocked, blockedWait(t, w.p, context.Background()))
			}
		}
		if err := change(); err != nil {
			t.Fatalf("change %d of the mount table: %v", i, err)
		}
		for j, w := range ws {
			var got waitResult
			if blocked != nil {
				got = recv(t, blocked[j])
			} else {
				ctx, cancel := context.WithTimeout(context.Background(), hang)
				evs := make([]reactor.Event, 4)
				n, err := w.p.Wait(ctx, evs)
				cancel()
				got = waitResult{evs[:n], err}
			}
			if got.err != nil {
				t.Fatalf("%s: Wait after change %d = %v", w.name, i, got.err)
			}
			only(t, fmt.Sprintf("%s: change %d", w.name, i), got.evs, w.want)
			t.Logf("priority: Poller %s, change %d (Wait blocked before it: %v): %+v", w.name, i, blocked != nil, got.evs)
			if err := w.p.Modify(w.fd, 42, reactor.Priority, reactor.Oneshot); err != nil {
				t.Fatal(err)
			}
			none(t, fmt.Sprintf("%s: re-armed after change %d", w.name, i), w.p)
		}
		for _, s := range regs {
			if err := waitFor(s.reg, reactor.Priority, hang); err != nil {
				t.Fatalf("%s: Registration.Wait(Priority) after change %d = %v", s.name, i, err)
			}
			t.Logf("priority: Registration %s, change %d: Wait returned", s.name, i)
		}
	}
	for _, w := range ws {
		if err := w.p.Delete(w.fd); err != nil && !errors.Is(err, os.ErrClosed) {
			t.Fatal(err)
		}
	}
}
