package main

import (
	"context"
	"flag"
	"sync"
	"testing"
	"time"
)

// The go test form of the comparison, for benchstat:
//
//	go test -run '^$' -bench . -count 10 > new.txt && benchstat new.txt
//
// Each benchmark has one sub-benchmark per contender, under one per ctx
// mode where the mode matters (BenchmarkPingPong/fresh/fdstream-runtime).
// Scale and the leak checks need fresh processes, and the waiting-read
// allocation counts a helper, so they stay in the go run summary.

// forEach runs bench as a sub-benchmark for every contender.
func forEach(b *testing.B, bench func(b *testing.B, c contender)) {
	for _, rc := range registered {
		b.Run(rc.c.Name(), func(b *testing.B) {
			b.ReportAllocs()
			bench(b, rc.c)
		})
	}
}

// forEachMode runs bench as a sub-benchmark for every ctx mode (named by
// its -modes flag: long, background, fresh) and, inside, every contender.
func forEachMode(b *testing.B, bench func(b *testing.B, m ctxMode, c contender)) {
	for _, m := range ctxModes {
		b.Run(m.flag(), func(b *testing.B) {
			forEach(b, func(b *testing.B, c contender) { bench(b, m, c) })
		})
	}
}

// BenchmarkPingPong: one op is a 1-byte round trip through an echo
// goroutine over two pipes, every call with the mode's ctx.
func BenchmarkPingPong(b *testing.B) {
	forEachMode(b, func(b *testing.B, m ctxMode, c contender) {
		e, err := startEcho(c, m)
		if err != nil {
			b.Fatal(err)
		}
		defer e.close()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := e.roundTrip(); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
	})
}

// BenchmarkThroughput: one op is a 64 KiB write through one pipe, read
// by another goroutine with a 64 KiB buffer, every call with the mode's
// ctx.
func BenchmarkThroughput(b *testing.B) {
	forEachMode(b, func(b *testing.B, m ctxMode, c contender) {
		r, w, closeAll, err := c.NewPipe()
		if err != nil {
			b.Fatal(err)
		}
		defer closeAll()
		b.SetBytes(chunk)
		b.ResetTimer()
		if _, err := pump(w, r, m, int64(b.N)*chunk); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
	})
}

// BenchmarkWriteReadReady: one op is a 1-byte write and the read of that
// byte, which is ready, both with the mode's ctx; allocs/op is the sum of
// both paths (and, in mode fresh, the ctx the op makes: 1 object).
func BenchmarkWriteReadReady(b *testing.B) {
	forEachMode(b, func(b *testing.B, m ctxMode, c contender) {
		r, w, closeAll, err := c.NewPipe()
		if err != nil {
			b.Fatal(err)
		}
		defer closeAll()
		long, cancel := context.WithCancel(context.Background())
		defer cancel()
		call := caller{m, long}
		buf := make([]byte, 1)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := call.write(w, buf); err != nil {
				b.Fatal(err)
			}
			if _, err := call.read(r, buf); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
	})
}

// BenchmarkCancel: one op blocks a read on an empty pipe and cancels it;
// the ns/cancel metric is the time from cancel() to the read returning
// (ns/op also counts the wait for the read to block). A contender that
// cannot cancel is skipped.
func BenchmarkCancel(b *testing.B) {
	forEach(b, func(b *testing.B, c contender) {
		r, w, closeAll, err := c.NewPipe()
		if err != nil {
			b.Fatal(err)
		}
		defer closeAll()
		var total time.Duration
		for i := 0; i < b.N; i++ {
			ctx, cancel := context.WithCancel(context.Background())
			done := startRead(ctx, r, make([]byte, 64))
			time.Sleep(blockWait)
			limit := time.NewTimer(cancelLimit)
			start := time.Now()
			cancel()
			select {
			case rr := <-done:
				limit.Stop()
				total += rr.at.Sub(start)
			case <-limit.C:
				w.WriteContext(context.Background(), []byte{1}) // unblock it
				<-done
				b.Skipf("cannot cancel: still blocked %v after cancel()", cancelLimit)
			}
		}
		b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/cancel")
	})
}

// BenchmarkWake: the scale measurement's wake-up in go test form, for
// profiles and A/B runs. -wakepipes pipes (1,000) each have a reader
// blocked in ReadContext with one shared long-lived ctx (-wakebg:
// Background); one op is one reader woken by a 1-byte write (the writes
// go to the pipes in turn, as in scale). Blocking the readers again
// between rounds is not timed; write-ns/op is the writing loop's share.
func BenchmarkWake(b *testing.B) {
	n := wakePipes
	forEach(b, func(b *testing.B, c contender) {
		type pipe struct {
			r     Reader
			w     Writer
			close func()
		}
		pipes := make([]pipe, 0, n)
		defer func() {
			for _, p := range pipes {
				p.close()
			}
		}()
		for len(pipes) < n {
			r, w, cl, err := c.NewPipe()
			if err != nil && len(pipes) > 0 {
				// The select backend stops at FD_SETSIZE.
				b.Skipf("%s holds %d pipes, not %d: %v", c.Name(), len(pipes), n, err)
			}
			if err != nil {
				b.Fatal(err)
			}
			pipes = append(pipes, pipe{r, w, cl})
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		one := []byte{1}
		var writing time.Duration
		b.ResetTimer()
		for done := 0; done < b.N; done += n {
			b.StopTimer()
			var returned sync.WaitGroup
			errs := make(chan error, n)
			for _, p := range pipes {
				returned.Add(1)
				go func(r Reader) {
					defer returned.Done()
					rctx := ctx
					if wakeBackground {
						rctx = context.Background()
					}
					if _, err := r.ReadContext(rctx, make([]byte, 1)); err != nil {
						errs <- err
					}
				}(p.r)
			}
			settle(5*time.Second, false) // until the goroutine and thread counts hold still
			b.StartTimer()
			start := time.Now()
			for _, p := range pipes {
				if _, err := p.w.WriteContext(context.Background(), one); err != nil {
					b.Fatal(err)
				}
			}
			writing += time.Since(start)
			returned.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(writing.Nanoseconds())/float64(b.N), "write-ns/op")
	})
}

// BenchmarkWake's flags.
var (
	wakePipes      = 1000
	wakeBackground bool
)

func init() {
	flag.IntVar(&wakePipes, "wakepipes", wakePipes, "BenchmarkWake: pipes, one blocked reader each")
	flag.BoolVar(&wakeBackground, "wakebg", false, "BenchmarkWake: the readers use context.Background()")
}
