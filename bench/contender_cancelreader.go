package main

import (
	"context"
	"errors"
	"os"

	"github.com/muesli/cancelreader"
)

func init() { register(50, cancelreaderContender{}) }

// cancelreaderContender is github.com/muesli/cancelreader on the read end
// of an os.Pipe; writes are plain (*os.File).Write, ctx unused. A
// CancelReader calls the file's Fd (which puts it in blocking mode) and
// blocks its thread in epoll_wait on the fd and a cancel pipe. Cancel is
// one-shot, so the adapter keeps one CancelReader while no call is
// cancelled; after a cancellation, the next call replaces it with a new
// one (an epoll fd and a pipe), so the cancelled call itself returns
// without that cost.
type cancelreaderContender struct{}

func (cancelreaderContender) Name() string { return "cancelreader" }

func (cancelreaderContender) About() string {
	return "github.com/muesli/cancelreader (read side; writes are plain os.File writes): a thread blocked in epoll_wait per blocked read; ctx → Cancel by context.AfterFunc"
}

func (cancelreaderContender) NewPipe() (Reader, Writer, func(), error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	cr, err := cancelreader.NewReader(r)
	if err != nil {
		r.Close()
		w.Close()
		return nil, nil, nil, err
	}
	a := &cancelReader{f: r, cr: cr, fired: make(chan struct{}, 1)}
	a.cancel = a.cancelNow
	closeAll := func() {
		w.Close()
		if a.cr != nil {
			a.cr.Close()
		}
		r.Close()
	}
	return a, plainWriter{w}, closeAll, nil
}

// cancelReader adapts a one-shot CancelReader to a ctx per call. It serves
// one reader at a time.
type cancelReader struct {
	f      *os.File
	cr     cancelreader.CancelReader
	spent  bool          // cr was cancelled: replace it before the next read
	fired  chan struct{} // cancelNow has cancelled cr
	cancel func()        // cancelNow, bound once
}

func (a *cancelReader) cancelNow() {
	a.cr.Cancel()
	a.fired <- struct{}{}
}

// errNoCancelReader is returned after a CancelReader could not be remade.
var errNoCancelReader = errors.New("cancelreader: could not make a new CancelReader after a cancellation")

func (a *cancelReader) ReadContext(ctx context.Context, p []byte) (int, error) {
	if a.spent {
		a.spent = false
		a.cr.Close()
		var err error
		if a.cr, err = cancelreader.NewReader(a.f); err != nil {
			a.cr = nil
			return 0, err
		}
	}
	if a.cr == nil {
		return 0, errNoCancelReader
	}
	if ctx.Done() == nil {
		return a.cr.Read(p)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	stop := context.AfterFunc(ctx, a.cancel)
	n, err := a.cr.Read(p)
	if !stop() {
		// cr is cancelled for good; the next call replaces it.
		<-a.fired
		a.spent = true
		if errors.Is(err, cancelreader.ErrCanceled) {
			err = ctx.Err()
		}
	}
	return n, err
}

// plainWriter writes to an *os.File and ignores ctx.
type plainWriter struct{ f *os.File }

func (w plainWriter) WriteContext(_ context.Context, p []byte) (int, error) { return w.f.Write(p) }
