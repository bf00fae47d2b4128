package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain doubles as fdcom itself: the end-to-end tests run this test
// binary in a tmux pane with FDCOM_TEST_MAIN=1, so that fdcom runs built
// as the tests are (with -race when they are), and FDCOM_TEST_PANIC makes
// one of its goroutines panic.
func TestMain(m *testing.M) {
	if os.Getenv("FDCOM_TEST_MAIN") == "1" {
		testPanic = os.Getenv("FDCOM_TEST_PANIC")
		os.Exit(run(os.Args[1:], env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}))
	}
	goleak.VerifyTestMain(m)
}
