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
// If src is a ContextReader (a Stream) and dst a ContextWriter, a blocked
// read or write returns as soon as ctx is done; for plain io.Readers and
// io.Writers Copy checks ctx between calls and cannot interrupt one that
// blocks. The error is then the one the ctx-aware call returned (it
// satisfies errors.Is(err, ctx.Err())), or ctx.Err() itself. Bytes Copy
// has read but not yet written when ctx ends are not written. A nil ctx
// returns ErrNilContext itself; a nil dst or src an error wrapping
// os.ErrInvalid.
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
	cr, _ := src.(ContextReader)
	cw, _ := dst.(ContextWriter)
	buf := make([]byte, 32*1024)
	var written int64
	for {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		var nr int
		var rerr error
		if cr != nil {
			nr, rerr = cr.ReadContext(ctx, buf)
		} else {
			nr, rerr = src.Read(buf)
		}
		if nr > 0 {
			var nw int
			var werr error
			if cw != nil {
				nw, werr = cw.WriteContext(ctx, buf[:nr])
			} else {
				nw, werr = dst.Write(buf[:nr])
				if nw < 0 || nw > nr {
					nw, werr = 0, errInvalidWrite
				}
			}
			written += int64(nw)
			if werr != nil {
				return written, werr
			}
			if nw != nr {
				return written, io.ErrShortWrite
			}
		}
		if rerr == io.EOF {
			return written, nil
		}
		if rerr != nil {
			return written, rerr
		}
	}
}

var (
	errInvalidWrite = errors.New("fdstream: invalid write result")
	errNilReader    = fmt.Errorf("fdstream: nil reader: %w", os.ErrInvalid)
	errNilWriter    = fmt.Errorf("fdstream: nil writer: %w", os.ErrInvalid)
)
