package ctxiotest_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/ctxiotest"
)

// fileEnd is one end of an os.Pipe with a ctx put on its blocking calls
// the careful way: a context.AfterFunc that sets a deadline in the past
// wakes a call when its ctx is done, with no goroutine per call. A mutex
// per end keeps one call at a time, so that one call's ctx never ends
// another's, and concurrent writes are never interleaved.
type fileEnd struct {
	mu sync.Mutex
	f  *os.File
}

// aLongTimeAgo is a deadline in the past: setting it wakes a blocked call.
var aLongTimeAgo = time.Unix(1, 0)

func (e *fileEnd) ReadContext(ctx context.Context, p []byte) (int, error) {
	return e.do(ctx, e.f.Read, e.f.SetReadDeadline, p)
}

func (e *fileEnd) WriteContext(ctx context.Context, p []byte) (int, error) {
	return e.do(ctx, e.f.Write, e.f.SetWriteDeadline, p)
}

// Close closes the file; it does not wait for the mutex, so it unblocks
// a call in progress.
func (e *fileEnd) Close() error { return e.f.Close() }

func (e *fileEnd) do(ctx context.Context, call func([]byte) (int, error), setDeadline func(time.Time) error, p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, err // done at entry: no I/O
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		setDeadline(aLongTimeAgo)
		close(fired)
	})
	n, err := call(p)
	if !stop() {
		// The callback ran, or is running: wait for it, then take its
		// deadline away so that it cannot end the next call.
		<-fired
		setDeadline(time.Time{})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = ctx.Err()
		}
	}
	return n, err
}

// newFilePipe is the MakePipe of fileEnd.
func newFilePipe() (fdstream.ContextReader, fdstream.ContextWriter, func(), error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	return &fileEnd{f: r}, &fileEnd{f: w}, func() { r.Close(); w.Close() }, nil
}

// A user checks their own ctx-aware type, here a bridge from ctx to an
// *os.File's deadlines, with TestPipe from a test of their package.
func ExampleTestPipe() {
	testFilePipe := func(t *testing.T) {
		ctxiotest.TestPipe(t, newFilePipe)
	}
	_ = testFilePipe // in a _test.go file: func TestFilePipe(t *testing.T) { ... }
}
