package streamtest

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/fdstream/fdstream/internal/fdtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// PTY's ends are connected, and the slave is in the kernel's default,
// canonical mode: a line typed on the master is read whole from the slave.
func TestPTY(t *testing.T) {
	master, slave := PTY(t)
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	if _, err := master.WriteContext(ctx, []byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, err := slave.ReadContext(ctx, buf)
	if err != nil || string(buf[:n]) != "hi\n" {
		t.Errorf("slave read %q, %v; want \"hi\\n\"", buf[:n], err)
	}
}
