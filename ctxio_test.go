package fdstream_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/fdstream/fdstream"
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
