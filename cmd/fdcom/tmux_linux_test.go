package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fdstream/fdstream/internal/fdtest"
)

// The end-to-end tests run fdcom (this test binary, see TestMain) in a
// tmux pane: a real terminal, which tmux's capture-pane lets the test
// read. Each test has its own tmux server (tmux -S on a socket in a
// directory of its own), so a user's tmux is never touched, and kills it
// at cleanup. The pane runs a shell script that records `stty -g` before
// and after fdcom and fdcom's exit status.

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

type pane struct {
	t    *testing.T
	dir  string // the pane's working directory: before, after, status
	sock string
	id   string // FDCOM_TEST_ID in fdcom's environment, to find its processes
}

// startPane starts a tmux server with one 100x40 pane running fdcom with
// args; env are extra variables for fdcom. It returns once the pane runs.
func startPane(t *testing.T, args []string, env ...string) *pane {
	t.Helper()
	return startPaneStderr(t, args, "", env...)
}

// startPaneStderr is startPane with fdcom's stderr sent to the file
// stderr, if it is not "".
func startPaneStderr(t *testing.T, args []string, stderr string, env ...string) *pane {
	t.Helper()
	fdtest.NeedTool(t, "tmux")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A short directory: a socket's path must fit in 108 bytes.
	dir, err := os.MkdirTemp("", "fdcom-tmux-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var idb [8]byte
	rand.Read(idb[:])
	p := &pane{t: t, dir: dir, sock: filepath.Join(dir, "sock"), id: hex.EncodeToString(idb[:])}

	var cmd strings.Builder
	fmt.Fprintf(&cmd, "FDCOM_TEST_MAIN=1 FDCOM_TEST_ID=%s", p.id)
	for _, e := range env {
		k, v, _ := strings.Cut(e, "=")
		cmd.WriteString(" " + k + "=" + shellQuote(v))
	}
	cmd.WriteString(" " + shellQuote(exe))
	for _, a := range args {
		cmd.WriteString(" " + shellQuote(a))
	}
	if stderr != "" {
		cmd.WriteString(" 2>" + shellQuote(stderr))
	}
	script := fmt.Sprintf(`cd %s || exit 1
stty -g > before
%s
code=$?
stty -g > after
echo $code > status.tmp && mv status.tmp status
echo "[pane] fdcom exited with status $code"
`, shellQuote(dir), cmd.String())
	if err := os.WriteFile(filepath.Join(dir, "run.sh"), []byte(script), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := "set -g remain-on-exit on\nset -g status off\nset -g history-limit 10000\n"
	if err := os.WriteFile(filepath.Join(dir, "tmux.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	p.tmux("-f", filepath.Join(dir, "tmux.conf"), "new-session", "-d", "-x", "100", "-y", "40", "sh "+shellQuote(filepath.Join(dir, "run.sh")))
	pid, err := strconv.Atoi(strings.TrimSpace(p.tmux("display-message", "-p", "#{pid}")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		exec.Command("tmux", "-S", p.sock, "kill-server").Run()
		// The server is gone, and with it the pane; then no process of
		// fdcom's may be left.
		p.poll("the tmux server to exit", func() bool { return !alive(pid) })
		// A fdcom still running then has had its SIGHUP, and must end.
		p.poll("no fdcom process left once the tmux server exited", func() bool { return len(p.processes()) == 0 })
	})
	return p
}

// tmux runs a tmux command on the pane's server and returns its output.
func (p *pane) tmux(args ...string) string {
	p.t.Helper()
	cmd := exec.Command("tmux", append([]string{"-S", p.sock}, args...)...)
	cmd.Env = withoutTMUX(os.Environ())
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// withoutTMUX drops $TMUX, so that a test run inside tmux starts its own
// server without complaint.
func withoutTMUX(env []string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, "TMUX=") {
			out = append(out, e)
		}
	}
	return out
}

// screen is the pane's history and screen, wrapped lines joined.
func (p *pane) screen() string {
	p.t.Helper()
	return p.tmux("capture-pane", "-p", "-J", "-S", "-")
}

// poll calls done until it is true, failing the test after hang.
func (p *pane) poll(what string, done func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(hang)
	for !done() {
		if time.Now().After(deadline) {
			p.t.Fatalf("no %s within %v; the pane shows:\n%s", what, hang, p.screenOrErr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// screenOrErr is screen for failure messages, which must not fail again.
func (p *pane) screenOrErr() string {
	out, err := exec.Command("tmux", "-S", p.sock, "capture-pane", "-p", "-J", "-S", "-").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(capture-pane: %v: %s)", err, out)
	}
	return string(out)
}

// waitFor waits until the pane shows want n times (once if n is omitted).
func (p *pane) waitFor(want string, n ...int) {
	p.t.Helper()
	count := 1
	if len(n) > 0 {
		count = n[0]
	}
	p.poll(fmt.Sprintf("%q (x%d)", want, count), func() bool {
		return strings.Count(p.screen(), want) >= count
	})
}

// waitForLine waits until the pane shows a line that is exactly want, n
// times (once if n is omitted).
func (p *pane) waitForLine(want string, n ...int) {
	p.t.Helper()
	count := 1
	if len(n) > 0 {
		count = n[0]
	}
	p.poll(fmt.Sprintf("the line %q (x%d)", want, count), func() bool {
		return p.countLines(want) >= count
	})
}

// waitForMatch waits until a line of the pane matches re.
func (p *pane) waitForMatch(re string) {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	p.poll(fmt.Sprintf("a line matching %s", re), func() bool {
		for _, l := range strings.Split(p.screen(), "\n") {
			if rx.MatchString(strings.TrimRight(l, " ")) {
				return true
			}
		}
		return false
	})
}

// countLines counts the pane's lines that are exactly want.
func (p *pane) countLines(want string) int {
	p.t.Helper()
	c := 0
	for _, l := range strings.Split(p.screen(), "\n") {
		if strings.TrimRight(l, " ") == want {
			c++
		}
	}
	return c
}

// keys sends tmux key names (C-a, Enter, ...) to the pane.
func (p *pane) keys(keys ...string) {
	p.t.Helper()
	p.tmux(append([]string{"send-keys"}, keys...)...)
}

// typeText types s literally.
func (p *pane) typeText(s string) {
	p.t.Helper()
	p.tmux("send-keys", "-l", s)
}

// escape sends C-a and then the byte b (given as hex, as some control
// keys have no tmux name that survives the trip: C-\ is 1c).
func (p *pane) escape(hexByte string) {
	p.t.Helper()
	p.tmux("send-keys", "-H", "01", hexByte)
}

// waitExit waits for fdcom to exit and returns its status, after checking
// that the terminal's settings are those it had before fdcom started and
// that no fdcom process is left.
func (p *pane) waitExit() int {
	p.t.Helper()
	status := filepath.Join(p.dir, "status")
	p.poll("exit status", func() bool {
		_, err := os.Stat(status)
		return err == nil
	})
	b, err := os.ReadFile(status)
	if err != nil {
		p.t.Fatal(err)
	}
	code, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		p.t.Fatal(err)
	}
	p.checkTerminalRestored()
	if left := p.processes(); len(left) > 0 {
		p.t.Errorf("fdcom processes left after it exited: %v", left)
	}
	return code
}

// checkTerminalRestored compares stty -g before and after fdcom.
func (p *pane) checkTerminalRestored() {
	p.t.Helper()
	before, err1 := os.ReadFile(filepath.Join(p.dir, "before"))
	after, err2 := os.ReadFile(filepath.Join(p.dir, "after"))
	if err1 != nil || err2 != nil {
		p.t.Fatalf("stty records: %v, %v", err1, err2)
	}
	if len(bytes.TrimSpace(before)) == 0 || !bytes.Equal(before, after) {
		p.t.Errorf("terminal not restored: stty -g before %q, after %q", before, after)
	}
}

// processes lists the processes with this pane's FDCOM_TEST_ID in their
// environment: fdcom and anything it started.
func (p *pane) processes() []int {
	marker := []byte("FDCOM_TEST_ID=" + p.id + "\x00")
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, d := range dirs {
		environ, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !bytes.Contains(environ, marker) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join(d, "stat")); err == nil && isZombie(stat) {
			continue // exited; its parent, the pane's shell, reaps it
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		pids = append(pids, pid)
	}
	return pids
}

// alive reports whether process pid exists and has not exited.
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !isZombie(stat)
}

// isZombie reads the state field of /proc/PID/stat.
func isZombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// fdcomPID waits for fdcom's process and returns its pid.
func (p *pane) fdcomPID() int {
	p.t.Helper()
	var pids []int
	p.poll("fdcom process", func() bool {
		pids = p.processes()
		return len(pids) > 0
	})
	if len(pids) != 1 {
		p.t.Fatalf("fdcom processes: %v, want one", pids)
	}
	return pids[0]
}
