//go:build linux

package fdstream_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
	"github.com/fdstream/fdstream/internal/fdtest"
	"github.com/fdstream/fdstream/reactor"
)

// helperLines returns the lines of out that start with prefix, prefix
// removed.
func helperLines(out []byte, prefix string) []string {
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), prefix); ok {
			lines = append(lines, rest)
		}
	}
	return lines
}

// fdTable returns this process's open descriptors and what each refers
// to (the readlink of /proc/self/fd/N), leaving out the directory's own
// descriptor.
func fdTable(t *testing.T) map[int]string {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[int]string, len(ents))
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // the directory's descriptor, closed by now
		}
		m[fd] = target
	}
	return m
}

// listFdsScript makes /bin/sh list the descriptors the shell itself holds,
// one "N target" per line. The glob is expanded by the shell, over its own
// table (/proc/$$, not /proc/self); readlink runs in a child of the shell
// and reads the shell's table, which the fork did not change. The glob's
// own directory descriptor is closed by then and reads as "?".
const listFdsScript = `for f in /proc/$$/fd/*; do printf '%s ' "${f##*/}"; readlink "$f" 2>/dev/null || echo '?'; done`

func parseFdList(t *testing.T, out []byte) map[int]string {
	t.Helper()
	m := map[int]string{}
	for _, l := range strings.Split(string(out), "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" {
			continue
		}
		n, target, ok := strings.Cut(l, " ")
		fd, err := strconv.Atoi(n)
		if !ok || err != nil {
			t.Fatalf("child's fd list: unexpected line %q in\n%s", l, out)
		}
		m[fd] = target
	}
	return m
}

// libFd is a descriptor the library opened (or adopted), and where from.
type libFd struct {
	fd           int
	target, from string
}

// Guarantee 39: every descriptor the library opens is O_CLOEXEC. The
// library opens descriptors of every kind — Pipe, Open of a FIFO and of a
// pty slave by path, adapters.OpenPTY (ptmx and TIOCGPTPEER), FromFile
// (reopened through /proc/self/fd or dup'ed), the reactors' own epoll fds,
// eventfd and wake pipes (their loops running) — and also adopts a
// socketpair with NewStream; then a child (/bin/sh) lists the descriptors
// it inherited, through exec.Cmd and through adapters.StartPTY, and none
// of the library's may be among them. The method is shown to see leaks: a
// control pipe made without O_CLOEXEC must be listed by both children.
func TestDescriptorsAreCloseOnExec(t *testing.T) {
	// The runtime's own poller descriptors exist before the baseline, so
	// that only the library's appear afterwards.
	if r, w, err := os.Pipe(); err != nil {
		t.Fatal(err)
	} else {
		r.Close()
		w.Close()
	}
	var lib []libFd
	var closers []io.Closer
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i].Close()
		}
	}()
	keep := func(cs ...io.Closer) { closers = append(closers, cs...) }
	step := func(from string, f func()) []libFd {
		t.Helper()
		before := fdTable(t)
		f()
		var added []libFd
		for fd, target := range fdTable(t) {
			if before[fd] != target {
				added = append(added, libFd{fd, target, from})
			}
		}
		lib = append(lib, added...)
		return added
	}
	kinds := func(fds []libFd) string {
		var ks []string
		for _, f := range fds {
			k := f.target
			if !strings.HasPrefix(k, "anon_inode:") {
				k, _, _ = strings.Cut(k, ":[")
			}
			if strings.HasPrefix(k, "/dev/pts/") {
				k = "/dev/pts/N"
			}
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return strings.Join(ks, ",")
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// The test's own sources for FromFile and NewStream, made before the
	// steps so that their descriptors are not counted as the library's
	// (they are O_CLOEXEC: Go's and SOCK_CLOEXEC).
	pr, pw, err := os.Pipe()
	must(err)
	keep(pr, pw)
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	must(err)
	sockFile := os.NewFile(uintptr(sp[0]), "sock")
	keep(sockFile, os.NewFile(uintptr(sp[1]), "sock-peer"))
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	must(err)
	keep(ptmx)
	var ptn int
	must(fdtest.Control(ptmx, func(fd int) error {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return err
		}
		ptn, err = unix.IoctlGetInt(fd, unix.TIOCGPTN)
		return err
	}))
	pts, err := os.OpenFile("/dev/pts/"+strconv.Itoa(ptn), os.O_RDWR|syscall.O_NOCTTY, 0)
	must(err)
	keep(pts)
	regular, err := os.Create(filepath.Join(t.TempDir(), "regular"))
	must(err)
	keep(regular)
	devNull, err := os.Open(os.DevNull)
	must(err)
	keep(devNull)
	fifo := filepath.Join(t.TempDir(), "fifo")
	must(unix.Mkfifo(fifo, 0o600))
	sock, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	must(err)

	if got := step("fdstream.Pipe (DefaultReactor)", func() {
		r, w, err := fdstream.Pipe()
		must(err)
		keep(r, w)
	}); len(got) < 2 {
		t.Errorf("Pipe opened %d descriptors (%s), want at least the pipe's 2", len(got), kinds(got))
	}
	// The other kinds on a one-shard reactor of the default backend,
	// whose loop (and its descriptors) the first of them starts: what
	// each later step opens is then exactly the kind's own.
	one, err := reactor.New(reactor.Config{Shards: 1})
	must(err)
	opt := fdstream.WithReactor(one)
	if got := step("fdstream.Open(FIFO)", func() {
		r, err := fdstream.Open(fifo, os.O_RDONLY, opt)
		must(err)
		keep(r)
		w, err := fdstream.Open(fifo, os.O_WRONLY, opt)
		must(err)
		keep(w)
	}); !strings.Contains(kinds(got), fifo+","+fifo) {
		t.Errorf("opening a FIFO twice opened %s, want the FIFO twice", kinds(got))
	}
	var ptySlave string
	if got := step("adapters.OpenPTY", func() {
		m, s, err := adapters.OpenPTY(opt)
		must(err)
		keep(m, s)
		ptySlave = s.Name()
	}); kinds(got) != "/dev/ptmx,/dev/pts/N" {
		t.Errorf("OpenPTY opened %s, want /dev/ptmx and /dev/pts/N", kinds(got))
	}
	if got := step("fdstream.Open(pty slave)", func() {
		s, err := fdstream.Open(ptySlave, os.O_RDWR, opt)
		must(err)
		keep(s)
	}); kinds(got) != "/dev/pts/N" {
		t.Errorf("opening the pty slave by path opened %s, want one /dev/pts/N", kinds(got))
	}
	step("fdstream.NewStream(socketpair)", func() {
		for i, fd := range sock {
			s, err := fdstream.NewStream(fd, "sock"+strconv.Itoa(i), opt)
			must(err)
			keep(s)
		}
	})
	for i, fd := range sock { // adopted: the library's from now on
		target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		must(err)
		lib = append(lib, libFd{fd, target, "fdstream.NewStream(socketpair " + strconv.Itoa(i) + ")"})
	}
	for _, src := range []struct {
		f    *os.File
		want string // the kind of descriptor FromFile makes
	}{
		{pr, "pipe"},              // reopened through /proc/self/fd
		{sockFile, "socket"},      // dup'ed
		{pts, "/dev/pts/N"},       // a terminal: reopened
		{ptmx, "/dev/ptmx"},       // a pty master: dup'ed
		{regular, regular.Name()}, // dup'ed
		{devNull, os.DevNull},     // dup'ed
	} {
		if got := step("fdstream.FromFile("+src.f.Name()+")", func() {
			s, err := fdstream.FromFile(src.f, opt)
			must(err)
			keep(s)
		}); kinds(got) != src.want {
			t.Errorf("FromFile(%s) opened %s, want one %s", src.f.Name(), kinds(got), src.want)
		}
	}
	// Each reactor kind, one shard, its loop started by a Stream: the
	// step's new descriptors are the Pipe's two and the loop's own.
	for _, c := range []struct {
		name string
		cfg  reactor.Config
		want string
	}{
		{"epoll-runtime", reactor.Config{Backend: reactor.Epoll, Park: reactor.ParkRuntime, Shards: 1}, "anon_inode:[eventpoll],pipe,pipe"},
		{"epoll-thread", reactor.Config{Backend: reactor.Epoll, Park: reactor.ParkThread, Shards: 1}, "anon_inode:[eventfd],anon_inode:[eventpoll],pipe,pipe"},
		{"select", reactor.Config{Backend: reactor.Select, Shards: 1}, "pipe,pipe,pipe,pipe"},
	} {
		r, err := reactor.New(c.cfg)
		must(err)
		if got := step(c.name+" reactor (and a Pipe on it)", func() {
			pr, pw, err := fdstream.Pipe(fdstream.WithReactor(r))
			must(err)
			keep(pr, pw)
		}); kinds(got) != c.want {
			t.Errorf("%s: a Pipe on a fresh reactor opened %s, want %s", c.name, kinds(got), c.want)
		}
		if n := r.Loops(); n != 1 {
			t.Errorf("%s: %d loops running, want 1", c.name, n)
		}
	}
	for _, f := range lib {
		fl, err := unix.FcntlInt(uintptr(f.fd), unix.F_GETFD, 0)
		if err != nil || fl&unix.FD_CLOEXEC == 0 {
			t.Errorf("fd %d (%s, from %s): F_GETFD = %#x, %v: want FD_CLOEXEC", f.fd, f.target, f.from, fl, err)
		}
	}

	// The control: a pipe made without O_CLOEXEC, which every child must
	// inherit.
	var ctl [2]int
	must(unix.Pipe2(ctl[:], 0))
	defer unix.Close(ctl[0])
	defer unix.Close(ctl[1])
	ctlTargets := map[int]string{}
	for _, fd := range ctl {
		target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		must(err)
		ctlTargets[fd] = target
	}

	check := func(how string, child map[int]string) {
		t.Helper()
		for fd, target := range ctlTargets {
			if child[fd] != target {
				t.Errorf("%s: the control fd %d (%s, no O_CLOEXEC) is not in the child's list %v: the method would not see a leak", how, fd, target, child)
			}
		}
		for _, f := range lib {
			if child[f.fd] == f.target {
				t.Errorf("%s: the child inherited fd %d (%s) from %s", how, f.fd, f.target, f.from)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/bin/sh", "-c", listFdsScript).Output()
	if err != nil {
		t.Fatalf("/bin/sh: %v\n%s", err, out)
	}
	check("exec.Cmd", parseFdList(t, out))

	// adapters.StartPTY: the child runs on a new pty; the master and
	// everything above stay with the parent.
	before := fdTable(t)
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", listFdsScript)
	conn, err := adapters.StartPTY(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	}()
	for fd, target := range fdTable(t) {
		if before[fd] != target {
			lib = append(lib, libFd{fd, target, "adapters.StartPTY"})
		}
	}
	conn.SetDeadline(time.Now().Add(fdtest.Hang))
	out, err = io.ReadAll(conn)
	if err != nil {
		t.Fatalf("reading the StartPTY child: %v (read %q)", err, out)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("StartPTY child: %v\n%s", err, out)
	}
	child := parseFdList(t, out)
	if !strings.HasPrefix(child[0], "/dev/pts/") {
		t.Errorf("StartPTY child's stdin is %q, want its pty slave", child[0])
	}
	check("adapters.StartPTY", child)

	// Close everything: none of the library's descriptors stays open.
	conn.Close()
	for i := len(closers) - 1; i >= 0; i-- {
		if err := closers[i].Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}
	closers = nil
	after := fdTable(t)
	for _, f := range lib {
		if after[f.fd] == f.target && f.target != "anon_inode:[pidfd]" {
			t.Errorf("fd %d (%s, from %s) still open after everything was closed", f.fd, f.target, f.from)
		}
	}
}

const nocttyHelper = "TestNoCTTYHelperProcess"

// errnoName names err's errno ("ENXIO"), or returns err's text.
func errnoName(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		if n := unix.ErrnoName(e); n != "" {
			return n
		}
	}
	return err.Error()
}

// TestNoCTTYHelperProcess is the child of
// TestOpenNeverAcquiresControllingTTY: a session leader without a
// controlling terminal, which opens ptys in the way its mode says and
// reports after each step whether it acquired one.
func TestNoCTTYHelperProcess(t *testing.T) {
	mode := fdtest.HelperMode(t, nocttyHelper, "TestOpenNeverAcquiresControllingTTY")
	// Closing a pty that became our controlling terminal hangs it up and
	// sends us, its session leader, SIGHUP: the child must live to report.
	signal.Ignore(syscall.SIGHUP)
	defer signal.Reset(syscall.SIGHUP)
	sid, err := unix.Getsid(0)
	if err != nil {
		t.Fatal(err)
	}
	// report prints whether this process has a controlling terminal
	// (opening /dev/tty fails with ENXIO when it has none) and the session
	// of master's pty (TIOCGSID on a master: ENOTTY when none).
	report := func(step string, master int) {
		devtty := "ok"
		if fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0); err != nil {
			devtty = errnoName(err)
		} else {
			unix.Close(fd)
		}
		ptysid := "-"
		if master >= 0 {
			if s, err := unix.IoctlGetInt(master, unix.TIOCGSID); err != nil {
				ptysid = errnoName(err)
			} else if s == sid {
				ptysid = "self"
			} else {
				ptysid = strconv.Itoa(s)
			}
		}
		fmt.Printf("noctty %s devtty=%s ptysid=%s\n", step, devtty, ptysid)
	}
	fail := func(step string, err error) {
		fmt.Printf("noctty %s error %v\n", step, err)
	}
	fmt.Printf("noctty leader=%v\n", sid == os.Getpid())
	report("start", -1)
	switch mode {
	case "library":
		m, s, err := adapters.OpenPTY()
		if err != nil {
			fail("adapters.OpenPTY", err)
			return
		}
		defer m.Close()
		defer s.Close()
		fdtest.Control(m, func(fd int) error { report("adapters.OpenPTY", fd); return nil })

		mfd, path, err := fdtest.RawPTY(0)
		if err != nil {
			fail("fdstream.Open", err)
			return
		}
		defer unix.Close(mfd)
		st, err := fdstream.Open(path, os.O_RDWR)
		if err != nil {
			fail("fdstream.Open", err)
			return
		}
		defer st.Close()
		report("fdstream.Open", mfd)

		mfd, path, err = fdtest.RawPTY(0)
		if err != nil {
			fail("fdstream.FromFile", err)
			return
		}
		defer unix.Close(mfd)
		f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
		if err != nil {
			fail("fdstream.FromFile", err)
			return
		}
		defer f.Close()
		sf, err := fdstream.FromFile(f)
		if err != nil {
			fail("fdstream.FromFile", err)
			return
		}
		defer sf.Close()
		report("fdstream.FromFile", mfd)
	case "control-path", "control-proc", "control-peer":
		// What the library must not do: open a slave without O_NOCTTY,
		// by path, by reopening /proc/self/fd/N, or through TIOCGPTPEER.
		mfd, path, err := fdtest.RawPTY(0)
		if err != nil {
			fail(mode, err)
			return
		}
		defer unix.Close(mfd)
		var sfd int
		switch mode {
		case "control-path":
			sfd, err = unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
		case "control-proc":
			var nfd int
			if nfd, err = unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0); err == nil {
				defer unix.Close(nfd)
				sfd, err = unix.Open("/proc/self/fd/"+strconv.Itoa(nfd), unix.O_RDWR|unix.O_CLOEXEC, 0)
			}
		case "control-peer":
			r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_CLOEXEC)
			if sfd = int(r); errno != 0 {
				err = errno
			}
		}
		if err != nil {
			fail(mode, err)
			return
		}
		defer unix.Close(sfd)
		report(mode, mfd)
	default:
		t.Fatalf("unknown mode %q", mode)
	}
}

// Guarantee 39, ttys: in a session leader that has no controlling
// terminal, opening a pty with adapters.OpenPTY, opening a slave by path
// with Open, and reopening a slave with FromFile never make it the
// controlling terminal (/dev/tty stays ENXIO and the pty gets no session).
// The controls — the same opens without O_NOCTTY, in fresh children — do
// acquire it, so the check would catch a missing O_NOCTTY on each path.
func TestOpenNeverAcquiresControllingTTY(t *testing.T) {
	run := func(mode string) map[string]string {
		t.Helper()
		cmd, stderr := fdtest.HelperCommand(t, nocttyHelper, mode)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s child: %v\nstdout:\n%s\nstderr:\n%s", mode, err, out, stderr)
		}
		res := map[string]string{}
		for _, l := range helperLines(out, "noctty ") {
			if rest, ok := strings.CutPrefix(l, "leader="); ok {
				res["leader"] = rest
				continue
			}
			step, rest, _ := strings.Cut(l, " ")
			res[step] = rest
		}
		if res["leader"] != "true" || res["start"] != "devtty=ENXIO ptysid=-" {
			t.Fatalf("%s child: want a session leader without a controlling terminal; got leader=%s, %s\n%s",
				mode, res["leader"], res["start"], out)
		}
		return res
	}
	lib := run("library")
	for _, step := range []string{"adapters.OpenPTY", "fdstream.Open", "fdstream.FromFile"} {
		if got, want := lib[step], "devtty=ENXIO ptysid=ENOTTY"; got != want {
			t.Errorf("after %s: %q, want %q (no controlling terminal, the pty in no session)", step, got, want)
		}
	}
	for _, mode := range []string{"control-path", "control-proc", "control-peer"} {
		if got, want := run(mode)[mode], "devtty=ok ptysid=self"; got != want {
			t.Errorf("%s: %q, want %q: opening a slave without O_NOCTTY should make it the controlling terminal, or the test cannot see a missing O_NOCTTY",
				mode, got, want)
		}
	}
}

const stdioTTYHelper = "TestStdioTTYHelperProcess"

// TestStdioTTYHelperProcess is the child of TestStdioTTYSharedWithParent:
// its stdin is a pty slave whose open file description the parent shares,
// and fd 3 is a pipe on which the parent says "go" when it has checked.
func TestStdioTTYHelperProcess(t *testing.T) {
	fdtest.HelperMode(t, stdioTTYHelper, "TestStdioTTYSharedWithParent")
	say := func(format string, args ...any) { fmt.Printf("stdiotty "+format+"\n", args...) }
	ctl := bufio.NewReader(os.NewFile(3, "ctl"))
	proceed := func() bool {
		if line, err := ctl.ReadString('\n'); line != "go\n" {
			say("no go from the parent: %q %v", line, err)
			return false
		}
		return true
	}
	c, err := adapters.Stdio()
	if err != nil {
		say("error %v", err)
		return
	}
	defer c.Close()
	s, err := fdstream.FromFile(os.Stdin)
	if err != nil {
		say("error %v", err)
		return
	}
	defer s.Close()
	say("opened")
	if !proceed() {
		return
	}

	blocked := blockSignal(t)
	for _, r := range []struct {
		name string
		read func(ctx context.Context, p []byte) (int, error)
	}{{"stdio", c.ReadContext}, {"fromfile", s.ReadContext}} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := r.read(ctx, make([]byte, 64))
			done <- err
		}()
		select {
		case <-blocked:
		case err := <-done:
			cancel()
			say("%s read returned without blocking: %v", r.name, err)
			return
		case <-time.After(fdtest.Hang):
			cancel()
			say("%s read never blocked", r.name)
			<-done
			return
		}
		say("blocked %s", r.name)
		ok := proceed()
		cancel()
		err := <-done
		if !ok {
			return
		}
		say("cancelled %s %v", r.name, errors.Is(err, context.Canceled))
		select { // a spurious wake-up's second report
		case <-blocked:
		default:
		}
	}
	if err := c.Close(); err != nil {
		say("close error %v", err)
	}
	if err := s.Close(); err != nil {
		say("close error %v", err)
	}
	say("closed")
	// os.Stdin is still the process's, blocking, and reads what the
	// parent types next.
	buf := make([]byte, 64)
	n, err := os.Stdin.Read(buf)
	say("stdin %q %v", buf[:n], err)
}

// Stdio and FromFile(os.Stdin) in a child whose stdin is a pty slave
// shared with the parent (a terminal, the usual case for a program run from
// a shell): the parent's description stays blocking while the child has
// them open, while each has a read blocked in the reactor, after the ctx
// cancelled those reads and the child closed them, and after the child
// exits; the child's stdin still works as a blocking file afterwards.
func TestStdioTTYSharedWithParent(t *testing.T) {
	m, s, err := adapters.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// The parent's own, blocking, descriptor of the slave, which the child
	// gets as stdin (the same open file description).
	sfd, err := unix.Open(s.Name(), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	tty := os.NewFile(uintptr(sfd), s.Name())
	defer tty.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	nonblocking := func() bool {
		t.Helper()
		var fl int
		if err := fdtest.Control(tty, func(fd int) error {
			var err error
			fl, err = unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return fl&unix.O_NONBLOCK != 0
	}
	if nonblocking() {
		t.Fatal("setup: the parent's slave should start blocking")
	}
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer ctlW.Close()
	cmd, stderr := fdtest.HelperCommand(t, stdioTTYHelper, "")
	cmd.Stdin = tty
	cmd.ExtraFiles = []*os.File{ctlR}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	err = cmd.Start()
	ctlR.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(stdout)
	expect := func(want string) {
		t.Helper()
		for {
			line, err := out.ReadString('\n')
			if err != nil {
				t.Fatalf("reading the child, want %q: %q, %v\nstderr:\n%s", want, line, err, stderr)
			}
			if got, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "stdiotty "); ok {
				if got != want {
					t.Fatalf("child: %q, want %q\nstderr:\n%s", got, want, stderr)
				}
				return
			}
		}
	}
	checkAndGo := func(when string) {
		t.Helper()
		if nonblocking() {
			t.Errorf("%s: the parent's slave description is non-blocking", when)
		}
		if _, err := ctlW.Write([]byte("go\n")); err != nil {
			t.Fatal(err)
		}
	}
	expect("opened")
	checkAndGo("with the child's Stdio and FromFile(os.Stdin) open")
	expect("blocked stdio")
	checkAndGo("while the child's Stdio read is blocked")
	expect("cancelled stdio true")
	expect("blocked fromfile")
	checkAndGo("while the child's FromFile(os.Stdin) read is blocked")
	expect("cancelled fromfile true")
	expect("closed")
	if nonblocking() {
		t.Errorf("after the child closed its Streams, the parent's slave description is non-blocking")
	}
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	if _, err := m.WriteContext(ctx, []byte("typed\n")); err != nil {
		t.Fatal(err)
	}
	expect(`stdin "typed\n" <nil>`)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v\nstderr:\n%s", err, stderr)
	}
	if nonblocking() {
		t.Errorf("after the child exited, the parent's slave description is non-blocking")
	}
}
