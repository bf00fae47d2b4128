package ctxiotest_test

import (
	"testing"

	"github.com/fdstream/fdstream/ctxiotest"
)

// The type of ExampleTestPipe passes the checks it is shown with.
func TestExampleFilePipe(t *testing.T) {
	ctxiotest.TestPipe(t, newFilePipe)
}
