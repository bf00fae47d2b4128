package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"
)

const (
	// blockWait is how long a read is given to block before it is cancelled.
	blockWait = 200 * time.Microsecond
	// cancelLimit is how long a cancelled read may take to return before
	// its contender is reported as unable to cancel.
	cancelLimit = time.Second
	// leakBytes are written after a cancellation; the next read, with a
	// fresh ctx, should get them all.
	leakBytes = 20
)

// cancelResult is one contender's cancellation figures.
type cancelResult struct {
	name         string
	lat          []time.Duration // cancel() to the read returning
	cannotCancel bool            // a cancelled read was still blocked after cancelLimit
	lostUnblock  int             // bytes the uncancellable read consumed when unblocked
	leak         leakResult
	err          error
}

// leakResult is what one cancellation leaves behind, measured in a fresh
// child process so that earlier contenders' threads do not hide new ones.
type leakResult struct {
	Returned             bool   `json:"returned"`               // the cancelled read returned within cancelLimit
	ThreadsWhileBlocked  int    `json:"threads_while_blocked"`  // /proc/self/task delta with the read blocked
	Threads              int    `json:"threads"`                // delta once settled after cancel
	SyscallsWhileBlocked int    `json:"syscalls_while_blocked"` // inSyscalls delta with the read blocked
	Syscalls             int    `json:"syscalls"`               // inSyscalls delta once settled after cancel
	Goroutines           int    `json:"goroutines"`             // NumGoroutine delta once settled after cancel
	Lost                 int    `json:"lost"`                   // of leakBytes written after the cancel
	Err                  string `json:"err,omitempty"`
}

// readResult is what a read started by startRead returned, and when.
type readResult struct {
	n   int
	err error
	at  time.Time
}

// startRead starts r.ReadContext(ctx, buf) in a goroutine and returns once
// the goroutine is about to call it; the result arrives on the channel.
func startRead(ctx context.Context, r Reader, buf []byte) <-chan readResult {
	ch := make(chan readResult, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		n, err := r.ReadContext(ctx, buf)
		ch <- readResult{n, err, time.Now()}
	}()
	<-started
	return ch
}

// runCancel times cancellations of reads blocked on empty pipes, the
// contenders taking turns over the rounds, then measures what one
// cancellation leaves behind in a child process per contender.
func runCancel(w io.Writer, cfg config) []cancelResult {
	section(w, "3. Cancellation",
		fmt.Sprintf("A read blocked on an empty pipe (given at least %v to block), then cancel(); time from cancel() to the read returning, "+
			"%s tries per contender spread over %d round-robin rounds (a fresh pipe per round). "+
			"A read still blocked %v after cancel() is reported as \"cannot cancel\", and is unblocked by writing a byte.",
			blockWait, fmtInt(int64(cfg.tries)), cfg.rounds, cancelLimit),
		fmt.Sprintf("Then, in a fresh child process per contender: one cancelled read; goroutines and OS threads (/proc/self/task) "+
			"added once settled (threads also while blocked), and bytes lost when %d bytes are written afterwards "+
			"and read, 10 ms later, with a fresh ctx. A /proc/self/task delta of 0 is not proof, as the runtime may reuse an idle thread; "+
			"\"threads held in syscalls\" counts goroutines in a system call (runtime/metrics /sched/goroutines/not-in-go), each holding a thread.",
			leakBytes))
	res := make([]cancelResult, len(cfg.contenders))
	for i, c := range cfg.contenders {
		res[i].name = c.Name()
		res[i].lat = make([]time.Duration, 0, cfg.tries)
	}
	for round := 0; round < cfg.rounds; round++ {
		n := cfg.tries / cfg.rounds
		if round < cfg.tries%cfg.rounds {
			n++
		}
		for i, c := range cfg.contenders {
			if res[i].err == nil && !res[i].cannotCancel && n > 0 {
				res[i].err = cancelRound(c, n, &res[i])
			}
		}
	}
	for i, c := range cfg.contenders {
		if err := runChild("cancel", c.Name(), 30*time.Second, &res[i].leak); err != nil {
			res[i].leak.Err = err.Error()
		}
	}

	ref := cancelRef(res)
	t := newTable("contender", "median", "p99", "median × osfile", "p99 × osfile",
		"goroutines left", "threads added (blocked/after)", "threads held in syscalls (blocked/after)", fmt.Sprintf("bytes lost of %d", leakBytes), "note").leftAlign(9)
	for _, r := range res {
		if r.err != nil {
			t.add(r.name, "error: "+r.err.Error(), "", "", "", "", "", "", "", "")
			continue
		}
		med, p99, rmed, rp99, note := "–", "–", "–", "–", ""
		if r.cannotCancel {
			med, p99 = "cannot cancel", "cannot cancel"
			note = fmt.Sprintf("still blocked %v after cancel(); unblocking it with a write, the cancelled call consumed %d byte(s)", cancelLimit, r.lostUnblock)
		} else if m, p := r.quantiles(); m >= 0 {
			rm, rp := ref.quantiles()
			med, p99 = fmtDur(m), fmtDur(p)
			rmed, rp99 = fmtRatio(ratio(float64(m), float64(rm))), fmtRatio(ratio(float64(p), float64(rp)))
		}
		g, th, sys, lost := "–", "–", "–", "–"
		if l := r.leak; l.Err != "" {
			note = joinNote(note, "leak check: "+l.Err)
		} else {
			g, lost = fmt.Sprint(l.Goroutines), fmt.Sprint(l.Lost)
			th = fmt.Sprintf("%d/%d", l.ThreadsWhileBlocked, l.Threads)
			sys = fmt.Sprintf("%d/%d", l.SyscallsWhileBlocked, l.Syscalls)
			if !l.Returned {
				note = joinNote(note, "leak check: the cancelled read never returned")
			}
		}
		t.add(r.name, med, p99, rmed, rp99, g, th, sys, lost, note)
	}
	t.print(w)
	return res
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// quantiles returns the median and p99 cancellation latency; -1 if none.
func (r cancelResult) quantiles() (med, p99 time.Duration) {
	if len(r.lat) == 0 || r.cannotCancel || r.err != nil {
		return -1, -1
	}
	s := sortedCopy(r.lat)
	return quantile(s, 0.5), quantile(s, 0.99)
}

func cancelRef(res []cancelResult) cancelResult {
	for _, r := range res {
		if r.name == referenceName {
			return r
		}
	}
	return cancelResult{err: fmt.Errorf("no %s", referenceName)}
}

// cancelRound times n cancellations on one fresh pipe, appending to
// res.lat. At the first read that does not return it records the
// contender as unable to cancel and stops.
func cancelRound(c contender, n int, res *cancelResult) error {
	r, w, closeAll, err := c.NewPipe()
	if err != nil {
		return err
	}
	defer closeAll()
	for k := 0; k < n; k++ {
		ctx, cancel := context.WithCancel(context.Background())
		done := startRead(ctx, r, make([]byte, 64))
		time.Sleep(blockWait)
		limit := time.NewTimer(cancelLimit) // made before, to keep it off the timed path
		start := time.Now()
		cancel()
		select {
		case rr := <-done:
			limit.Stop()
			if rr.err == nil {
				return fmt.Errorf("a cancelled read on an empty pipe returned %d bytes and no error", rr.n)
			}
			res.lat = append(res.lat, rr.at.Sub(start))
		case <-limit.C:
			res.cannotCancel = true
			if _, err := w.WriteContext(context.Background(), []byte{1}); err != nil {
				return err
			}
			select {
			case rr := <-done:
				res.lostUnblock += rr.n
			case <-time.After(cancelLimit): // closeAll will end it
			}
			return nil
		}
	}
	return nil
}

// leakChild runs in a fresh process: one warm-up round trip, then one
// blocked read cancelled, then leakBytes written and read back with a
// fresh ctx. It reports the goroutines and threads added and the bytes
// that did not arrive.
func leakChild(c contender) leakResult {
	var res leakResult
	r, w, closeAll, err := c.NewPipe()
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer closeAll()
	warm, cancelWarm := context.WithCancel(context.Background())
	_, err = w.WriteContext(warm, []byte{1})
	if err == nil {
		_, err = r.ReadContext(warm, make([]byte, 1))
	}
	cancelWarm()
	if err != nil {
		res.Err = "warm-up: " + err.Error()
		return res
	}
	settle(time.Second, false)
	g0, t0, s0 := runtime.NumGoroutine(), threadCount(), inSyscalls()

	ctx, cancel := context.WithCancel(context.Background())
	done := startRead(ctx, r, make([]byte, 64))
	settle(time.Second, false)
	res.ThreadsWhileBlocked, res.SyscallsWhileBlocked = threadCount()-t0, inSyscalls()-s0
	cancel()
	select {
	case <-done:
		res.Returned = true
	case <-time.After(cancelLimit):
	}
	settle(time.Second, false)
	res.Goroutines, res.Threads, res.Syscalls = runtime.NumGoroutine()-g0, threadCount()-t0, inSyscalls()-s0

	if _, err := w.WriteContext(context.Background(), make([]byte, leakBytes)); err != nil {
		res.Err = "write: " + err.Error()
		return res
	}
	// Give whatever is still reading (a leaked goroutine, a read blocked in
	// read(2)) the time a program would before its next read.
	time.Sleep(10 * time.Millisecond)
	res.Lost = leakBytes - readFor(r, leakBytes, 500*time.Millisecond)
	return res
}

// readFor reads from r with fresh ctxs until it has want bytes or limit has
// passed, and returns how many it got. A read that ignores its ctx is
// abandoned (the pipe's close ends it).
func readFor(r Reader, want int, limit time.Duration) int {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	got := 0
	for got < want {
		done := startRead(ctx, r, make([]byte, 64))
		select {
		case rr := <-done:
			got += rr.n
			if rr.err != nil {
				return got
			}
		case <-time.After(limit + cancelLimit):
			return got
		}
	}
	return got
}
