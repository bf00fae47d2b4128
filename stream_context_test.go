//go:build linux

package fdstream_test

// This file specifies how a ctx and the deadlines bound a call, and compose.

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/fdstream/fdstream/internal/fdtest"
)

// Guarantee 2: a ctx already done at entry returns at once, without I/O.
func TestStreamContextDoneAtEntry(t *testing.T) {
	r, w := mustPipe(t)
	if _, err := w.Write([]byte("keep")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n, err := r.ReadContext(ctx, make([]byte, 10))
	if n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadContext(done ctx) = %d, %v; want 0, context.Canceled", n, err)
	}
	if p := pending(t, r); p != 4 {
		t.Fatalf("a read with a done ctx consumed bytes: %d left, want 4", p)
	}
	n, err = w.WriteContext(ctx, []byte("more"))
	if n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteContext(done ctx) = %d, %v; want 0, context.Canceled", n, err)
	}
	if p := pending(t, r); p != 4 {
		t.Fatalf("a write with a done ctx wrote: %d pending, want 4", p)
	}
}

// Guarantee 2: ctx and the read deadline compose; the earlier wins, and a
// ctx deadline never changes the deadline SetReadDeadline set.
func TestStreamContextAndDeadlineCompose(t *testing.T) {
	r, _ := mustPipe(t)
	buf := make([]byte, 1)

	// The ctx is earlier: its error comes back.
	if err := r.SetReadDeadline(time.Now().Add(fdtest.Hang)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	_, err := r.ReadContext(ctx, buf)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ctx earlier: err = %v, want context.DeadlineExceeded only", err)
	}

	// The deadline is earlier: os.ErrDeadlineExceeded comes back, even
	// though a ctx with a later deadline was given.
	if err := r.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), fdtest.Hang)
	_, err = r.ReadContext(ctx, buf)
	cancel()
	if !errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline earlier: err = %v, want os.ErrDeadlineExceeded only", err)
	}

	// The ctx deadline did not touch the Stream's deadline: it has passed
	// and stays passed for a call with no ctx deadline...
	_, err = r.Read(buf)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read after passed deadline = %v, want os.ErrDeadlineExceeded", err)
	}
	// ...and clearing it makes reads wait again (here: for a ctx).
	if err := r.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err = r.ReadContext(ctx, buf); !errors.Is(err, context.Canceled) {
		t.Fatalf("after clearing the deadline: %v, want context.Canceled", err)
	}
}

// Guarantee 2 (net.Conn's rule): a deadline set while a call is blocked
// applies to that call; so does moving it later, then earlier.
func TestStreamDeadlineChangedWhileBlocked(t *testing.T) {
	watch := watchBlocks(t)
	r, w := mustPipe(t)
	w.SetWriteDeadline(time.Time{})
	errc := async(func() error {
		_, err := r.Read(make([]byte, 1))
		return err
	})
	watch.await(t, r, 1)
	r.SetReadDeadline(time.Now().Add(time.Hour))
	// A later deadline does not end the call (on the shard loops the
	// call re-reads it and blocks again; on the runtime poller the
	// runtime re-arms its timer). The check cannot prove the call stays
	// blocked forever, only that it has not returned yet.
	select {
	case err := <-errc:
		t.Fatalf("read returned %v after the deadline moved an hour later", err)
	default:
	}
	r.SetReadDeadline(time.Now().Add(-time.Second))
	if err := recvErr(t, errc); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("err = %v, want os.ErrDeadlineExceeded", err)
	}
}
