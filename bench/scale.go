package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// scaleResult is what a scale child reports.
type scaleResult struct {
	Pipes          int    `json:"pipes"`
	Limit          string `json:"limit,omitempty"` // why there are fewer pipes than asked
	GOMAXPROCS     int    `json:"gomaxprocs"`
	Shards         int    `json:"shards,omitempty"`
	Loops          int    `json:"loops"` // shard loops running with every reader blocked
	ThreadsBase    int    `json:"threads_base"`
	Threads        int    `json:"threads"` // with every reader blocked
	GoroutinesBase int    `json:"goroutines_base"`
	Goroutines     int    `json:"goroutines"`
	RSSBaseKiB     int64  `json:"rss_base_kib"`
	RSSKiB         int64  `json:"rss_kib"`
	StackBase      uint64 `json:"stack_base"` // runtime.MemStats.StackInuse, bytes
	Stack          uint64 `json:"stack"`
	HeapBase       uint64 `json:"heap_base"` // runtime.MemStats.HeapInuse, bytes
	Heap           uint64 `json:"heap"`
	WakeNs         int64  `json:"wake_ns"` // first wake-up write to the last reader returning, median of wakeRounds
	Err            string `json:"err,omitempty"`
}

// scaleSummary is a contender's scale results over the rounds.
type scaleSummary struct {
	name                string
	pipes               int
	limit               string
	gomaxprocs, shards  int
	loops               int // the most shard loops seen running
	threads             int // the most seen with every reader blocked
	threadsBase         int // the most seen before
	goroutinesPerReader float64
	rssPerReader        float64   // KiB, median
	stackPerReader      float64   // KiB of goroutine stacks, median
	heapPerReader       float64   // KiB of heap spans in use, median
	wakePerReader       float64   // ns, median
	wakes               []float64 // ns per reader, by round
	err                 string
}

// summarize takes the medians of per-reader figures over the rounds, and
// the most threads seen.
func summarize(name string, runs []scaleResult) scaleSummary {
	s := scaleSummary{name: name, rssPerReader: math.NaN(), wakePerReader: math.NaN()}
	var gs, rss, stack, heap, wake []float64
	for _, r := range runs {
		if r.Err != "" {
			s.err = r.Err
			return s
		}
		if r.Pipes == 0 {
			continue
		}
		p := float64(r.Pipes)
		s.pipes, s.limit, s.gomaxprocs, s.shards = r.Pipes, r.Limit, r.GOMAXPROCS, r.Shards
		s.threads, s.threadsBase = max(s.threads, r.Threads), max(s.threadsBase, r.ThreadsBase)
		s.loops = max(s.loops, r.Loops)
		gs = append(gs, float64(r.Goroutines-r.GoroutinesBase)/p)
		rss = append(rss, float64(r.RSSKiB-r.RSSBaseKiB)/p)
		stack = append(stack, (float64(r.Stack)-float64(r.StackBase))/1024/p)
		heap = append(heap, (float64(r.Heap)-float64(r.HeapBase))/1024/p)
		wake = append(wake, float64(r.WakeNs)/p)
	}
	s.wakes = wake
	if len(gs) == 0 {
		s.err = "no result"
		return s
	}
	s.goroutinesPerReader, s.rssPerReader, s.wakePerReader = medianFloat(gs), medianFloat(rss), medianFloat(wake)
	s.stackPerReader, s.heapPerReader = medianFloat(stack), medianFloat(heap)
	return s
}

// runScale runs each contender in a fresh child process with -pipes pipes
// (or as many as it can make) and one blocked ReadContext on each,
// -rounds times, the contenders taking turns.
func runScale(w io.Writer, cfg config) []scaleSummary {
	section(w, "4. Scale",
		fmt.Sprintf("As many pipes as asked (%s) or as the contender can make, one reader blocked in ReadContext on each "+
			"(one shared context.WithCancel ctx), each contender in a fresh child process, %d round-robin rounds. "+
			"OS threads: /proc/self/task with every reader blocked (before any reader: in brackets), the most seen in any round; "+
			"shard loops: the reactor's loops running then (– for contenders without a reactor). "+
			"Goroutines and RSS (VmRSS) are deltas from before the readers started, per reader, median over rounds; "+
			"the harness's own goroutine per reader is included. Stacks (runtime.MemStats.StackInuse: spans held for goroutine stacks, "+
			"and for the stacks of threads the runtime starts, touched or not) and heap (HeapInuse) are deltas per reader likewise, "+
			"to tell what the RSS is made of. "+
			"Wake: one byte written to each pipe in turn, from the first write to the last reader returning, per reader; "+
			"each child blocks and wakes every reader %d times (the first blocking is the one measured above) and reports the median; "+
			"wake/reader is the median over rounds, and × osfile the median over rounds of the ratio to osfile's child of the same round.",
			fmtInt(int64(cfg.pipes)), cfg.scaleRounds, cfg.wakes))
	runs := make([][]scaleResult, len(cfg.contenders))
	for round := 0; round < cfg.scaleRounds; round++ {
		for i, c := range cfg.contenders {
			var r scaleResult
			if err := runChild("scale", c.Name(), 120*time.Second, &r, fmt.Sprintf("-pipes=%d", cfg.pipes), fmt.Sprintf("-wakes=%d", cfg.wakes)); err != nil {
				r.Err = err.Error()
			}
			runs[i] = append(runs[i], r)
		}
	}
	res := make([]scaleSummary, len(cfg.contenders))
	for i, c := range cfg.contenders {
		res[i] = summarize(c.Name(), runs[i])
	}
	ref := scaleRef(res)
	t := newTable("contender", "pipes", "OS threads", "shard loops", "goroutines/reader", "RSS/reader", "RSS × osfile",
		"stacks/reader", "heap/reader", "wake/reader", "wake × osfile", "note").leftAlign(11)
	for i, r := range res {
		if r.err != "" {
			t.add(r.name, "–", "–", "–", "–", "–", "–", "–", "–", "–", "–", "error: "+r.err)
			continue
		}
		loops := "–"
		if _, ok := cfg.contenders[i].(loopCounter); ok {
			loops = fmt.Sprint(r.loops)
		}
		t.add(r.name, fmtInt(int64(r.pipes)),
			fmt.Sprintf("%s (%d)", fmtInt(int64(r.threads)), r.threadsBase),
			loops,
			fmt.Sprintf("%.2f", r.goroutinesPerReader),
			fmt.Sprintf("%.2f KiB", r.rssPerReader),
			fmtRatio(ratio(r.rssPerReader, ref.rssPerReader)),
			fmt.Sprintf("%.2f KiB", r.stackPerReader),
			fmt.Sprintf("%.2f KiB", r.heapPerReader),
			fmtDur(time.Duration(r.wakePerReader)),
			fmtRatio(r.wakeRatio(ref)),
			r.limit)
	}
	t.print(w)
	return res
}

// wakeRatio returns s's wake time per reader against ref's: the median,
// over the rounds, of the ratio of the two children of the same round
// (run one after the other, so under about the same load from the rest of
// the machine). NaN unless both have results at the same pipe count.
func (s scaleSummary) wakeRatio(ref scaleSummary) float64 {
	if s.err != "" || ref.err != "" || s.pipes != ref.pipes {
		return math.NaN()
	}
	var rs []float64
	for k := 0; k < min(len(s.wakes), len(ref.wakes)); k++ {
		rs = append(rs, ratio(s.wakes[k], ref.wakes[k]))
	}
	return medianFloat(rs)
}

func scaleRef(res []scaleSummary) scaleSummary {
	for _, r := range res {
		if r.name == referenceName && r.err == "" {
			return r
		}
	}
	return scaleSummary{err: "no " + referenceName, rssPerReader: math.NaN(), wakePerReader: math.NaN()}
}

// scaleChild runs in a fresh process: it makes up to n pipes, blocks a
// reader on each, measures, and wakes them all.
// wakeRounds is how many times a scale child blocks every reader and
// wakes them all; it reports the median. The first blocking is the one
// whose threads and memory are measured.
var wakeRounds = 3

func scaleChild(c contender, n int) scaleResult {
	// Some contenders hold a thread per blocked reader; the runtime's
	// default limit of 10,000 threads would kill the process first.
	debug.SetMaxThreads(n + 1000)
	res := scaleResult{GOMAXPROCS: runtime.GOMAXPROCS(0)}
	if s, ok := c.(sharded); ok {
		res.Shards = s.Shards()
	}
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
		if err != nil {
			res.Limit = fmt.Sprintf("stopped at %s pipes: %v", fmtInt(int64(len(pipes))), err)
			if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
				// Leave descriptors for /proc reads and the runtime.
				k := max(len(pipes)-16, 0)
				for _, p := range pipes[k:] {
					p.close()
				}
				pipes = pipes[:k]
				res.Limit += fmt.Sprintf("; kept %s", fmtInt(int64(k)))
			}
			break
		}
		pipes = append(pipes, pipe{r, w, cl})
	}
	res.Pipes = len(pipes)
	if res.Pipes == 0 {
		res.Err = res.Limit
		return res
	}
	runtime.GC()
	debug.FreeOSMemory()
	settle(2*time.Second, true)
	res.ThreadsBase, res.GoroutinesBase, res.RSSBaseKiB = threadCount(), runtime.NumGoroutine(), rssKiB()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.StackBase, res.HeapBase = ms.StackInuse, ms.HeapInuse

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var firstErr error
	// block starts a reader blocked in ReadContext on every pipe (one
	// goroutine each) and returns once they have all started.
	block := func() *sync.WaitGroup {
		var started, returned sync.WaitGroup
		for _, p := range pipes {
			started.Add(1)
			returned.Add(1)
			go func(r Reader) {
				defer returned.Done()
				buf := make([]byte, 1)
				started.Done()
				if _, err := r.ReadContext(ctx, buf); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}(p.r)
		}
		started.Wait()
		return &returned
	}
	// wake writes a byte to every pipe in turn and returns the time until
	// every reader has returned.
	one := []byte{1}
	wake := func(returned *sync.WaitGroup) (time.Duration, error) {
		start := time.Now()
		for _, p := range pipes {
			if _, err := p.w.WriteContext(context.Background(), one); err != nil {
				cancel()
				return 0, err
			}
		}
		returned.Wait()
		return time.Since(start), nil
	}

	returned := block()
	settle(20*time.Second, true)
	res.Threads, res.Goroutines, res.RSSKiB = threadCount(), runtime.NumGoroutine(), rssKiB()
	runtime.ReadMemStats(&ms)
	res.Stack, res.Heap = ms.StackInuse, ms.HeapInuse
	if l, ok := c.(loopCounter); ok {
		res.Loops = l.Loops()
	}
	var wakes []float64
	for k := 0; k < wakeRounds; k++ {
		if k > 0 {
			returned = block()
			settle(5*time.Second, false)
		}
		d, err := wake(returned)
		if err != nil {
			res.Err = "wake-up write: " + err.Error()
			return res
		}
		if firstErr != nil {
			res.Err = "blocked read: " + firstErr.Error()
			return res
		}
		wakes = append(wakes, float64(d))
	}
	res.WakeNs = int64(medianFloat(wakes))
	return res
}
