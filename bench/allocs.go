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

// allocFigure is the heap allocations of one kind of call: objects and
// bytes per call.
type allocFigure struct {
	allocs, bytes float64
}

func (f allocFigure) String() string {
	return fmt.Sprintf("%.2f (%.0f B)", f.allocs, f.bytes)
}

// zero reports whether f is 0 to two decimals.
func (f allocFigure) zero() bool { return f.allocs < 0.005 }

// allocCounts is one contender's allocations in one ctx mode.
type allocCounts struct {
	ready, waiting, write allocFigure
}

// allocResult is one contender's allocations in every mode measured.
type allocResult struct {
	name  string
	modes map[ctxMode]allocCounts
	err   error
}

// runAllocs counts heap allocations (runtime.MemStats.Mallocs and
// TotalAlloc, which count every goroutine's) per 1-byte operation, in
// every ctx mode.
func runAllocs(w io.Writer, cfg config) []allocResult {
	section(w, "5. Allocations per operation",
		fmt.Sprintf("Heap allocations (runtime.MemStats Mallocs and TotalAlloc deltas, every goroutine's) per 1-byte call, "+
			"averaged over %s calls after %d uncounted ones, as \"objects (bytes)\". Ready read: the byte is already in the pipe. "+
			"Write: into a pipe with room. Waiting read: a helper writes the byte %v after the read started (so the read waits); "+
			"the helper writes with context.Background(), and its write, measured alone, is subtracted. "+
			"Fresh ctx: the ctxs are made before counting starts (so making one, 1 object of %d B, is not counted) and each is cancelled "+
			"as its call returns, inside the count, as `defer cancel()` would. "+
			"Fractions far below one are the runtime refilling a per-P cache (a sudog for a channel wait or a select), "+
			"not the call's own allocations.",
			fmtInt(int64(cfg.allocRuns)), allocWarmUp, helperDelay, cancelCtxSize()))
	res := make([]allocResult, len(cfg.contenders))
	for i, c := range cfg.contenders {
		res[i] = allocResult{name: c.Name(), modes: map[ctxMode]allocCounts{}}
		for _, m := range cfg.modes {
			a, err := countAllocs(c, m, cfg.allocRuns)
			if err != nil {
				res[i].err = fmt.Errorf("%s: %w", m, err)
				break
			}
			res[i].modes[m] = a
		}
	}
	for _, kind := range []struct {
		name string
		get  func(allocCounts) allocFigure
	}{
		{"ready read", func(a allocCounts) allocFigure { return a.ready }},
		{"write (room in the pipe)", func(a allocCounts) allocFigure { return a.write }},
		{"waiting read", func(a allocCounts) allocFigure { return a.waiting }},
	} {
		head := []string{"contender: " + kind.name}
		for _, m := range cfg.modes {
			head = append(head, m.String())
		}
		t := newTable(head...)
		for _, r := range res {
			row := []string{r.name}
			for _, m := range cfg.modes {
				if r.err != nil {
					row = append(row, "error: "+r.err.Error())
					continue
				}
				row = append(row, kind.get(r.modes[m]).String())
			}
			t.add(row...)
		}
		t.print(w)
	}
	return res
}

// cancelCtxSize is the bytes one context.WithCancel(context.Background())
// allocates, as this runtime counts them.
func cancelCtxSize() uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, cancel := context.WithCancel(context.Background())
	runtime.ReadMemStats(&after)
	cancel()
	return after.TotalAlloc - before.TotalAlloc
}

// helperDelay is how long the waiting-read helper waits before writing.
const helperDelay = 50 * time.Microsecond

// allocWarmUp is how many calls of each kind run before counting: caches
// the runtime fills on demand (a P's sudogs for a select, a goroutine's
// timer) would otherwise show as allocations of the first calls.
const allocWarmUp = 200

// allocsPer returns the heap allocations per call of f over runs calls,
// after allocWarmUp calls. f gets the number of the call, from 0.
func allocsPer(runs int, f func(i int) error) (allocFigure, error) {
	for i := 0; i < allocWarmUp; i++ {
		if err := f(i); err != nil {
			return allocFigure{}, err
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		if err := f(allocWarmUp + i); err != nil {
			return allocFigure{}, err
		}
	}
	runtime.ReadMemStats(&after)
	return allocFigure{
		allocs: float64(after.Mallocs-before.Mallocs) / float64(runs),
		bytes:  float64(after.TotalAlloc-before.TotalAlloc) / float64(runs),
	}, nil
}

// ctxPool hands out the ctx of call i in mode m; in ctxFresh they are
// made in advance, so that making one is not counted.
type ctxPool struct {
	m      ctxMode
	long   context.Context
	fresh  []context.Context
	cancel []context.CancelFunc
}

func newCtxPool(m ctxMode, long context.Context, calls int) *ctxPool {
	p := &ctxPool{m: m, long: long}
	if m == ctxFresh {
		p.fresh = make([]context.Context, calls)
		p.cancel = make([]context.CancelFunc, calls)
		for i := range p.fresh {
			p.fresh[i], p.cancel[i] = context.WithCancel(context.Background())
		}
	}
	return p
}

// ctx returns the ctx of call i.
func (p *ctxPool) ctx(i int) context.Context {
	switch p.m {
	case ctxBackground:
		return context.Background()
	case ctxFresh:
		return p.fresh[i]
	}
	return p.long
}

// done is called as call i returns: it cancels a fresh ctx.
func (p *ctxPool) done(i int) {
	if p.m == ctxFresh {
		p.cancel[i]()
	}
}

// countAllocs measures one contender in mode m on a fresh pipe.
func countAllocs(c contender, m ctxMode, runs int) (res allocCounts, err error) {
	r, w, closeAll, err := c.NewPipe()
	if err != nil {
		return res, err
	}
	defer closeAll()
	long, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls := allocWarmUp + runs
	rbuf, wbuf := make([]byte, 1), []byte{1}
	pool := newCtxPool(m, long, calls)
	read := func(i int) error {
		_, err := r.ReadContext(pool.ctx(i), rbuf)
		pool.done(i)
		return err
	}
	// Write allocWarmUp+runs bytes (they fit in the pipe), then read them
	// back, ready.
	res.write, err = allocsPer(runs, func(i int) error {
		_, err := w.WriteContext(pool.ctx(i), wbuf)
		pool.done(i)
		return err
	})
	if err != nil {
		return res, err
	}
	pool = newCtxPool(m, long, calls)
	if res.ready, err = allocsPer(runs, read); err != nil {
		return res, err
	}

	// The helper's write, alone: context.Background(), into a pipe with
	// room; the bytes are then read back uncounted.
	bgWrite := func(int) error { _, err := w.WriteContext(context.Background(), wbuf); return err }
	helper, err := allocsPer(runs, bgWrite)
	if err != nil {
		return res, err
	}
	for i := 0; i < calls; i++ {
		if _, err := r.ReadContext(context.Background(), rbuf); err != nil {
			return res, err
		}
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
			if err := bgWrite(0); err != nil {
				cancel() // fails the reads that follow with the long-lived ctx
				helperDone <- err
				return
			}
		}
		helperDone <- nil
	}()
	pool = newCtxPool(m, long, calls)
	cycle, err := allocsPer(runs, func(i int) error {
		asked.Add(1)
		return read(i)
	})
	stop.Store(1)
	if herr := <-helperDone; err == nil {
		err = herr
	}
	if err != nil {
		return res, err
	}
	res.waiting = allocFigure{math.Max(cycle.allocs-helper.allocs, 0), math.Max(cycle.bytes-helper.bytes, 0)}
	return res, nil
}
