package main

import (
	"context"
	"os"

	ctxio "github.com/jbenet/go-context/io"
)

func init() { register(40, ctxioContender{}) }

// ctxioContender is github.com/jbenet/go-context/io over os.Pipe: every
// call runs the plain Read or Write in a new goroutine and selects on its
// result and ctx.Done(). A cancelled call returns at once, but its
// goroutine stays blocked and later consumes bytes nobody receives.
type ctxioContender struct{}

func (ctxioContender) Name() string { return "ctxio" }

func (ctxioContender) About() string {
	return "github.com/jbenet/go-context/io over os.Pipe: a goroutine (and a buffer copy) per call"
}

func (ctxioContender) NewPipe() (Reader, Writer, func(), error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	return ctxioFile{r}, ctxioFile{w}, func() { w.Close(); r.Close() }, nil
}

// ctxioFile wraps each call in ctxio.NewReader or ctxio.NewWriter, which is
// how the package is meant to be used with a ctx per call.
type ctxioFile struct{ f *os.File }

func (c ctxioFile) ReadContext(ctx context.Context, p []byte) (int, error) {
	return ctxio.NewReader(ctx, c.f).Read(p)
}

func (c ctxioFile) WriteContext(ctx context.Context, p []byte) (int, error) {
	return ctxio.NewWriter(ctx, c.f).Write(p)
}
