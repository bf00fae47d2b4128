package fdtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// HelperEnv tells a re-executed test binary which helper test it runs as,
// and in which mode: "TestName:mode".
const HelperEnv = "FDSTREAM_HELPER_PROCESS"

// HelperMode returns the mode this process was started with as the child
// named test, and skips the test when it is not that child: run directly,
// a helper test has nothing to do.
func HelperMode(t testing.TB, test, parent string) string {
	t.Helper()
	name, mode, ok := strings.Cut(os.Getenv(HelperEnv), ":")
	if !ok || name != test {
		t.Skipf("runs only as the child process of %s", parent)
	}
	return mode
}

// HelperCommand returns a command re-running the test binary as the child
// test in mode, with args added to its command line. Its stderr is
// collected in the returned buffer. When t ends the child is killed (if
// still running) and waited for, so no failure path leaves it behind; a
// child that runs past Hang is killed.
func HelperCommand(t testing.TB, test, mode string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Hang)
	args = append([]string{"-test.run=^" + test + "$", "-test.count=1"}, args...)
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	// Under -race a process sleeps a second at exit (GORACE
	// atexit_sleep_ms) for goroutines still running to report: the
	// child's have all ended (its TestMain runs goleak).
	cmd.Env = append(os.Environ(), HelperEnv+"="+test+":"+mode,
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	t.Cleanup(func() {
		cancel()
		if cmd.Process != nil && cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &stderr
}
