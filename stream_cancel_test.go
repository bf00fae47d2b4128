//go:build linux

package fdstream_test

// This file specifies what a cancelled or timed-out call leaves behind: nothing consumed.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"
)

// Guarantee 3: a cancelled or timed-out read consumes nothing; the Stream
// stays usable, and a byte written afterwards is read by the next call.
func TestStreamReadContextCanceledDuring(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			watch := watchBlocks(t)
			r, w := tr.make(t)
			for i := 0; i < 3; i++ {
				ctx, cancel := context.WithCancel(context.Background())
				errc := async(func() error {
					_, err := r.ReadContext(ctx, make([]byte, 10))
					return err
				})
				watch.await(t, r, i+1)
				cancel()
				if err := recvErr(t, errc); !errors.Is(err, context.Canceled) {
					t.Fatalf("cancelled read = %v, want context.Canceled", err)
				}
				msg := fmt.Sprintf("after-%d", i)
				if _, err := w.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				if got := readN(t, r, len(msg)); string(got) != msg {
					t.Fatalf("next read = %q, want %q", got, msg)
				}
			}
		})
	}
}

// Guarantee 3 for deadlines: a timed-out read consumes nothing either.
func TestStreamReadDeadlineConsumesNothing(t *testing.T) {
	r, w := mustPipe(t)
	r.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := r.Read(make([]byte, 4)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want os.ErrDeadlineExceeded", err)
	}
	r.SetReadDeadline(time.Time{})
	w.Write([]byte("late"))
	if got := readN(t, r, 4); string(got) != "late" {
		t.Fatalf("read %q, want \"late\"", got)
	}
}
