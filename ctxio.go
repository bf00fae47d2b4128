package fdstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// ContextReader is the method set of a reader whose calls take a ctx, as
// (*Stream).ReadContext.
type ContextReader interface {
	ReadContext(ctx context.Context, p []byte) (n int, err error)
}

// ContextWriter is the method set of a writer whose calls take a ctx, as
// (*Stream).WriteContext.
type ContextWriter interface {
	WriteContext(ctx context.Context, p []byte) (n int, err error)
}

// ContextReadWriter groups ContextReader and ContextWriter.
type ContextReadWriter interface {
	ContextReader
	ContextWriter
}

// NewReader returns an io.Reader whose Read calls r.ReadContext(ctx, p), so
// that a Stream bound to ctx can feed bufio, encoding/json or io.Copy. Once
// ctx is done every Read fails with an error wrapping ctx.Err(); nothing is
// consumed by a Read that fails. If r is nil, every Read returns an error
// wrapping os.ErrInvalid.
func NewReader(ctx context.Context, r ContextReader) io.Reader {
	return &ctxReader{ctx, r}
}

// NewWriter returns an io.Writer whose Write calls w.WriteContext(ctx, p):
// it writes all of p, or returns the bytes that were written and an error
// wrapping ctx.Err() (or the Stream's own error). If w is nil, every
// Write returns an error wrapping os.ErrInvalid.
func NewWriter(ctx context.Context, w ContextWriter) io.Writer {
	return &ctxWriter{ctx, w}
}

type ctxReader struct {
	ctx context.Context
	r   ContextReader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if c.r == nil {
		return 0, errNilReader
	}
	return c.r.ReadContext(c.ctx, p)
}

type ctxWriter struct {
	ctx context.Context
	w   ContextWriter
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if c.w == nil {
		return 0, errNilWriter
	}
	return c.w.WriteContext(c.ctx, p)
}

// Copy copies from src to dst until src reports io.EOF, an error occurs,
// or ctx is done, and returns the number of bytes written to dst. A
// successful Copy returns a nil error, not io.EOF.
//
// If dst is a *Stream, Copy is dst.ReadFromContext(ctx, src); otherwise,
// if src is a *Stream, src.WriteToContext(ctx, dst). Between two Streams
// on Linux that makes it splice(2), with ctx, both Streams' deadlines and
// a Close of either one ending it at once (see ReadFromContext).
// Otherwise it is a buffered loop: ContextReaders and ContextWriters are
// called with ctx, so a blocked call returns as soon as ctx is done;
// plain io.Readers and io.Writers are called as they are, ctx checked
// between calls, and a call that blocks cannot be interrupted.
//
// Copy loses nothing: bytes it read from src but could not write to dst
// come back in a *CopyError, and n counts exactly the bytes dst took. The
// error of a call cut short by ctx satisfies errors.Is(err, ctx.Err()); it
// is the error the ctx-aware call returned, or ctx.Err() itself. A nil
// ctx returns ErrNilContext itself; a nil dst or src an error wrapping
// os.ErrInvalid. Copy starts no goroutine.
func Copy(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	if ctx == nil {
		return 0, ErrNilContext
	}
	if src == nil {
		return 0, errNilReader
	}
	if dst == nil {
		return 0, errNilWriter
	}
	if d, ok := dst.(*Stream); ok {
		return d.ReadFromContext(ctx, src)
	}
	if s, ok := src.(*Stream); ok {
		return s.WriteToContext(ctx, dst)
	}
	return copyLoop(ctx, dst, src)
}

var (
	errInvalidWrite = errors.New("fdstream: invalid write result")
	errNilReader    = fmt.Errorf("fdstream: nil reader: %w", os.ErrInvalid)
	errNilWriter    = fmt.Errorf("fdstream: nil writer: %w", os.ErrInvalid)
)
