//go:build linux

package fdstream_test

// This file specifies the errors a Stream returns: their types, ops and names.

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"github.com/fdstream/fdstream"
)

// Guarantee 5: errors are *os.PathError naming the op and the Stream, and
// wrap the std sentinels callers match on.
func TestStreamErrors(t *testing.T) {
	r, w := mustPipe(t)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	closedR, closedW := mustPipe(t)
	closedR.Close()
	closedW.Close()

	tests := []struct {
		name    string
		call    func() error
		op      string
		path    string
		is      error
		timeout bool
		text    string
	}{
		{"read canceled", func() error { _, err := r.ReadContext(canceled, make([]byte, 1)); return err },
			"read", "|0", context.Canceled, false, "read |0: context canceled"},
		{"read ctx deadline", func() error { _, err := r.ReadContext(expired, make([]byte, 1)); return err },
			"read", "|0", context.DeadlineExceeded, true, "read |0: context deadline exceeded"},
		{"write canceled", func() error { _, err := w.WriteContext(canceled, []byte("x")); return err },
			"write", "|1", context.Canceled, false, "write |1: context canceled"},
		{"read deadline", func() error {
			r.SetReadDeadline(time.Now().Add(-time.Second))
			defer r.SetReadDeadline(time.Time{})
			_, err := r.Read(make([]byte, 1))
			return err
		}, "read", "|0", os.ErrDeadlineExceeded, true, "read |0: i/o timeout"},
		{"write deadline", func() error {
			w.SetWriteDeadline(time.Now().Add(-time.Second))
			defer w.SetWriteDeadline(time.Time{})
			_, err := w.Write([]byte("x"))
			return err
		}, "write", "|1", os.ErrDeadlineExceeded, true, "write |1: i/o timeout"},
		{"read closed", func() error { _, err := closedR.Read(make([]byte, 1)); return err },
			"read", "|0", os.ErrClosed, false, "read |0: file already closed"},
		{"write closed", func() error { _, err := closedW.Write([]byte("x")); return err },
			"write", "|1", os.ErrClosed, false, "write |1: file already closed"},
		{"close twice", func() error { return closedR.Close() },
			"close", "|0", os.ErrClosed, false, "close |0: file already closed"},
		{"nil ctx write", func() error {
			//lint:ignore SA1012 a nil ctx is the bad input under test
			_, err := w.WriteContext(nil, []byte("x")) //nolint:staticcheck
			return err
		}, "write", "|1", fdstream.ErrNilContext, false, "write |1: fdstream: nil Context"},
		{"nil ctx", func() error {
			//lint:ignore SA1012 a nil ctx is the bad input under test
			_, err := r.ReadContext(nil, make([]byte, 1)) //nolint:staticcheck
			return err
		}, "read", "|0", fdstream.ErrNilContext, false, "read |0: fdstream: nil Context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var pe *os.PathError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %T %v, want *os.PathError", err, err)
			}
			if pe.Op != tt.op || pe.Path != tt.path {
				t.Errorf("Op, Path = %q, %q; want %q, %q", pe.Op, pe.Path, tt.op, tt.path)
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
			if got := isTimeout(err); got != tt.timeout {
				t.Errorf("Timeout() = %v, want %v", got, tt.timeout)
			}
			if err.Error() != tt.text {
				t.Errorf("Error() = %q, want %q", err.Error(), tt.text)
			}
		})
	}
	// os.ErrDeadlineExceeded is a net.Error, as callers of net.Conn expect.
	r.SetReadDeadline(time.Now().Add(-time.Second))
	_, err := r.Read(make([]byte, 1))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("deadline error %v is not a net.Error with Timeout()", err)
	}
}
