package fdstream_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"go.uber.org/goleak"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
	"github.com/fdstream/fdstream/internal/fdtest"
)

var (
	_ fdstream.ContextReadWriter = (*fdstream.Stream)(nil)
	_ io.ReadWriteCloser         = (*fdstream.Stream)(nil)
)

// NewReader binds a ctx: once it is done, Read fails with its error and
// consumes nothing.
func TestNewReaderBindsContext(t *testing.T) {
	r, w := mustPipe(t)
	ctx, cancel := context.WithCancel(context.Background())
	rd := fdstream.NewReader(ctx, r)
	w.Write([]byte("ab"))
	b := make([]byte, 1)
	if n, err := rd.Read(b); n != 1 || err != nil || b[0] != 'a' {
		t.Fatalf("Read = %d %q %v", n, b, err)
	}
	cancel()
	if _, err := rd.Read(b); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after cancel = %v, want context.Canceled", err)
	}
	if got := readN(t, r, 1); string(got) != "b" {
		t.Fatalf("the cancelled Read consumed a byte: next is %q", got)
	}
}

func TestNewWriterBindsContext(t *testing.T) {
	r, w := mustPipe(t)
	ctx, cancel := context.WithCancel(context.Background())
	wr := fdstream.NewWriter(ctx, w)
	if _, err := io.WriteString(wr, "xyz"); err != nil {
		t.Fatal(err)
	}
	if got := readN(t, r, 3); string(got) != "xyz" {
		t.Fatalf("read %q", got)
	}
	cancel()
	if n, err := wr.Write([]byte("no")); n != 0 || !errors.Is(err, context.Canceled) {
		t.Fatalf("Write after cancel = %d, %v", n, err)
	}
}

// Copy between two Streams moves everything and returns nil at EOF.
func TestCopyStreams(t *testing.T) {
	srcR, srcW := mustPipe(t)
	dstR, dstW := mustPipe(t)
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	go func() {
		srcW.Write(data)
		srcW.Close()
	}()
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(dstR)
		got <- b
	}()
	n, err := fdstream.Copy(context.Background(), dstW, srcR)
	if n != int64(len(data)) || err != nil {
		t.Fatalf("Copy = %d, %v; want %d, nil", n, err, len(data))
	}
	dstW.Close()
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("copied %d bytes, content differs", len(b))
	}
}

// Copy stops promptly when ctx is done while it is blocked on a Stream,
// and reports what it wrote.
func TestCopyStopsWhenContextDone(t *testing.T) {
	watch := watchBlocks(t)
	r, w := mustPipe(t)
	w.Write([]byte("before"))
	var sb strings.Builder
	ctx, cancel := context.WithCancel(context.Background())
	type res struct {
		n   int64
		err error
	}
	done := make(chan res, 1)
	go func() {
		n, err := fdstream.Copy(ctx, &sb, r)
		done <- res{n, err}
	}()
	watch.await(t, r, 1)
	cancel()
	got := <-done
	if got.n != 6 || !errors.Is(got.err, context.Canceled) || sb.String() != "before" {
		t.Fatalf("Copy = %d, %v, %q; want 6, context.Canceled, \"before\"", got.n, got.err, sb.String())
	}
}

// Copy with plain io.Reader/io.Writer checks ctx between calls.
func TestCopyPlainReaders(t *testing.T) {
	var sb strings.Builder
	n, err := fdstream.Copy(context.Background(), &sb, iotest.OneByteReader(strings.NewReader("plain")))
	if n != 5 || err != nil || sb.String() != "plain" {
		t.Fatalf("Copy = %d, %v, %q", n, err, sb.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := fdstream.Copy(ctx, &sb, strings.NewReader("x")); err != context.Canceled {
		t.Fatalf("Copy(done ctx) = %v, want context.Canceled", err)
	}
	//lint:ignore SA1012 a nil ctx is the bad input under test
	if _, err := fdstream.Copy(nil, &sb, strings.NewReader("x")); !errors.Is(err, fdstream.ErrNilContext) { //nolint:staticcheck
		t.Fatalf("Copy(nil ctx) = %v, want ErrNilContext", err)
	}
}

// ctxOnly hides every method of a Stream but ReadContext and
// WriteContext: a TimeoutReader or TimeoutWriter over it cannot use
// deadlines and has to wait on a context.WithTimeout.
type ctxOnly struct{ s *fdstream.Stream }

func (c ctxOnly) ReadContext(ctx context.Context, p []byte) (int, error) {
	return c.s.ReadContext(ctx, p)
}

func (c ctxOnly) WriteContext(ctx context.Context, p []byte) (int, error) {
	return c.s.WriteContext(ctx, p)
}

// timeoutKind is one way a TimeoutReader or TimeoutWriter waits, with the
// pipe it reads or writes.
type timeoutKind struct {
	name string
	// pipe returns the ContextReadWriter under test, its peer, and the
	// Stream whose calls block (for blockWatch).
	pipe func(t *testing.T) (end fdstream.ContextReadWriter, peer io.ReadWriter, blocks *fdstream.Stream)
}

var timeoutKinds = []timeoutKind{
	{"Stream", func(t *testing.T) (fdstream.ContextReadWriter, io.ReadWriter, *fdstream.Stream) {
		r, w := mustPipe(t)
		w2r, w2 := mustPipe(t) // the peer reads what end writes
		return streamPair{r, w2}, streamPair{w2r, w}, r
	}},
	{"ContextReaderOnly", func(t *testing.T) (fdstream.ContextReadWriter, io.ReadWriter, *fdstream.Stream) {
		r, w := mustPipe(t)
		w2r, w2 := mustPipe(t)
		return ctxPair{ctxOnly{r}, ctxOnly{w2}}, streamPair{w2r, w}, r
	}},
	{"Conn", func(t *testing.T) (fdstream.ContextReadWriter, io.ReadWriter, *fdstream.Stream) {
		a, b, err := adapters.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close(); b.Close() })
		return a, b, nil
	}},
}

// streamPair reads from r and writes to w, with both Streams' deadlines.
type streamPair struct{ r, w *fdstream.Stream }

func (p streamPair) Read(b []byte) (int, error)  { return p.r.Read(b) }
func (p streamPair) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p streamPair) ReadContext(ctx context.Context, b []byte) (int, error) {
	return p.r.ReadContext(ctx, b)
}
func (p streamPair) WriteContext(ctx context.Context, b []byte) (int, error) {
	return p.w.WriteContext(ctx, b)
}
func (p streamPair) SetReadDeadline(t time.Time) error  { return p.r.SetReadDeadline(t) }
func (p streamPair) SetWriteDeadline(t time.Time) error { return p.w.SetWriteDeadline(t) }

// ctxPair is a ContextReadWriter without deadlines.
type ctxPair struct {
	fdstream.ContextReader
	fdstream.ContextWriter
}

// awaitBlocked waits until n calls blocked on s, or on any Stream when s
// is nil (inside a Conn).
func (w *blockWatch) awaitBlocked(t *testing.T, s *fdstream.Stream, n int) {
	t.Helper()
	if s == nil {
		w.awaitAny(t, n)
	} else {
		w.await(t, s, n)
	}
}

// wantReadTimeout checks that err is a per-read timeout as TimeoutReader
// documents it: os.ErrDeadlineExceeded, os.IsTimeout, a net.Error with
// Timeout(), and never context.DeadlineExceeded (the parent's end).
func wantReadTimeout(t *testing.T, what string, n int, err error) {
	t.Helper()
	var ne net.Error
	switch {
	case n != 0 || err == nil:
		t.Fatalf("%s = %d, %v; want 0 and a timeout", what, n, err)
	case !errors.Is(err, os.ErrDeadlineExceeded):
		t.Errorf("%s: %v does not wrap os.ErrDeadlineExceeded", what, err)
	case !os.IsTimeout(err):
		t.Errorf("%s: os.IsTimeout(%v) is false", what, err)
	case !errors.As(err, &ne) || !ne.Timeout():
		t.Errorf("%s: %v is no net.Error with Timeout()", what, err)
	case errors.Is(err, context.DeadlineExceeded):
		t.Errorf("%s: %v wraps context.DeadlineExceeded: it would pass for the parent ctx's end", what, err)
	}
}

func mustWriteString(t *testing.T, w io.Writer, s string) {
	t.Helper()
	if n, err := io.WriteString(w, s); n != len(s) || err != nil {
		t.Fatalf("write %q: %d, %v", s, n, err)
	}
}

// Per-read timeout: two bursts with a gap longer than the timeout. The
// first Read returns the first burst, the next times out after at least
// the timeout, and the one after returns the second burst whole.
func TestTimeoutReaderBurstGapBurst(t *testing.T) {
	const d = 30 * time.Millisecond
	for _, k := range timeoutKinds {
		t.Run(k.name, func(t *testing.T) {
			end, peer, _ := k.pipe(t)
			ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
			defer cancel()
			tr := fdstream.NewTimeoutReader(ctx, end, d)
			buf := make([]byte, 64)

			mustWriteString(t, peer, "first burst")
			if n, err := tr.Read(buf); string(buf[:n]) != "first burst" || err != nil {
				t.Fatalf("first Read = %q, %v", buf[:n], err)
			}
			start := time.Now()
			n, err := tr.Read(buf)
			if took := time.Since(start); took < d {
				t.Errorf("the Read timed out after %v, before its timeout of %v", took, d)
			}
			wantReadTimeout(t, "Read in the gap", n, err)
			if ctx.Err() != nil {
				t.Fatalf("parent ctx done: %v", ctx.Err())
			}
			mustWriteString(t, peer, "second burst")
			if n, err := tr.Read(buf); string(buf[:n]) != "second burst" || err != nil {
				t.Fatalf("Read after the timeout = %q, %v; want the second burst whole", buf[:n], err)
			}
			// Timing out again and again changes nothing.
			for i := 0; i < 3; i++ {
				n, err := tr.Read(buf)
				wantReadTimeout(t, "Read in a later gap", n, err)
			}
			mustWriteString(t, peer, "third")
			if n, err := tr.Read(buf); string(buf[:n]) != "third" || err != nil {
				t.Fatalf("Read after more timeouts = %q, %v", buf[:n], err)
			}
		})
	}
}

// The parent ctx ends everything: cancelled while a Read waits, the Read
// returns its error at once and consumes nothing; a parent deadline gives
// context.DeadlineExceeded, told apart from a per-read timeout. While a
// Read waits, the only goroutine is the caller's; none is left after.
func TestTimeoutReaderParentContextEndsIt(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) }) // runs after the pipes close
	for _, k := range timeoutKinds {
		t.Run(k.name, func(t *testing.T) {
			end, peer, blocks := k.pipe(t)
			watch := watchBlocks(t)
			buf := make([]byte, 8)

			// A warm-up wait, so that whatever a first wait starts
			// lazily is running before the count.
			warm, warmCancel := context.WithCancel(context.Background())
			warmCh := async(func() error { _, err := fdstream.NewTimeoutReader(warm, end, fdtest.Hang).Read(buf); return err })
			watch.awaitBlocked(t, blocks, 1)
			warmCancel()
			if err := recvErr(t, warmCh); !errors.Is(err, context.Canceled) {
				t.Fatalf("warm-up Read = %v", err)
			}

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tr := fdstream.NewTimeoutReader(ctx, end, fdtest.Hang)
			before := goleak.IgnoreCurrent()
			ch := async(func() error { _, err := tr.Read(buf); return err })
			watch.awaitBlocked(t, blocks, 2)
			// The goroutine calling Read (started by async) is the only
			// new one.
			if err := goleak.Find(before, goleak.IgnoreAnyFunction("github.com/fdstream/fdstream_test.async.func1")); err != nil {
				t.Errorf("goroutines started for a waiting Read: %v", err)
			}
			cancel()
			err := recvErr(t, ch)
			if !errors.Is(err, context.Canceled) || !errors.Is(err, ctx.Err()) {
				t.Fatalf("Read when the parent is cancelled = %v, want context.Canceled", err)
			}
			if os.IsTimeout(err) || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("a cancelled parent's error %v passes for a timeout", err)
			}
			if n, err := tr.Read(buf); n != 0 || !errors.Is(err, context.Canceled) {
				t.Fatalf("Read after the parent's end = %d, %v; want context.Canceled again", n, err)
			}
			mustWriteString(t, peer, "kept")
			fresh := fdstream.NewTimeoutReader(context.Background(), end, fdtest.Hang)
			if n, err := fresh.Read(buf); string(buf[:n]) != "kept" || err != nil {
				t.Fatalf("Read after the cancelled ones = %q, %v; want every byte", buf[:n], err)
			}

			// The parent's own deadline, before the per-read timeout.
			pctx, pcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer pcancel()
			_, err = fdstream.NewTimeoutReader(pctx, end, fdtest.Hang).Read(buf)
			if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, pctx.Err()) || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("Read when the parent's deadline passes = %v, want context.DeadlineExceeded and no os.ErrDeadlineExceeded", err)
			}
			if !os.IsTimeout(err) {
				t.Errorf("os.IsTimeout(%v) is false: a ctx's timeout is a timeout too", err)
			}
		})
	}
}

// Inter-byte timeout: a Read reads on while bytes keep coming, until p is
// full or the line is quiet for the gap; the first byte's wait has the
// read timeout; the parent ctx still ends a Read, which then returns the
// bytes it has with the ctx's error.
func TestInterByteReader(t *testing.T) {
	for _, k := range timeoutKinds {
		t.Run(k.name, func(t *testing.T) {
			end, peer, blocks := k.pipe(t)
			ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
			defer cancel()

			// Pieces written while the Read waits, each after it blocked
			// again: one Read returns them all once p is full.
			watch := watchBlocks(t)
			long := fdstream.NewInterByteReader(ctx, end, fdtest.Hang, fdtest.Hang)
			p := make([]byte, 6)
			type result struct {
				n   int
				err error
			}
			done := make(chan result, 1)
			go func() {
				n, err := long.Read(p)
				done <- result{n, err}
			}()
			for i, piece := range []string{"ab", "cd", "ef"} {
				watch.awaitBlocked(t, blocks, i+1)
				mustWriteString(t, peer, piece)
			}
			select {
			case r := <-done:
				if string(p[:r.n]) != "abcdef" || r.err != nil {
					t.Fatalf("Read across three pieces = %q, %v; want \"abcdef\", nil", p[:r.n], r.err)
				}
			case <-time.After(fdtest.Hang):
				t.Fatal("Read did not return once p was full")
			}

			// A quiet line ends the Read with what came, and the next
			// Read gets the next frame.
			const gap = 20 * time.Millisecond
			quiet := fdstream.NewInterByteReader(ctx, end, fdtest.Hang, gap)
			buf := make([]byte, 64)
			for _, frame := range []string{"frame one", "frame two"} {
				mustWriteString(t, peer, frame)
				start := time.Now()
				n, err := quiet.Read(buf)
				if string(buf[:n]) != frame || err != nil {
					t.Fatalf("Read = %q, %v; want %q, nil", buf[:n], err, frame)
				}
				if took := time.Since(start); took < gap {
					t.Errorf("Read returned after %v, before a quiet gap of %v", took, gap)
				}
			}

			// No first byte within the read timeout: a timeout error.
			n, err := fdstream.NewInterByteReader(ctx, end, gap, fdtest.Hang).Read(buf)
			wantReadTimeout(t, "Read with no first byte", n, err)

			// The parent cancelled during the gap: the bytes and its error.
			watch = watchBlocks(t)
			pctx, pcancel := context.WithCancel(context.Background())
			defer pcancel()
			mustWriteString(t, peer, "partial")
			go func() {
				n, err := fdstream.NewInterByteReader(pctx, end, 0, fdtest.Hang).Read(buf)
				done <- result{n, err}
			}()
			watch.awaitBlocked(t, blocks, 1) // "partial" read, waiting for more
			pcancel()
			r := <-done
			if string(buf[:r.n]) != "partial" || !errors.Is(r.err, context.Canceled) {
				t.Fatalf("Read cancelled in the gap = %q, %v; want \"partial\" and context.Canceled", buf[:r.n], r.err)
			}
		})
	}
}

// Per-write timeout: a Write the fd cannot take within the timeout returns
// the bytes it wrote, exactly those the peer reads, and a timeout; the
// parent ctx ends a waiting Write with its error.
func TestTimeoutWriter(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB: more than a pipe holds
	for _, k := range timeoutKinds {
		t.Run(k.name, func(t *testing.T) {
			end, peer, _ := k.pipe(t)
			ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
			defer cancel()
			// drain reads n bytes from peer, checks them against big, and
			// checks that nothing follows.
			drain := func(what string, n int) {
				t.Helper()
				got := make([]byte, n)
				if _, err := io.ReadFull(peer, got); err != nil {
					t.Fatalf("%s: reading back %d bytes: %v", what, n, err)
				}
				if !bytes.Equal(got, big[:n]) {
					t.Fatalf("%s: the %d bytes read back differ from those written", what, n)
				}
				m, err := fdstream.NewTimeoutReader(ctx, peer.(fdstream.ContextReader), 10*time.Millisecond).Read(make([]byte, 1))
				wantReadTimeout(t, what+": read past the reported bytes", m, err)
			}

			tw := fdstream.NewTimeoutWriter(ctx, end, 30*time.Millisecond)
			if n, err := tw.Write(big[:5]); n != 5 || err != nil {
				t.Fatalf("small Write = %d, %v", n, err)
			}
			drain("small Write", 5)

			n, err := tw.Write(big)
			if n <= 0 || n >= len(big) || !errors.Is(err, os.ErrDeadlineExceeded) || !os.IsTimeout(err) || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Write into a full pipe = %d, %v; want 0 < n < %d and a per-write timeout", n, err, len(big))
			}
			drain("timed-out Write", n)

			watch := watchBlocks(t)
			pctx, pcancel := context.WithCancel(context.Background())
			type result struct {
				n   int
				err error
			}
			done := make(chan result, 1)
			go func() {
				n, err := fdstream.NewTimeoutWriter(pctx, end, fdtest.Hang).Write(big)
				done <- result{n, err}
			}()
			watch.awaitAny(t, 1)
			pcancel()
			r := <-done
			if r.n <= 0 || !errors.Is(r.err, context.Canceled) {
				t.Fatalf("Write when the parent is cancelled = %d, %v; want n > 0 and context.Canceled", r.n, r.err)
			}
			drain("cancelled Write", r.n)
		})
	}
}

// ReadLine over a TimeoutReader: a line cut by a timeout comes back whole
// from the next call, where bufio.Reader.ReadBytes would have returned
// its first part with the error.
func TestReadLineCarriesOnAfterTimeout(t *testing.T) {
	r, w := mustPipe(t)
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	br := bufio.NewReader(fdstream.NewTimeoutReader(ctx, r, 20*time.Millisecond))

	mustWriteString(t, w, "one\ntw")
	if line, err := fdstream.ReadLine(br, '\n'); string(line) != "one\n" || err != nil {
		t.Fatalf("ReadLine = %q, %v", line, err)
	}
	for i := 0; i < 2; i++ {
		line, err := fdstream.ReadLine(br, '\n')
		wantReadTimeout(t, "ReadLine of a partial line", len(line), err)
		if br.Buffered() != 2 {
			t.Fatalf("after the timeout %d bytes buffered, want the 2 of \"tw\"", br.Buffered())
		}
	}
	mustWriteString(t, w, "o\nthree")
	if line, err := fdstream.ReadLine(br, '\n'); string(line) != "two\n" || err != nil {
		t.Fatalf("ReadLine after the timeout = %q, %v; want \"two\\n\"", line, err)
	}
	w.Close()
	if line, err := fdstream.ReadLine(br, '\n'); string(line) != "three" || err != io.EOF {
		t.Fatalf("ReadLine of the last line = %q, %v; want \"three\", io.EOF", line, err)
	}
	if line, err := fdstream.ReadLine(br, '\n'); len(line) != 0 || err != io.EOF {
		t.Fatalf("ReadLine at the end = %q, %v; want io.EOF", line, err)
	}
}

// scripted is a reader that plays a script: a string is returned by one
// Read, an error by one Read, and the end is io.EOF.
type scripted []any

func (s *scripted) Read(p []byte) (int, error) {
	if len(*s) == 0 {
		return 0, io.EOF
	}
	step := (*s)[0]
	switch v := step.(type) {
	case string:
		n := copy(p, v)
		if n < len(v) {
			(*s)[0] = v[n:]
			return n, nil
		}
	case error:
		*s = (*s)[1:]
		return 0, v
	}
	*s = (*s)[1:]
	return len(step.(string)), nil
}

// ReadLine on scripted readers, step by step: lines split across reads and
// timeouts, a line too long for the buffer, bytes returned with an error.
func TestReadLineScripts(t *testing.T) {
	timeout := os.ErrDeadlineExceeded
	type step struct {
		line string
		err  error
	}
	tests := []struct {
		name   string
		size   int // bufio buffer size; 0: the default
		script scripted
		want   []step
	}{
		{"lines in one read", 0, scripted{"a\nbb\n"}, []step{{"a\n", nil}, {"bb\n", nil}, {"", io.EOF}}},
		{"a line over three reads", 0, scripted{"ab", "cd", "e\n"}, []step{{"abcde\n", nil}, {"", io.EOF}}},
		{"timeouts inside a line", 0, scripted{"ab", timeout, "c", timeout, timeout, "d\n"},
			[]step{{"", timeout}, {"", timeout}, {"", timeout}, {"abcd\n", nil}, {"", io.EOF}}},
		{"timeout after a whole line", 0, scripted{"x\ny", timeout, "\n"}, []step{{"x\n", nil}, {"", timeout}, {"y\n", nil}}},
		{"last line without delim", 0, scripted{"x\nlast"}, []step{{"x\n", nil}, {"last", io.EOF}, {"", io.EOF}}},
		{"line longer than the buffer", 16, scripted{"0123456789abcdefXYZ\n"},
			[]step{{"", bufio.ErrBufferFull}, {"", bufio.ErrBufferFull}}},
		{"other errors leave the line too", 0, scripted{"ab", io.ErrUnexpectedEOF, "c\n"},
			[]step{{"", io.ErrUnexpectedEOF}, {"abc\n", nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var br *bufio.Reader
			if tt.size > 0 {
				br = bufio.NewReaderSize(&tt.script, tt.size)
			} else {
				br = bufio.NewReader(&tt.script)
			}
			for i, w := range tt.want {
				line, err := fdstream.ReadLine(br, '\n')
				if string(line) != w.line || !errors.Is(err, w.err) || (w.err == nil) != (err == nil) {
					t.Fatalf("call %d: ReadLine = %q, %v; want %q, %v", i, line, err, w.line, w.err)
				}
			}
			if tt.size > 0 {
				// Nothing was consumed: ReadBytes gets the long line.
				if line, err := br.ReadBytes('\n'); string(line) != "0123456789abcdefXYZ\n" || err != nil {
					t.Fatalf("ReadBytes after ErrBufferFull = %q, %v", line, err)
				}
			}
		})
	}
}

// The std readers behave after an error as TimeoutReader's doc says:
// bufio.Reader retries (ReadString handing back the partial line),
// json.Decoder keeps the error but its Buffered holds the partial value,
// and bufio.Scanner keeps the error after handing out the partial line as
// a token. Should Go change any of this, the doc must change.
func TestStdReadersAfterTimeout(t *testing.T) {
	timeout := os.ErrDeadlineExceeded

	br := bufio.NewReader(&scripted{"OK\nSEC", timeout, "OND\n"})
	var got []string
	for i := 0; i < 3; i++ {
		line, err := br.ReadString('\n')
		got = append(got, line+"|"+errString(err))
	}
	if want := "OK\n|<nil> SEC|i/o timeout OND\n|<nil>"; strings.Join(got, " ") != want {
		t.Errorf("bufio.Reader.ReadString: %q, want %q", strings.Join(got, " "), want)
	}

	sc := bufio.NewScanner(&scripted{"OK\nSEC", timeout, "OND\n"})
	got = got[:0]
	for i := 0; i < 3; i++ {
		ok := sc.Scan()
		got = append(got, sc.Text()+"|"+errString(sc.Err())+"|"+map[bool]string{true: "true", false: "false"}[ok])
	}
	if want := "OK|<nil>|true SEC|i/o timeout|true |i/o timeout|false"; strings.Join(got, " ") != want {
		t.Errorf("bufio.Scanner: %q, want %q", strings.Join(got, " "), want)
	}

	dec := json.NewDecoder(&scripted{`{"n":1} {"n"`, timeout, `:2}`})
	var v struct{ N int }
	if err := dec.Decode(&v); err != nil || v.N != 1 {
		t.Fatalf("Decode = %+v, %v", v, err)
	}
	if err := dec.Decode(&v); !errors.Is(err, timeout) {
		t.Fatalf("Decode at the timeout = %v", err)
	}
	rest := dec.Buffered()
	if err := dec.Decode(&v); !errors.Is(err, timeout) {
		t.Errorf("json.Decoder after a timeout = %v, want the timeout again", err)
	}
	dec = json.NewDecoder(io.MultiReader(rest, &scripted{`:2}`}))
	if err := dec.Decode(&v); err != nil || v.N != 2 {
		t.Errorf("Decoder rebuilt over Buffered = %+v, %v; want n=2", v, err)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// Bad input to the timeout readers and writers and ReadLine: every call
// fails with an error naming the bad argument, consumes and writes
// nothing, and never panics.
func TestTimeoutBadInput(t *testing.T) {
	r, w := mustPipe(t)
	mustWriteString(t, w, "x")
	var nilCtx context.Context
	bg := context.Background()
	buf := make([]byte, 4)
	var nilTR *fdstream.TimeoutReader
	var nilTW *fdstream.TimeoutWriter
	read := func(tr *fdstream.TimeoutReader) func() (int, error) {
		return func() (int, error) { return tr.Read(buf) }
	}
	write := func(tw *fdstream.TimeoutWriter) func() (int, error) {
		return func() (int, error) { return tw.Write([]byte("no")) }
	}
	tests := []struct {
		name string
		call func() (int, error)
		is   error
		says string // in the message
	}{
		{"NewTimeoutReader nil ctx", read(fdstream.NewTimeoutReader(nilCtx, r, time.Second)), fdstream.ErrNilContext, "nil Context"},
		{"NewTimeoutReader nil reader", read(fdstream.NewTimeoutReader(bg, nil, time.Second)), os.ErrInvalid, "nil reader"},
		{"NewTimeoutReader zero timeout", read(fdstream.NewTimeoutReader(bg, r, 0)), os.ErrInvalid, "read timeout 0s is not positive"},
		{"NewTimeoutReader negative timeout", read(fdstream.NewTimeoutReader(bg, r, -time.Second)), os.ErrInvalid, "read timeout -1s is not positive"},
		{"NewTimeoutReader nil Stream", read(fdstream.NewTimeoutReader(bg, (*fdstream.Stream)(nil), time.Second)), os.ErrInvalid, ""},
		{"NewInterByteReader nil ctx", read(fdstream.NewInterByteReader(nilCtx, r, 0, time.Second)), fdstream.ErrNilContext, "nil Context"},
		{"NewInterByteReader nil reader", read(fdstream.NewInterByteReader(bg, nil, 0, time.Second)), os.ErrInvalid, "nil reader"},
		{"NewInterByteReader negative timeout", read(fdstream.NewInterByteReader(bg, r, -time.Second, time.Second)), os.ErrInvalid, "read timeout -1s is negative"},
		{"NewInterByteReader zero gap", read(fdstream.NewInterByteReader(bg, r, 0, 0)), os.ErrInvalid, "inter-byte timeout 0s is not positive"},
		{"NewInterByteReader negative gap", read(fdstream.NewInterByteReader(bg, r, time.Second, -time.Millisecond)), os.ErrInvalid, "inter-byte timeout -1ms is not positive"},
		{"nil TimeoutReader", read(nilTR), os.ErrInvalid, ""},
		{"NewTimeoutWriter nil ctx", write(fdstream.NewTimeoutWriter(nilCtx, w, time.Second)), fdstream.ErrNilContext, "nil Context"},
		{"NewTimeoutWriter nil writer", write(fdstream.NewTimeoutWriter(bg, nil, time.Second)), os.ErrInvalid, "nil writer"},
		{"NewTimeoutWriter zero timeout", write(fdstream.NewTimeoutWriter(bg, w, 0)), os.ErrInvalid, "write timeout 0s is not positive"},
		{"NewTimeoutWriter negative timeout", write(fdstream.NewTimeoutWriter(bg, w, -time.Second)), os.ErrInvalid, "write timeout -1s is not positive"},
		{"nil TimeoutWriter", write(nilTW), os.ErrInvalid, ""},
		{"ReadLine nil bufio.Reader", func() (int, error) { line, err := fdstream.ReadLine(nil, '\n'); return len(line), err }, os.ErrInvalid, "nil reader"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := tt.call()
			if n != 0 || !errors.Is(err, tt.is) {
				t.Fatalf("= %d, %v; want 0 and %v", n, err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("error %q does not say %q", err, tt.says)
			}
		})
	}
	// A zero-length Read or Write of a good one returns at once.
	if n, err := fdstream.NewTimeoutReader(bg, r, fdtest.Hang).Read(nil); n != 0 || err != nil {
		t.Errorf("zero-length Read = %d, %v", n, err)
	}
	if n, err := fdstream.NewTimeoutWriter(bg, w, fdtest.Hang).Write(nil); n != 0 || err != nil {
		t.Errorf("zero-length Write = %d, %v", n, err)
	}
	// Nothing was consumed and nothing written.
	if got := readN(t, r, 1); string(got) != "x" {
		t.Fatalf("read %q, want the \"x\" written before", got)
	}
	n, err := fdstream.NewTimeoutReader(bg, r, 10*time.Millisecond).Read(buf)
	wantReadTimeout(t, "read after the bad calls", n, err)
}
