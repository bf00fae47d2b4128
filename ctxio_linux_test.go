//go:build linux

package fdstream_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
	"github.com/fdstream/fdstream/internal/fdtest"
)

// The allocations TimeoutReader's doc states, measured on a Stream (the
// deadline path) and on a ContextReader without deadlines (a
// context.WithTimeout per wait): reading data that is ready, waiting for
// data, and timing out.
func TestTimeoutReaderAllocs(t *testing.T) {
	for _, c := range []struct {
		name string
		wrap func(*fdstream.Stream) fdstream.ContextReader
		// the most each may allocate
		ready, waiting, timedOut float64
	}{
		{"Stream", func(s *fdstream.Stream) fdstream.ContextReader { return s }, 0, 1, 2},
		// Waiting and timing out: the WithTimeout ctx's Done channel on
		// the shard loops; on the runtime poller (the default) also the
		// Stream's AfterFunc registration for that new ctx.
		{"ContextReaderOnly", func(s *fdstream.Stream) fdstream.ContextReader { return ctxOnly{s} }, 4, 10, 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			ar, aw := mustPipe(t)
			br, bw := mustPipe(t)
			idle, _ := mustPipe(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			one := make([]byte, 1)

			tr := fdstream.NewTimeoutReader(ctx, c.wrap(ar), fdtest.Hang)
			ready := testing.AllocsPerRun(1000, func() {
				aw.Write(one)
				if n, err := tr.Read(one); n != 1 || err != nil {
					t.Fatalf("Read = %d, %v", n, err)
				}
			})

			// An echo: what is written to aw comes back on br, so a Read
			// of br waits for it.
			echoDone := make(chan struct{})
			go func() {
				defer close(echoDone)
				b := make([]byte, 1)
				for {
					if _, err := ar.ReadContext(ctx, b); err != nil {
						return
					}
					if _, err := bw.WriteContext(ctx, b); err != nil {
						return
					}
				}
			}()
			tb := fdstream.NewTimeoutReader(ctx, c.wrap(br), fdtest.Hang)
			waiting := testing.AllocsPerRun(1000, func() {
				aw.Write(one)
				if n, err := tb.Read(one); n != 1 || err != nil {
					t.Fatalf("Read = %d, %v", n, err)
				}
			})
			cancel()
			<-echoDone

			ti := fdstream.NewTimeoutReader(context.Background(), c.wrap(idle), time.Microsecond)
			timedOut := testing.AllocsPerRun(200, func() {
				if _, err := ti.Read(one); !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("Read = %v, want a timeout", err)
				}
			})
			t.Logf("allocations per Read: %v with data ready, %v waiting for data, %v timing out", ready, waiting, timedOut)
			if ready > c.ready || waiting > c.waiting || timedOut > c.timedOut {
				t.Errorf("allocations per Read: %v ready, %v waiting, %v timing out; the doc says at most %v, %v, %v",
					ready, waiting, timedOut, c.ready, c.waiting, c.timedOut)
			}
		})
	}
}

// BenchmarkTimeoutReader: a Read with data ready, through NewReader (no
// per-read timeout) and through TimeoutReader's two ways of waiting.
func BenchmarkTimeoutReader(b *testing.B) {
	for _, c := range []struct {
		name string
		make func(ctx context.Context, s *fdstream.Stream) io.Reader
	}{
		{"NewReader", func(ctx context.Context, s *fdstream.Stream) io.Reader { return fdstream.NewReader(ctx, s) }},
		{"TimeoutReader/Stream", func(ctx context.Context, s *fdstream.Stream) io.Reader {
			return fdstream.NewTimeoutReader(ctx, s, time.Second)
		}},
		{"TimeoutReader/ContextReaderOnly", func(ctx context.Context, s *fdstream.Stream) io.Reader {
			return fdstream.NewTimeoutReader(ctx, ctxOnly{s}, time.Second)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r, w := mustPipe(b)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rd := c.make(ctx, r)
			one := make([]byte, 1)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				w.Write(one)
				if _, err := rd.Read(one); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// pausingChild is a child process on a pty that prints its chunks one by
// one, each only after the parent released it by writing a newline, so
// that every pause between chunks lasts until the parent has seen a
// timeout: no sleeping, no hoping.
type pausingChild struct {
	c      *adapters.Conn
	cmd    *exec.Cmd
	chunks []string
	sent   int // chunks released
}

const pausingScript = `stty raw -echo || exit 1
printf 'READY\n'
for chunk in "$@"; do
	IFS= read -r go || exit 1
	printf '%s' "$chunk"
done`

func startPausingChild(t *testing.T, chunks []string) *pausingChild {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"-c", pausingScript, "sh"}, chunks...)...)
	c, err := adapters.StartPTY(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	// Its terminal is raw and silent once it says READY, and it says
	// nothing more until released.
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	var got []byte
	buf := make([]byte, 64)
	for !bytes.HasSuffix(got, []byte("READY\n")) {
		n, err := c.ReadContext(ctx, buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("waiting for READY, got %q: %v", got, err)
		}
	}
	if string(got) != "READY\n" {
		t.Fatalf("child said %q before its chunks", got)
	}
	return &pausingChild{c: c, cmd: cmd, chunks: chunks}
}

// release lets the child print its next chunk.
func (p *pausingChild) release(t *testing.T) {
	t.Helper()
	if _, err := p.c.Write([]byte("\n")); err != nil {
		t.Fatal(err)
	}
	p.sent++
}

// releasedBytes is how many bytes the released chunks hold.
func (p *pausingChild) releasedBytes() int {
	n := 0
	for _, c := range p.chunks[:p.sent] {
		n += len(c)
	}
	return n
}

// wait checks that the child ran its script to the end.
func (p *pausingChild) wait(t *testing.T) {
	t.Helper()
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// readerOnly hides every method but ReadContext, deadlines included.
type readerOnly struct{ fdstream.ContextReader }

var pipelineReaders = []struct {
	name string
	wrap func(*adapters.Conn) fdstream.ContextReader
}{
	{"Conn", func(c *adapters.Conn) fdstream.ContextReader { return c }},
	{"ContextReaderOnly", func(c *adapters.Conn) fdstream.ContextReader { return readerOnly{c} }},
}

// A JSON stream from a child on a pty that pauses, longer than the
// per-read timeout, between objects and inside them (in a string, after a
// key): following TimeoutReader's recipe (on a timeout, rebuild the
// decoder over io.MultiReader(dec.Buffered(), r)), every object is
// decoded exactly once, in order.
func TestPipelineJSONFromPTYChild(t *testing.T) {
	type obj struct {
		N int
		S string
	}
	chunks := []string{
		`{"n":1}` + "\n",
		`{"n":2}` + "\n" + `{"n":3,"s":"sp`, // the pause cuts a string
		`lit"}` + "\n" + `{"n"`,             // ... and an object after its key
		`:4}`,
		"\n" + `{"n":5,"s":"end"}` + "\n",
	}
	want := []obj{{1, ""}, {2, ""}, {3, "split"}, {4, ""}, {5, "end"}}
	for _, k := range pipelineReaders {
		t.Run(k.name, func(t *testing.T) {
			child := startPausingChild(t, chunks)
			ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
			defer cancel()
			r := &countingReader{r: fdstream.NewTimeoutReader(ctx, k.wrap(child.c), 50*time.Millisecond)}
			dec := json.NewDecoder(r)
			child.release(t)
			var got []obj
			var pausedInside []bool // at each pause: was an object cut?
			for {
				var v obj
				err := dec.Decode(&v)
				if err == io.EOF {
					break
				}
				if err == nil {
					got = append(got, v)
					continue
				}
				if !os.IsTimeout(err) || ctx.Err() != nil {
					t.Fatalf("Decode = %v after %v", err, got)
				}
				if r.n == child.releasedBytes() && child.sent < len(chunks) {
					// The pause after a chunk, all of it read.
					rest, _ := io.ReadAll(dec.Buffered())
					pausedInside = append(pausedInside, len(bytes.TrimSpace(rest)) > 0)
					child.release(t)
				}
				// The recipe.
				dec = json.NewDecoder(io.MultiReader(dec.Buffered(), r))
			}
			child.wait(t)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded %+v, want %+v", got, want)
			}
			if wantPauses := []bool{false, true, true, false}; !reflect.DeepEqual(pausedInside, wantPauses) {
				t.Fatalf("pauses cut an object: %v, want %v", pausedInside, wantPauses)
			}
		})
	}
}

// The same for lines through one bufio.Reader and ReadLine: a pause inside
// a line does not cut it.
func TestPipelineLinesFromPTYChild(t *testing.T) {
	chunks := []string{"one\n", "two\nthr", "ee\nfo", "ur\n", "five\n"}
	want := []string{"one\n", "two\n", "three\n", "four\n", "five\n"}
	for _, k := range pipelineReaders {
		t.Run(k.name, func(t *testing.T) {
			child := startPausingChild(t, chunks)
			ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
			defer cancel()
			r := &countingReader{r: fdstream.NewTimeoutReader(ctx, k.wrap(child.c), 50*time.Millisecond)}
			br := bufio.NewReader(r)
			child.release(t)
			var got []string
			var pausedInside []bool
			for {
				line, err := fdstream.ReadLine(br, '\n')
				if err == io.EOF && len(line) == 0 {
					break
				}
				if err == nil {
					got = append(got, string(line))
					continue
				}
				if !os.IsTimeout(err) || ctx.Err() != nil || len(line) != 0 {
					t.Fatalf("ReadLine = %q, %v after %q", line, err, got)
				}
				if r.n == child.releasedBytes() && child.sent < len(chunks) {
					pausedInside = append(pausedInside, br.Buffered() > 0)
					child.release(t)
				}
			}
			child.wait(t)
			if strings.Join(got, "") != strings.Join(want, "") || len(got) != len(want) {
				t.Fatalf("lines %q, want %q", got, want)
			}
			if wantPauses := []bool{false, true, true, false}; !reflect.DeepEqual(pausedInside, wantPauses) {
				t.Fatalf("pauses cut a line: %v, want %v", pausedInside, wantPauses)
			}
		})
	}
}
