package main

import (
	"context"
	"testing"
	"time"
)

// The go test form of the comparison, for benchstat:
//
//	go test -run '^$' -bench . -count 10 > new.txt && benchstat new.txt
//
// Each benchmark has one sub-benchmark per contender. Scale and the
// leak checks need fresh processes and stay in the go run summary.

// forEach runs bench as a sub-benchmark for every contender.
func forEach(b *testing.B, bench func(b *testing.B, c contender)) {
	for _, rc := range registered {
		b.Run(rc.c.Name(), func(b *testing.B) {
			b.ReportAllocs()
			bench(b, rc.c)
		})
	}
}

// BenchmarkPingPong: one op is a 1-byte round trip through an echo
// goroutine over two pipes, cancellable ctx on every call.
func BenchmarkPingPong(b *testing.B) {
	forEach(b, func(b *testing.B, c contender) {
		e, err := startEcho(c)
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
// by another goroutine with a 64 KiB buffer.
func BenchmarkThroughput(b *testing.B) {
	forEach(b, func(b *testing.B, c contender) {
		r, w, closeAll, err := c.NewPipe()
		if err != nil {
			b.Fatal(err)
		}
		defer closeAll()
		b.SetBytes(chunk)
		b.ResetTimer()
		if _, err := pump(w, r, int64(b.N)*chunk); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
	})
}

// BenchmarkWriteReadReady: one op is a 1-byte write and the read of that
// byte, which is ready; allocs/op is the sum of both paths.
func BenchmarkWriteReadReady(b *testing.B) {
	forEach(b, func(b *testing.B, c contender) {
		r, w, closeAll, err := c.NewPipe()
		if err != nil {
			b.Fatal(err)
		}
		defer closeAll()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		buf := make([]byte, 1)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := w.WriteContext(ctx, buf); err != nil {
				b.Fatal(err)
			}
			if _, err := r.ReadContext(ctx, buf); err != nil {
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
