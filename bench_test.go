package fdstream_test

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/reactor"
)

// ctxRW is what the benchmarks drive: a context-aware read/write pair.
type ctxRW interface {
	ReadContext(ctx context.Context, p []byte) (int, error)
	WriteContext(ctx context.Context, p []byte) (int, error)
}

// osFile bridges a ctx onto an os.File the way a careful user would: a
// context.AfterFunc that expires the deadline, skipped when ctx can never
// be done. It is the reference every ratio is taken against.
type osFile struct{ f *os.File }

var aLongTimeAgo = time.Unix(1, 0)

func (o osFile) ReadContext(ctx context.Context, p []byte) (int, error) {
	if ctx.Done() == nil {
		return o.f.Read(p)
	}
	stop := context.AfterFunc(ctx, func() { o.f.SetReadDeadline(aLongTimeAgo) })
	n, err := o.f.Read(p)
	if !stop() {
		o.f.SetReadDeadline(time.Time{})
	}
	return n, err
}

func (o osFile) WriteContext(ctx context.Context, p []byte) (int, error) {
	if ctx.Done() == nil {
		return o.f.Write(p)
	}
	stop := context.AfterFunc(ctx, func() { o.f.SetWriteDeadline(aLongTimeAgo) })
	n, err := o.f.Write(p)
	if !stop() {
		o.f.SetWriteDeadline(time.Time{})
	}
	return n, err
}

type pipeMaker func(tb testing.TB) (r, w ctxRW, closeAll func())

func osPipe(tb testing.TB) (ctxRW, ctxRW, func()) {
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	return osFile{r}, osFile{w}, func() { r.Close(); w.Close() }
}

func streamPipe(c reactor.Config) pipeMaker {
	return func(tb testing.TB) (ctxRW, ctxRW, func()) {
		re, err := reactor.New(c)
		if err != nil {
			tb.Fatal(err)
		}
		r, w, err := fdstream.Pipe(fdstream.WithReactor(re))
		if err != nil {
			tb.Fatal(err)
		}
		return r, w, func() { r.Close(); w.Close() }
	}
}

var contenders = []struct {
	name string
	mk   pipeMaker
}{
	{"os.File", osPipe},
	{"runtime", streamPipe(reactor.Config{Backend: reactor.Runtime})},
	{"epoll-runtime", streamPipe(reactor.Config{Backend: reactor.Epoll, Park: reactor.ParkRuntime})},
	{"epoll-thread", streamPipe(reactor.Config{Backend: reactor.Epoll, Park: reactor.ParkThread})},
	{"select", streamPipe(reactor.Config{Backend: reactor.Select})},
}

// BenchmarkPingPong sends one byte over one pipe to an echo goroutine and
// reads it back over another, with a cancellable ctx on every call.
func BenchmarkPingPong(b *testing.B) {
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			ar, aw, closeA := c.mk(b)
			br, bw, closeB := c.mk(b)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				var buf [1]byte
				for {
					if _, err := ar.ReadContext(ctx, buf[:]); err != nil {
						return
					}
					if _, err := bw.WriteContext(ctx, buf[:]); err != nil {
						return
					}
				}
			}()
			var buf [1]byte
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := aw.WriteContext(ctx, buf[:]); err != nil {
					b.Fatal(err)
				}
				if _, err := br.ReadContext(ctx, buf[:]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			cancel()
			closeA()
			<-done
			closeB()
		})
	}
}

// BenchmarkThroughput moves 64 KiB writes through one pipe.
func BenchmarkThroughput(b *testing.B) {
	const size = 64 << 10
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			r, w, closeAll := c.mk(b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				buf := make([]byte, size)
				total := int64(0)
				want := int64(b.N) * size
				for total < want {
					n, err := r.ReadContext(ctx, buf)
					total += int64(n)
					if err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			buf := make([]byte, size)
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := w.WriteContext(ctx, buf); err != nil {
					b.Fatal(err)
				}
			}
			if err := <-done; err != nil && err != io.EOF {
				b.Fatal(err)
			}
			b.StopTimer()
			closeAll()
		})
	}
}
