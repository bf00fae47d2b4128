package fdtest

import (
	"os"
	"os/exec"
	"testing"
)

// NeedTool finds a program a test needs (socat, tmux). .ci/run installs
// them and sets FDSTREAM_NEED_SOCAT, and then their absence fails the
// test; elsewhere the test is skipped, saying why.
func NeedTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("FDSTREAM_NEED_SOCAT") != "" {
			t.Fatalf("%s is required (FDSTREAM_NEED_SOCAT is set): %v", name, err)
		}
		t.Skipf("%s not installed (apt-get install %[1]s; .ci/run does): %v", name, err)
	}
}
