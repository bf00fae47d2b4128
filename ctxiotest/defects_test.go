package ctxiotest

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/internal/fdtest"
)

// recorder is a T that records instead of failing the test running it,
// so that a test can run the checks against a broken implementation and
// assert that they fail. Like *testing.T, its Fatalf and Skipf end the
// calling goroutine with runtime.Goexit, and Run runs f in a goroutine
// of its own, then the cleanups.
type recorder struct {
	name     string
	mu       sync.Mutex
	failed   bool
	skipped  bool
	logs     []string
	cleanups []func()
	subs     []*recorder
}

func (r *recorder) Helper() {}

func (r *recorder) log(s string) {
	r.mu.Lock()
	r.logs = append(r.logs, s)
	r.mu.Unlock()
}

func (r *recorder) Logf(format string, args ...any) { r.log(fmt.Sprintf(format, args...)) }

func (r *recorder) Errorf(format string, args ...any) {
	r.log(fmt.Sprintf(format, args...))
	r.mu.Lock()
	r.failed = true
	r.mu.Unlock()
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.log(fmt.Sprintf(format, args...))
	r.mu.Lock()
	r.skipped = true
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Cleanup(f func()) {
	r.mu.Lock()
	r.cleanups = append(r.cleanups, f)
	r.mu.Unlock()
}

func (r *recorder) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

func (r *recorder) Run(name string, f func(T)) bool {
	sub := &recorder{name: name}
	r.mu.Lock()
	r.subs = append(r.subs, sub)
	r.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			for i := len(sub.cleanups) - 1; i >= 0; i-- {
				sub.cleanups[i]()
			}
		}()
		f(sub)
	}()
	<-done
	if sub.Failed() {
		r.mu.Lock()
		r.failed = true
		r.mu.Unlock()
	}
	return !sub.Failed()
}

// verdicts returns each subtest's name with "FAIL", "SKIP" or "ok".
func (r *recorder) verdicts() map[string]string {
	out := map[string]string{}
	for _, s := range r.subs {
		switch {
		case s.failed:
			out[s.name] = "FAIL"
		case s.skipped:
			out[s.name] = "SKIP"
		default:
			out[s.name] = "ok"
		}
	}
	return out
}

func (r *recorder) report() string {
	var b strings.Builder
	names := make([]string, 0, len(r.subs))
	for _, s := range r.subs {
		names = append(names, s.name)
	}
	sort.Strings(names)
	v := r.verdicts()
	for _, s := range r.subs {
		fmt.Fprintf(&b, "%s: %s\n", s.name, v[s.name])
		for _, l := range s.logs {
			fmt.Fprintf(&b, "\t%s\n", l)
		}
	}
	return b.String()
}

// goroutinePerCall is the usual way to put a ctx on a blocking reader or
// writer, the pattern of jbenet/go-context/io (written here from its
// description, not copied): each call starts a goroutine that does the
// blocking Read or Write, and returns when that goroutine answers or when
// ctx is done, whichever comes first. Once ctx wins, the goroutine is left
// behind, still blocked: it goes on to consume the next bytes that
// arrive (and drops them), or to write bytes the caller was told were
// not written.
type goroutinePerCall struct{ f *os.File }

type ioResult struct {
	n   int
	err error
}

func (g goroutinePerCall) ReadContext(ctx context.Context, p []byte) (int, error) {
	buf := make([]byte, len(p))
	ch := make(chan ioResult, 1)
	go func() {
		n, err := g.f.Read(buf)
		ch <- ioResult{n, err}
	}()
	select {
	case r := <-ch:
		copy(p, buf[:r.n])
		return r.n, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (g goroutinePerCall) WriteContext(ctx context.Context, p []byte) (int, error) {
	buf := append([]byte(nil), p...)
	ch := make(chan ioResult, 1)
	go func() {
		n, err := g.f.Write(buf)
		ch <- ioResult{n, err}
	}()
	select {
	case r := <-ch:
		return r.n, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func (g goroutinePerCall) Close() error { return g.f.Close() }

func goroutinePerCallPipe() (fdstream.ContextReader, fdstream.ContextWriter, func(), error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	return goroutinePerCall{r}, goroutinePerCall{w}, func() { r.Close(); w.Close() }, nil
}

// Guarantee 17: the checks catch the defects of a goroutine-per-call
// wrapper: the bytes its leftover goroutines eat or write after the call
// returned, and the goroutines themselves.
func TestPipeFailsGoroutinePerCall(t *testing.T) {
	rec := &recorder{name: "TestPipe"}
	run(rec, goroutinePerCallPipe, 2*time.Second)
	t.Logf("the checks on a goroutine-per-call wrapper:\n%s", rec.report())
	if !rec.Failed() {
		t.Fatal("TestPipe passed a goroutine-per-call wrapper")
	}
	v := rec.verdicts()
	for _, name := range []string{"ContextDoneAtEntry", "ReadCanceledConsumesNothing", "WriteCanceledReportsWritten"} {
		if v[name] != "FAIL" {
			t.Errorf("%s: %s, want FAIL", name, v[name])
		}
	}
	leaks := 0
	for _, s := range rec.subs {
		for _, l := range s.logs {
			if strings.Contains(l, "goroutine is left behind") {
				leaks++
			}
		}
	}
	if leaks == 0 {
		t.Error("no check reported the goroutines the wrapper leaves behind")
	}
	// What the wrapper does right, the checks pass.
	for _, name := range []string{"ZeroLengthRead", "NoShortWrite", "ConcurrentWritesDoNotInterleave", "CloseUnblocksRead", "CloseUnblocksWrite", "StopUnblocks"} {
		if v[name] != "ok" {
			t.Errorf("%s: %s, want ok", name, v[name])
		}
	}
}

// The recorder itself does not make the checks fail: through it, a
// Stream passes all of them, and the capabilities it has are found.
func TestPipeRecorderPassesStream(t *testing.T) {
	rec := &recorder{name: "TestPipe"}
	run(rec, func() (fdstream.ContextReader, fdstream.ContextWriter, func(), error) {
		r, w, err := fdstream.Pipe()
		if err != nil {
			return nil, nil, nil, err
		}
		return r, w, func() { r.Close(); w.Close() }, nil
	}, fdtest.Hang)
	if rec.Failed() {
		t.Fatalf("TestPipe failed a Stream through the recorder:\n%s", rec.report())
	}
	for name, v := range rec.verdicts() {
		if v != "ok" {
			t.Errorf("%s: %s, want ok (a Stream has every capability)", name, v)
		}
	}
}
