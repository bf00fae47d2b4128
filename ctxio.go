package fdstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// ContextReader is the method set of a reader whose calls take a ctx, as
// (*Stream).ReadContext.
//
// Two kinds of error say "out of time", and both are timeouts: a ctx that
// ran out wraps context.DeadlineExceeded, and a deadline (SetReadDeadline,
// or a TimeoutReader's per-read limit) wraps os.ErrDeadlineExceeded. For
// either, os.IsTimeout(err) is true, and errors.As(err, &ne) finds a
// net.Error whose Timeout() is true. To tell them apart, test the ctx:
// errors.Is(err, ctx.Err()) holds only when ctx itself is done.
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
// that a Stream bound to ctx can feed bufio, encoding/json or io.Copy. ctx
// bounds the reader's whole life: once it is done every Read fails with an
// error wrapping ctx.Err(), for good. For a limit on each Read ("fail a
// read that sees no byte for d") use NewTimeoutReader. Nothing is consumed
// by a Read that fails. If r is nil, every Read returns an error wrapping
// os.ErrInvalid.
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

// TimeoutReader is an io.Reader over a ContextReader that limits each Read,
// for the serial and pty protocols that want "fail a read that sees no
// byte for d" (pyserial's timeout, go.bug.st/serial's SetReadTimeout) and,
// made by NewInterByteReader, "return what has arrived once the line goes
// quiet for gap" (pyserial's inter_byte_timeout, termios' VTIME). Where
// NewReader's ctx ends the reader for good, a TimeoutReader's timeout ends
// one Read: the next Read waits afresh. The parent ctx still ends
// everything.
//
// # Errors
//
// A Read that saw no byte within its timeout returns 0 and an error for
// which errors.Is(err, os.ErrDeadlineExceeded) and os.IsTimeout(err)
// hold and errors.As finds a net.Error with Timeout() true; on a Stream it
// is the Stream's own *os.PathError, on an adapters.Conn its
// *net.OpError. It never wraps context.DeadlineExceeded, so one Read's
// timeout is told apart from the parent ctx's end: once the parent ctx is
// done, every Read fails with an error for which errors.Is(err,
// ctx.Err()) holds. Other errors (io.EOF, os.ErrClosed, an errno) are
// r's, unchanged.
//
// # Nothing is lost
//
// A Read that times out has consumed nothing (r must keep the promise
// Stream and adapters.Conn make: a call that fails consumes nothing), and
// the next Read returns what arrives next. Whether the reader on top
// carries on after the error is its own affair:
//
//   - bufio.Reader retries: its next call reads again. ReadString, ReadBytes
//     and ReadSlice, though, return the part of a line they had together
//     with the error, and drop it from the buffer; keep that part, or read
//     lines with ReadLine, which leaves it in the buffer.
//   - json.Decoder keeps its first error and returns it from every later
//     Decode. What it had buffered, a partly received value included, is
//     in dec.Buffered(): carry on with
//     json.NewDecoder(io.MultiReader(dec.Buffered(), tr)), setting
//     UseNumber or DisallowUnknownFields again if they were set.
//   - bufio.Scanner keeps its first error, and on that error it hands out
//     what it had buffered, a partial line included, as a last token, as
//     at end of input. A scanner cannot carry on after a timeout without
//     cutting a line in two: use a bufio.Reader and ReadLine instead.
//
// Make one bufio.Reader for the life of the stream: one made per call
// drops whatever it buffered past what that call returned.
//
// # Cost
//
// When r has a SetReadDeadline(time.Time) error method, as Stream and
// adapters.Conn do, each Read sets r's read deadline to now plus the
// timeout and clears it (the zero time) before it returns, and no
// context is made. The TimeoutReader owns r's read deadline while it is
// used: a deadline you set on r is overwritten. Measured with
// testing.AllocsPerRun (TestTimeoutReaderAllocs; Go 1.22 and 1.26,
// Linux), a Read of a Stream that finds data ready allocates nothing; one
// that waits for data allocates nothing on the runtime poller (the
// default) and once on a shard loop (the Stream's waiters' channel, made
// afresh after each deadline change); one that times out at most twice
// (that channel and its error). A reader without SetReadDeadline
// gets a context.WithTimeout of the parent ctx for each wait instead: 4
// allocations for a Read that finds data ready, 5 for one that waits on a
// reactor's shard loop (the ctx's Done channel) and 10 on the runtime
// poller (the default: the Stream registers an AfterFunc for each new
// ctx that waits), 6 or 7 for one that times out on a shard loop and 10
// on the runtime poller. No goroutine is
// started, whichever way it waits (for a parent ctx from package context:
// context.WithTimeout starts one to watch a Context implemented
// elsewhere).
//
// A TimeoutReader is safe for concurrent use; its Reads are serialized.
// The methods of a nil *TimeoutReader return os.ErrInvalid.
type TimeoutReader struct {
	ctx     context.Context
	r       ContextReader
	dl      readDeadliner // r's SetReadDeadline, or nil
	timeout time.Duration // the wait for the first byte; 0: as long as ctx
	gap     time.Duration // after a byte, read on until quiet this long; 0: don't
	err     error         // bad arguments: every Read returns it

	mu    sync.Mutex // serializes Reads: they share r's read deadline
	armed bool       // r's read deadline is set and must be cleared
}

// readDeadliner and writeDeadliner are the deadline methods of Stream,
// adapters.Conn and net.Conn: with them a timeout needs no context.
type (
	readDeadliner  interface{ SetReadDeadline(time.Time) error }
	writeDeadliner interface{ SetWriteDeadline(time.Time) error }
)

// NewTimeoutReader returns a reader whose Read calls r.ReadContext with
// ctx and returns as soon as it has read at least one byte, as
// (*Stream).ReadContext does, but fails with a timeout (see TimeoutReader)
// if no byte arrives within timeout. The parent ctx bounds every Read;
// once it is done, every Read fails with an error wrapping ctx.Err().
//
// Bad arguments make every Read fail, consuming nothing: a nil ctx with
// ErrNilContext itself, a nil r or a timeout that is not positive with
// an error wrapping os.ErrInvalid that names the bad argument.
func NewTimeoutReader(ctx context.Context, r ContextReader, timeout time.Duration) *TimeoutReader {
	t := &TimeoutReader{ctx: ctx, r: r, timeout: timeout}
	t.err = checkContextArgs(ctx, r != nil, errNilReader)
	if t.err == nil && timeout <= 0 {
		t.err = errDuration("read timeout", timeout, "not positive")
	}
	t.dl, _ = r.(readDeadliner)
	return t
}

// NewInterByteReader returns a TimeoutReader with an inter-byte timeout,
// for protocols that end a message with silence (Modbus RTU, many
// instruments): a Read waits for the first byte as NewTimeoutReader's
// does, up to timeout (0: for as long as ctx allows), and then goes on
// reading into p until p is full or no new byte has arrived for gap. It
// returns what it read with a nil error when the line goes quiet, and n
// > 0 with the error when something else ends it after bytes arrived
// (io.EOF, the parent ctx, Close): handle the n bytes first, as io.Reader
// says. A timeout before the first byte is an error, as in
// NewTimeoutReader; a quiet gap after it never is.
//
// The gap is measured from the end of each read of r, so bytes that
// arrive faster than gap keep the Read going until p is full: size p to
// the longest message. Bad arguments fail every Read as in
// NewTimeoutReader; here a negative timeout or a gap that is not positive
// is the bad one.
func NewInterByteReader(ctx context.Context, r ContextReader, timeout, gap time.Duration) *TimeoutReader {
	t := &TimeoutReader{ctx: ctx, r: r, timeout: timeout, gap: gap}
	t.err = checkContextArgs(ctx, r != nil, errNilReader)
	switch {
	case t.err != nil:
	case timeout < 0:
		t.err = errDuration("read timeout", timeout, "negative")
	case gap <= 0:
		t.err = errDuration("inter-byte timeout", gap, "not positive")
	}
	t.dl, _ = r.(readDeadliner)
	return t
}

// Read reads up to len(p) bytes into p, as the TimeoutReader's doc and its
// constructor's say. It blocks until a byte arrives (and, with an
// inter-byte timeout, until the line goes quiet or p is full), the
// timeout passes, or the parent ctx is done. With len(p) == 0 it returns
// 0, nil at once.
func (t *TimeoutReader) Read(p []byte) (int, error) {
	if t == nil {
		return 0, os.ErrInvalid
	}
	if t.err != nil {
		return 0, t.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	defer t.disarm()
	n, timedOut, err := t.readWithin(p, t.timeout)
	if timedOut && n > 0 {
		err = nil // a reader that returned bytes with its timeout
	}
	if t.gap == 0 || err != nil || n == 0 {
		return n, err
	}
	for n < len(p) {
		m, quiet, err := t.readWithin(p[n:], t.gap)
		n += m
		if quiet {
			break
		}
		if err != nil {
			return n, err
		}
		if m == 0 {
			break // r returned 0, nil: do not spin on it
		}
	}
	return n, nil
}

// readWithin reads into p, giving up when no byte arrives for d (0: no
// limit but the parent ctx). timedOut reports that it gave up for d; err
// is then the timeout error.
func (t *TimeoutReader) readWithin(p []byte, d time.Duration) (n int, timedOut bool, err error) {
	if t.dl != nil {
		var when time.Time
		if d > 0 {
			when = time.Now().Add(d)
		}
		if t.dl.SetReadDeadline(when) == nil {
			t.armed = !when.IsZero()
			n, err = t.r.ReadContext(t.ctx, p)
			return n, err != nil && d > 0 && errors.Is(err, os.ErrDeadlineExceeded), err
		}
		// r refused the deadline (an *os.File on a regular file, say):
		// use a ctx for this wait.
	}
	if d == 0 {
		n, err = t.r.ReadContext(t.ctx, p)
		return n, false, err
	}
	ctx, cancel := context.WithTimeout(t.ctx, d)
	n, err = t.r.ReadContext(ctx, p)
	if err != nil && isOwnTimeout(t.ctx, ctx, err) {
		err, timedOut = &timeoutError{op: "read", what: "no byte", d: d}, true
	}
	cancel()
	return n, timedOut, err
}

// disarm clears the read deadline readWithin left on r.
func (t *TimeoutReader) disarm() {
	if t.armed {
		t.dl.SetReadDeadline(time.Time{})
		t.armed = false
	}
}

// TimeoutWriter is an io.Writer over a ContextWriter that limits each
// Write: a Write that has not written all of p within the timeout returns
// what it wrote and a timeout error, with the same properties as a
// TimeoutReader's (os.ErrDeadlineExceeded, os.IsTimeout, never
// context.DeadlineExceeded). The limit covers the whole Write, as
// pyserial's write_timeout does, so give a large write over a slow line a
// timeout it can meet. The parent ctx bounds every Write; once it is done
// every Write fails with an error wrapping ctx.Err().
//
// It waits as a TimeoutReader does: with w's SetWriteDeadline, which it
// owns while it is used (setting it before each Write and clearing it
// after), when w has one; with a context.WithTimeout per Write otherwise.
// A TimeoutWriter is safe for concurrent use; its Writes are serialized.
// The methods of a nil *TimeoutWriter return os.ErrInvalid.
type TimeoutWriter struct {
	ctx     context.Context
	w       ContextWriter
	dl      writeDeadliner
	timeout time.Duration
	err     error
	mu      sync.Mutex
}

// NewTimeoutWriter returns a writer whose Write calls w.WriteContext with
// ctx and fails with a timeout if it has not written all of p within
// timeout. Bad arguments make every Write fail, writing nothing: a nil ctx
// with ErrNilContext itself, a nil w or a timeout that is not positive
// with an error wrapping os.ErrInvalid that names the bad argument.
func NewTimeoutWriter(ctx context.Context, w ContextWriter, timeout time.Duration) *TimeoutWriter {
	t := &TimeoutWriter{ctx: ctx, w: w, timeout: timeout}
	t.err = checkContextArgs(ctx, w != nil, errNilWriter)
	if t.err == nil && timeout <= 0 {
		t.err = errDuration("write timeout", timeout, "not positive")
	}
	t.dl, _ = w.(writeDeadliner)
	return t
}

// Write writes all of p. It blocks until every byte is written, the
// timeout passes, or the parent ctx is done, and returns n == len(p) with a
// nil error, or n < len(p), the bytes that were written, with the error.
func (t *TimeoutWriter) Write(p []byte) (int, error) {
	if t == nil {
		return 0, os.ErrInvalid
	}
	if t.err != nil {
		return 0, t.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var n int
	var err error
	if t.dl != nil && t.dl.SetWriteDeadline(time.Now().Add(t.timeout)) == nil {
		n, err = t.w.WriteContext(t.ctx, p)
		t.dl.SetWriteDeadline(time.Time{})
	} else {
		ctx, cancel := context.WithTimeout(t.ctx, t.timeout)
		n, err = t.w.WriteContext(ctx, p)
		if err != nil && isOwnTimeout(t.ctx, ctx, err) {
			err = &timeoutError{op: "write", what: "not all written", d: t.timeout}
		}
		cancel()
	}
	switch {
	case n < 0 || n > len(p):
		return 0, errInvalidWrite
	case err == nil && n < len(p):
		return n, io.ErrShortWrite
	}
	return n, err
}

// isOwnTimeout reports whether err, returned by a call given ctx, a
// context.WithTimeout of parent, ended because ctx's own timer fired and
// not because parent is done.
func isOwnTimeout(parent, ctx context.Context, err error) bool {
	return parent.Err() == nil && ctx.Err() == context.DeadlineExceeded &&
		errors.Is(err, context.DeadlineExceeded)
}

// timeoutError is a TimeoutReader's or TimeoutWriter's timeout when the
// wait ran on a context.WithTimeout: it wraps os.ErrDeadlineExceeded, not
// the ctx's context.DeadlineExceeded, so that it is never taken for the
// parent ctx's end.
type timeoutError struct {
	op, what string
	d        time.Duration
}

func (e *timeoutError) Error() string {
	return "fdstream: " + e.op + ": " + e.what + " within " + e.d.String() + ": " + os.ErrDeadlineExceeded.Error()
}

func (e *timeoutError) Unwrap() error   { return os.ErrDeadlineExceeded }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

// ReadLine reads from br through the first delim and returns a copy of the
// bytes, delim included, as br.ReadBytes(delim) does, but a call that
// fails consumes nothing. ReadBytes returns the part of a line it had
// together with its error and drops it from br; ReadLine leaves it in br,
// so that after a timeout the next call returns the whole line. It blocks
// as long as br's Read does.
//
// At end of stream a last line without delim is returned with io.EOF, as
// ReadBytes returns it. A line that does not fit in br's buffer cannot be
// held back: ReadLine then returns nil and bufio.ErrBufferFull, consuming
// nothing (make br with bufio.NewReaderSize, or read that line with
// ReadBytes). A nil br returns an error wrapping os.ErrInvalid. Like br,
// ReadLine is not safe for concurrent use.
func ReadLine(br *bufio.Reader, delim byte) ([]byte, error) {
	if br == nil {
		return nil, errNilReader
	}
	for searched := 0; ; {
		n := br.Buffered()
		buf, _ := br.Peek(n) // what is buffered: no read, no error
		if i := bytes.IndexByte(buf[searched:], delim); i >= 0 {
			return takeBuffered(br, searched+i+1), nil
		}
		searched = n
		if n >= br.Size() {
			return nil, bufio.ErrBufferFull
		}
		// Peek one byte more than is buffered: one read of br's reader,
		// and on error nothing consumed. (Bytes that a read returns
		// together with an error make the Peek succeed; br keeps the
		// error for its next read.)
		buf, err := br.Peek(n + 1)
		switch {
		case err == nil:
			continue
		case err == io.EOF && len(buf) > 0:
			return takeBuffered(br, len(buf)), io.EOF
		}
		return nil, err
	}
}

// takeBuffered copies out and consumes the next n buffered bytes of br.
func takeBuffered(br *bufio.Reader, n int) []byte {
	buf, _ := br.Peek(n)
	line := append([]byte(nil), buf...)
	br.Discard(n)
	return line
}

// checkContextArgs returns the error for a nil ctx or a missing reader or
// writer (ok false), or nil.
func checkContextArgs(ctx context.Context, ok bool, errMissing error) error {
	if ctx == nil {
		return ErrNilContext
	}
	if !ok {
		return errMissing
	}
	return nil
}

func errDuration(what string, d time.Duration, why string) error {
	return fmt.Errorf("fdstream: %s %v is %s: %w", what, d, why, os.ErrInvalid)
}
