package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync/atomic"
	"time"
)

// allocResult is one contender's heap allocations per operation.
type allocResult struct {
	name                  string
	ready, waiting, write float64
	err                   error
}

// runAllocs counts heap allocations (runtime.MemStats.Mallocs, which
// counts every goroutine's) per 1-byte operation with a cancellable ctx.
func runAllocs(w io.Writer, cfg config) []allocResult {
	section(w, "5. Allocations per operation",
		fmt.Sprintf("Heap allocations (runtime.MemStats.Mallocs deltas, every goroutine's) per 1-byte call with a context.WithCancel ctx, "+
			"averaged over %s calls after %d uncounted ones. Ready read: the byte is already in the pipe. Write: into a pipe with room. "+
			"Waiting read: a helper writes the byte %v after the read started (so the read waits); the helper's write is measured alone "+
			"and subtracted. Fractions far below one are the runtime refilling a per-P cache "+
			"(a sudog for a channel wait or a select), not the call's own allocations.", fmtInt(int64(cfg.allocRuns)), allocWarmUp, helperDelay))
	res := make([]allocResult, len(cfg.contenders))
	for i, c := range cfg.contenders {
		res[i] = countAllocs(c, cfg.allocRuns)
	}
	t := newTable("contender", "ready read", "waiting read", "write")
	for _, r := range res {
		if r.err != nil {
			t.add(r.name, "error: "+r.err.Error(), "", "")
			continue
		}
		t.add(r.name, fmt.Sprintf("%.2f", r.ready), fmt.Sprintf("%.2f", r.waiting), fmt.Sprintf("%.2f", r.write))
	}
	t.print(w)
	return res
}

// helperDelay is how long the waiting-read helper waits before writing.
const helperDelay = 50 * time.Microsecond

// allocWarmUp is how many calls of each kind run before counting: caches
// the runtime fills on demand (a P's sudogs for a select, a goroutine's
// timer) would otherwise show as allocations of the first calls.
const allocWarmUp = 200

// allocsPer returns the heap allocations per call of f over runs calls,
// after allocWarmUp calls.
func allocsPer(runs int, f func() error) (float64, error) {
	for i := 0; i < allocWarmUp; i++ {
		if err := f(); err != nil {
			return 0, err
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		if err := f(); err != nil {
			return 0, err
		}
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(runs), nil
}

// countAllocs measures one contender on a fresh pipe.
func countAllocs(c contender, runs int) (res allocResult) {
	res.name = c.Name()
	r, w, closeAll, err := c.NewPipe()
	if err != nil {
		res.err = err
		return res
	}
	defer closeAll()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rbuf, wbuf := make([]byte, 1), []byte{1}
	read := func() error { _, err := r.ReadContext(ctx, rbuf); return err }
	write := func() error { _, err := w.WriteContext(ctx, wbuf); return err }

	// Write allocWarmUp+runs bytes (they fit in the pipe), then read them
	// back, ready.
	if res.write, err = allocsPer(runs, write); err == nil {
		res.ready, err = allocsPer(runs, read)
	}
	if err != nil {
		res.err = err
		return res
	}

	// A helper writes each byte a moment after the reader asks for it. It
	// busy-polls rather than blocking on a channel or sleeping, so that it
	// allocates nothing itself (a channel wait may allocate a sudog), its
	// delay is not rounded up to the timer's resolution, and the other P
	// stays idle, waiting in the runtime's poller as in a real program.
	// With a single P it must yield instead.
	yield := func() {}
	if runtime.GOMAXPROCS(0) == 1 {
		yield = runtime.Gosched
	}
	var asked, stop atomic.Int64
	helperDone := make(chan error, 1)
	go func() {
		for done := int64(0); stop.Load() == 0; {
			if asked.Load() == done {
				yield()
				continue
			}
			for t := time.Now(); time.Since(t) < helperDelay; {
				yield()
			}
			done++
			if err := write(); err != nil {
				cancel() // fails the reads that follow
				helperDone <- err
				return
			}
		}
		helperDone <- nil
	}()
	cycle, err := allocsPer(runs, func() error {
		asked.Add(1)
		return read()
	})
	stop.Store(1)
	if herr := <-helperDone; err == nil {
		err = herr
	}
	if err != nil {
		res.err = err
		return res
	}
	res.waiting = math.Max(cycle-res.write, 0)
	return res
}

// allocTargets records the zero-allocation targets for fdstream-epoll.
func allocTargets(res []allocResult) {
	var ep *allocResult
	for i := range res {
		if res[i].name == "fdstream-epoll" && res[i].err == nil {
			ep = &res[i]
		}
	}
	for _, x := range []struct {
		what string
		v    func(*allocResult) float64
	}{
		{"ready read", func(r *allocResult) float64 { return r.ready }},
		{"waiting read", func(r *allocResult) float64 { return r.waiting }},
		{"write", func(r *allocResult) float64 { return r.write }},
	} {
		v := math.NaN()
		if ep != nil {
			v = x.v(ep)
		}
		judge("fdstream-epoll allocations per "+x.what, v, fmt.Sprintf("%.2f", v), "0 (0.00 to two decimals)", v < 0.005)
	}
}
