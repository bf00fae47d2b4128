//go:build linux

package fdstream_test

import (
	"context"
	"errors"
	"math/rand"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/internal/fdtest"
	"github.com/fdstream/fdstream/reactor"
)

// The tests of how a wait combines a ctx and a deadline (deadline.go):
// the ctx's AfterFunc on the runtime poller, its generation fence, and
// the same rules on the shard loops.

// A late AfterFunc never poisons: in thousands of rounds, a read whose ctx
// times out just as its byte arrives, and whose ctx is then cancelled
// (both fire the AfterFunc, often after the call returned), is followed
// by a read with another ctx, the same long-lived ctx, or Background. No
// spurious error, no lost or repeated byte, and the user's deadline is
// what the user set.
func TestStreamLateAfterFuncNeverPoisons(t *testing.T) {
	rounds := 2000
	if testing.Short() {
		rounds = 300
	}
	for _, nr := range testReactors(t) {
		t.Run(nr.name, func(t *testing.T) {
			r, w := mustPipe(t, fdstream.WithReactor(nr.r))
			userDL := time.Now().Add(time.Hour)
			if err := r.SetReadDeadline(userDL); err != nil {
				t.Fatal(err)
			}
			long, cancelLong := context.WithTimeout(context.Background(), fdtest.Hang)
			defer cancelLong()
			rng := rand.New(rand.NewSource(time.Now().UnixNano()))
			buf := make([]byte, 1)
			timedOut := 0
			for i := 0; i < rounds; i++ {
				want := byte(i)
				d := time.Duration(rng.Intn(60)) * time.Microsecond
				ctx, cancel := context.WithTimeout(context.Background(), d)
				wrote := make(chan error, 1)
				time.AfterFunc(d, func() {
					_, err := w.Write([]byte{want})
					wrote <- err
				})
				n, err := r.ReadContext(ctx, buf)
				cancel() // fires the AfterFunc now, if the timeout did not
				switch {
				case err == nil && n == 1:
					if buf[0] != want {
						t.Fatalf("round %d: read %d, want %d", i, buf[0], want)
					}
				case err != nil && n == 0 && errors.Is(err, context.DeadlineExceeded):
					timedOut++
				default:
					t.Fatalf("round %d: ReadContext = %d, %v; want the byte or context.DeadlineExceeded", i, n, err)
				}
				if err := recvErr(t, wrote); err != nil {
					t.Fatal(err)
				}
				if err == nil {
					continue
				}
				// The byte is in the pipe; the next call, whatever its
				// ctx, reads it, and no late callback ends that call.
				var next context.Context
				switch i % 3 {
				case 0:
					next = context.Background()
				case 1:
					next = long
				default:
					c, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
					defer cancel()
					next = c
				}
				if n, err := r.ReadContext(next, buf); err != nil || n != 1 || buf[0] != want {
					t.Fatalf("round %d: the read after a timed-out one = %d %v (byte %d); want byte %d", i, n, err, buf[0], want)
				}
			}
			if got := r.ReadDeadline(); !got.Equal(userDL) {
				t.Fatalf("the read deadline is %v after the rounds, want %v as set", got, userDL)
			}
			if p := pending(t, r); p != 0 {
				t.Fatalf("%d bytes left in the pipe", p)
			}
			t.Logf("%d rounds, %d timed out just as the byte came", rounds, timedOut)
		})
	}
}

// One ctx shared by many Streams and goroutines, cancelled once, wakes
// every blocked read and write, each with the ctx's error; each write
// reports exactly the bytes that reached its pipe; and nothing is left
// running afterwards.
func TestStreamSharedContextCancelWakesAll(t *testing.T) {
	for _, nr := range testReactors(t) {
		t.Run(nr.name, func(t *testing.T) {
			const pairs = 8
			watch := watchBlocks(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			type res struct {
				n   int
				err error
			}
			var wg sync.WaitGroup
			reads := make([]res, pairs)
			writes := make([]res, pairs)
			readers := make([]*fdstream.Stream, pairs)
			for i := 0; i < pairs; i++ {
				r, _ := mustPipe(t, fdstream.WithReactor(nr.r))
				r2, w2 := mustPipe(t, fdstream.WithReactor(nr.r))
				readers[i] = r2
				wg.Add(2)
				go func() {
					defer wg.Done()
					reads[i].n, reads[i].err = r.ReadContext(ctx, make([]byte, 16))
				}()
				go func() {
					defer wg.Done()
					// Larger than any pipe buffer: it blocks.
					writes[i].n, writes[i].err = w2.WriteContext(ctx, make([]byte, 4<<20))
				}()
				watch.await(t, r, 1)
				watch.await(t, w2, 1)
			}
			cancel()
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(fdtest.Hang):
				t.Fatal("a cancelled call did not return")
			}
			for i := 0; i < pairs; i++ {
				if reads[i].n != 0 || !errors.Is(reads[i].err, context.Canceled) {
					t.Errorf("pair %d: read = %d, %v; want 0, context.Canceled", i, reads[i].n, reads[i].err)
				}
				if !errors.Is(writes[i].err, context.Canceled) {
					t.Errorf("pair %d: write err = %v, want context.Canceled", i, writes[i].err)
				}
				if p := pending(t, readers[i]); p != writes[i].n {
					t.Errorf("pair %d: write reported %d bytes, the pipe holds %d", i, writes[i].n, p)
				}
			}
			for _, r := range readers {
				r.Close()
			}
		})
	}
	goleak.VerifyNone(t, goleak.IgnoreCurrent())
}

// Close, a ctx cancel and a deadline change hit a blocked read and a
// blocked write at the same moment, many times: every call returns one of
// the errors those three explain, none hangs, and a write's n is what
// reached the fd.
func TestStreamCloseRacesCancelAndDeadline(t *testing.T) {
	rounds := 200
	if testing.Short() {
		rounds = 30
	}
	for _, nr := range testReactors(t) {
		t.Run(nr.name, func(t *testing.T) {
			watch := watchBlocks(t)
			for i := 0; i < rounds; i++ {
				r, w, err := fdstream.Pipe(fdstream.WithReactor(nr.r))
				if err != nil {
					t.Fatal(err)
				}
				r2, w2, err := fdstream.Pipe(fdstream.WithReactor(nr.r))
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				rerr := async(func() error {
					_, err := r.ReadContext(ctx, make([]byte, 8))
					return err
				})
				var wn int
				werr := async(func() error {
					var err error
					wn, err = w2.WriteContext(ctx, make([]byte, 1<<20))
					return err
				})
				watch.await(t, r, 1)
				watch.await(t, w2, 1)
				start := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(3)
				go func() { defer wg.Done(); <-start; r.Close(); w2.Close() }()
				go func() { defer wg.Done(); <-start; cancel() }()
				go func() {
					defer wg.Done()
					<-start
					past := time.Now().Add(-time.Second)
					if i%2 == 1 {
						past = time.Now().Add(time.Hour) // a change that ends nothing
					}
					r.SetReadDeadline(past)
					w2.SetWriteDeadline(past)
				}()
				close(start)
				wg.Wait()
				allowed := func(err error) bool {
					return errors.Is(err, os.ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, os.ErrDeadlineExceeded)
				}
				if err := recvErr(t, rerr); !allowed(err) {
					t.Fatalf("round %d: read = %v", i, err)
				}
				if err := recvErr(t, werr); !allowed(err) {
					t.Fatalf("round %d: write = %v", i, err)
				}
				if p := pending(t, r2); p != wn {
					t.Fatalf("round %d: write reported %d bytes, the pipe holds %d", i, wn, p)
				}
				w.Close()
				r2.Close()
				if err := r.Close(); !errors.Is(err, os.ErrClosed) {
					t.Fatalf("round %d: a second Close = %v, want os.ErrClosed", i, err)
				}
				watch.reset()
			}
		})
	}
}

// An fd the runtime poller does not take (as darwin's does not take FIFOs
// and ttys) falls back to the reactor's shard loops, and works there.
func TestStreamRuntimeRefusalFallsBackToLoops(t *testing.T) {
	rt, err := reactor.New(reactor.Config{Backend: reactor.Runtime})
	if err != nil {
		t.Fatal(err)
	}
	r, w := mustPipe(t, fdstream.WithReactor(rt))
	if got := r.WaitsOn(); got != "runtime" {
		t.Fatalf("a pipe on a Runtime reactor waits on %q, want runtime", got)
	}
	fdstream.SetTestHookRefuseRuntime(true)
	t.Cleanup(func() { fdstream.SetTestHookRefuseRuntime(false) })
	fr, fw := mustPipe(t, fdstream.WithReactor(rt))
	fdstream.SetTestHookRefuseRuntime(false)
	if got := fr.WaitsOn(); got != "loop" {
		t.Fatalf("a refused pipe waits on %q, want loop", got)
	}
	if rt.Registrations() != 2 || rt.Loops() == 0 {
		t.Fatalf("refused pipes: %d registrations, %d loops; want 2 and a loop", rt.Registrations(), rt.Loops())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := fr.ReadContext(ctx, make([]byte, 1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocked read on the loop = %v, want context.DeadlineExceeded", err)
	}
	for _, p := range [][2]*fdstream.Stream{{r, w}, {fr, fw}} {
		if _, err := p[1].Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if got := readN(t, p[0], 1); string(got) != "x" {
			t.Fatalf("read %q", got)
		}
	}
	fr.Close()
	fw.Close()
	if rt.Registrations() != 0 || rt.Loops() != 0 {
		t.Fatalf("after Close: %d registrations, %d loops", rt.Registrations(), rt.Loops())
	}
}

// A ctx that comes back is kept registered, and on the runtime poller its
// calls then wait in the File's own Read: cancelling that ctx, or its
// deadline passing, still ends a parked read with the ctx's error; a read
// with Background afterwards gets the next byte; and the user's deadline
// is unchanged.
func TestStreamKeptContextEndsParkedRead(t *testing.T) {
	for _, nr := range testReactors(t) {
		for _, how := range []string{"cancel", "deadline"} {
			t.Run(nr.name+"/"+how, func(t *testing.T) {
				watch := watchBlocks(t)
				r, w := mustPipe(t, fdstream.WithReactor(nr.r))
				userDL := time.Now().Add(time.Hour)
				if err := r.SetReadDeadline(userDL); err != nil {
					t.Fatal(err)
				}
				var ctx context.Context
				var cancel context.CancelFunc
				if how == "deadline" {
					// Far more than the three rounds below take.
					ctx, cancel = context.WithTimeout(context.Background(), 500*time.Millisecond)
				} else {
					ctx, cancel = context.WithCancel(context.Background())
				}
				defer cancel()
				type res struct {
					n   int
					err error
					b   byte
				}
				read := func(ctx context.Context) <-chan res {
					got := make(chan res, 1)
					go func() {
						buf := make([]byte, 1)
						n, err := r.ReadContext(ctx, buf)
						got <- res{n, err, buf[0]}
					}()
					return got
				}
				wait := func(got <-chan res) res {
					t.Helper()
					select {
					case v := <-got:
						return v
					case <-time.After(fdtest.Hang):
						t.Fatal("a read did not return")
					}
					return res{}
				}
				for i := 1; i <= 3; i++ {
					got := read(ctx)
					watch.await(t, r, i)
					if _, err := w.Write([]byte{byte(i)}); err != nil {
						t.Fatal(err)
					}
					if v := wait(got); v.n != 1 || v.err != nil || v.b != byte(i) {
						t.Fatalf("round %d: read = %d, %v, byte %d; want 1, nil, %d", i, v.n, v.err, v.b, i)
					}
				}
				if r.WaitsOn() == "runtime" && !r.ReadKeepsContext() {
					t.Fatal("after three parks with one ctx, its registration is not kept")
				}
				got := read(ctx)
				watch.await(t, r, 4)
				if how == "cancel" {
					cancel()
				}
				v := wait(got)
				if ctx.Err() == nil || v.n != 0 || !errors.Is(v.err, ctx.Err()) {
					t.Fatalf("parked read = %d, %v; want 0 and the ctx's error (%v)", v.n, v.err, ctx.Err())
				}
				if _, err := w.Write([]byte{9}); err != nil {
					t.Fatal(err)
				}
				if v := wait(read(context.Background())); v.n != 1 || v.err != nil || v.b != 9 {
					t.Fatalf("Background read afterwards = %d, %v, byte %d; want 1, nil, 9", v.n, v.err, v.b)
				}
				if got := r.ReadDeadline(); !got.Equal(userDL) {
					t.Errorf("the user's deadline became %v, want %v", got, userDL)
				}
			})
		}
	}
}
