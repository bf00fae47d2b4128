package main

import (
	"context"
	"errors"
	"os"
	"time"
)

func init() { register(0, osFileContender{}) }

// osFileContender is *os.File from os.Pipe on the Go runtime's poller, the
// ctx bridged onto deadlines: the reference every ratio is taken against.
type osFileContender struct{}

func (osFileContender) Name() string { return referenceName }

func (osFileContender) About() string {
	return "os.Pipe on the Go runtime poller; ctx bridged by context.AfterFunc + Set{Read,Write}Deadline (the reference)"
}

func (osFileContender) NewPipe() (Reader, Writer, func(), error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	return newCtxFile(r, true), newCtxFile(w, false), func() { w.Close(); r.Close() }, nil
}

// aLongTimeAgo is a deadline in the past: setting it wakes a blocked call
// at once with os.ErrDeadlineExceeded (as net/http does).
var aLongTimeAgo = time.Unix(1, 0)

// ctxFile bridges a ctx onto an *os.File as a careful user would. The
// bridge costs nothing when ctx can never be done (plain Read/Write), and
// otherwise starts no goroutine of its own: context.AfterFunc runs expire
// only if ctx is done during the call. It serves one reader or one writer
// at a time, as in the benchmarks.
type ctxFile struct {
	f     *os.File
	read  bool
	fired chan struct{} // expire has set the deadline
	// expire is the bound method value, made once so that a call does
	// not allocate a closure.
	expire func()
}

func newCtxFile(f *os.File, read bool) *ctxFile {
	c := &ctxFile{f: f, read: read, fired: make(chan struct{}, 1)}
	c.expire = c.expireNow
	return c
}

// expireNow sets the direction's deadline in the past, waking the call.
func (c *ctxFile) expireNow() {
	c.setDeadline(aLongTimeAgo)
	c.fired <- struct{}{}
}

func (c *ctxFile) setDeadline(t time.Time) {
	if c.read {
		c.f.SetReadDeadline(t)
	} else {
		c.f.SetWriteDeadline(t)
	}
}

// ReadContext reads from the file, returning early with ctx.Err() if ctx
// is done first.
func (c *ctxFile) ReadContext(ctx context.Context, p []byte) (int, error) {
	return c.do(ctx, p, c.f.Read)
}

// WriteContext writes to the file, returning early with ctx.Err() (and the
// count written) if ctx is done first.
func (c *ctxFile) WriteContext(ctx context.Context, p []byte) (int, error) {
	return c.do(ctx, p, c.f.Write)
}

func (c *ctxFile) do(ctx context.Context, p []byte, op func([]byte) (int, error)) (int, error) {
	if ctx.Done() == nil {
		return op(p)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	stop := context.AfterFunc(ctx, c.expire)
	n, err := op(p)
	if !stop() {
		// expire ran or is running: wait until it has set the deadline,
		// then clear it, so that it cannot poison the next call.
		<-c.fired
		c.setDeadline(time.Time{})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = ctx.Err()
		}
	}
	return n, err
}
