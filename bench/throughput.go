package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"
)

// chunk is the size of each write, and of the reader's buffer.
const chunk = 64 << 10

// throughputResult is one contender's MB/s in one ctx mode, one value per
// round.
type throughputResult struct {
	name   string
	mbps   []float64
	copies []float64 // the contender's own Copy between two of its pipes, if it has one (long-lived ctx only)
	err    error
}

func (r throughputResult) median() float64 {
	if r.err != nil {
		return math.NaN()
	}
	return medianFloat(r.mbps)
}

// ratioTo returns r's throughput against ref's as the median, over the
// rounds, of the ratio of the two contenders' figures in the same round:
// the rounds take turns within seconds, so each pair saw about the same
// load from the rest of the machine. NaN if either has no result.
func (r throughputResult) ratioTo(ref throughputResult) float64 {
	if r.err != nil || ref.err != nil {
		return math.NaN()
	}
	var rs []float64
	for k := 0; k < min(len(r.mbps), len(ref.mbps)); k++ {
		rs = append(rs, ratio(r.mbps[k], ref.mbps[k]))
	}
	return medianFloat(rs)
}

// throughputResults are a run's results: [mode][contender], in cfg order.
type throughputResults map[ctxMode][]throughputResult

// find returns the result of the contender called name in mode m, or one
// whose median is unknown.
func (res throughputResults) find(m ctxMode, name string) throughputResult {
	for _, r := range res[m] {
		if r.name == name && r.err == nil {
			return r
		}
	}
	return throughputResult{name: name, err: errNotMeasured}
}

// runThroughput measures 64 KiB writes through one pipe to a reader with a
// 64 KiB buffer in every ctx mode asked for, contenders and modes taking
// turns. For contenders with a Copy of their own (fdstream.Copy) it also
// times that, with the long-lived ctx.
func runThroughput(w io.Writer, cfg config) throughputResults {
	section(w, "2. Throughput",
		fmt.Sprintf("64 KiB writes through one pipe to a reader with a 64 KiB buffer; every call, writer's and reader's, with the ctx of the mode. "+
			"%d MiB per contender and mode per round, %d rounds; in each round every mode and every contender take one turn "+
			"(the contenders' order rotating from round to round, and reversed every other round, so that each contender follows each of its neighbours as often). MB/s is 10⁶ bytes/s, median over rounds. "+
			"× osfile is the median over rounds of the ratio to osfile's figure of the same round and mode "+
			"(a pair measured within a second of each other, so under about the same load from the rest of the machine).", cfg.mib, cfg.tputRounds))
	n := len(cfg.contenders)
	res := throughputResults{}
	for _, m := range cfg.modes {
		res[m] = make([]throughputResult, n)
		for i, c := range cfg.contenders {
			res[m][i].name = c.Name()
		}
	}
	total := cfg.mib << 20
	for round := 0; round < cfg.tputRounds; round++ {
		for _, m := range cfg.modes {
			for k := range cfg.contenders {
				i := turn(round, k, n)
				c, r := cfg.contenders[i], &res[m][i]
				if r.err != nil {
					continue
				}
				d, err := throughputRound(c, m, total)
				if err != nil {
					r.err = err
					continue
				}
				r.mbps = append(r.mbps, float64(total)/d.Seconds()/1e6)
				cp, ok := c.(copier)
				if !ok || m != ctxLong {
					continue
				}
				if d, err = copyRound(c, cp, total); err != nil {
					r.err = fmt.Errorf("Copy: %w", err)
					continue
				}
				r.copies = append(r.copies, float64(total)/d.Seconds()/1e6)
			}
		}
	}

	for j, m := range cfg.modes {
		subsection(w, fmt.Sprintf("2%c. %s", 'a'+j, m), m.about()+".")
		ref := res.find(m, referenceName)
		t := newTable("contender", "MB/s", "min–max", "× osfile")
		for _, r := range res[m] {
			if r.err != nil {
				t.add(r.name, "error: "+r.err.Error(), "", "")
				continue
			}
			lo, hi := minMax(r.mbps)
			t.add(r.name, fmtFloat(r.median()), fmtFloat(lo)+"–"+fmtFloat(hi), fmtRatio(r.ratioTo(ref)))
		}
		t.print(w)
		if m != ctxLong {
			continue
		}
		c := newTable("Copy (pipe → Copy → pipe)", "MB/s", "min–max", "× direct")
		for _, r := range res[m] {
			if len(r.copies) > 0 && r.err == nil {
				lo, hi := minMax(r.copies)
				md := medianFloat(r.copies)
				c.add(r.name, fmtFloat(md), fmtFloat(lo)+"–"+fmtFloat(hi), fmtRatio(ratio(md, r.median())))
			}
		}
		if len(c.rows) > 0 {
			fmt.Fprintln(w, "The library's Copy(ctx, pipe2 writer, pipe1 reader) between two pipes of the same contender, "+
				"a writer and a reader as above at the ends, all with the long-lived ctx; ratio against the same contender's direct pipe.")
			fmt.Fprintln(w)
			c.print(w)
		}
	}
	return res
}

func minMax(xs []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// throughputRound moves total bytes through a fresh pipe and returns how
// long it took.
func throughputRound(c contender, m ctxMode, total int64) (time.Duration, error) {
	r, w, closeAll, err := c.NewPipe()
	if err != nil {
		return 0, err
	}
	defer closeAll()
	return pump(w, r, m, total)
}

// copyRound times the contender's Copy from one fresh pipe to another,
// total bytes written into the first and read from the second, all with a
// long-lived ctx.
func copyRound(c contender, cp copier, total int64) (time.Duration, error) {
	r1, w1, close1, err := c.NewPipe()
	if err != nil {
		return 0, err
	}
	defer close1()
	r2, w2, close2, err := c.NewPipe()
	if err != nil {
		return 0, err
	}
	defer close2()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	copied := make(chan error, 1)
	go func() { copied <- cp.Copy(ctx, w2, r1) }()
	d, err := pump(w1, r2, ctxLong, total)
	cancel()
	if cerr := <-copied; err == nil && cerr != nil && !errors.Is(cerr, context.Canceled) {
		err = cerr
	}
	return d, err
}

// pump writes total bytes to w in 64 KiB writes while a goroutine reads
// them from r, every call with the ctx of mode m, and returns the time
// until the reader has them all.
func pump(w Writer, r Reader, m ctxMode, total int64) (time.Duration, error) {
	long, cancel := context.WithCancel(context.Background())
	defer cancel()
	call := caller{m, long}
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, chunk)
		for got := int64(0); got < total; {
			n, err := call.read(r, buf)
			got += int64(n)
			if err != nil {
				cancel() // wakes a writer blocked on a full pipe (with the long-lived ctx)
				done <- err
				return
			}
		}
		done <- nil
	}()
	buf := make([]byte, chunk)
	start := time.Now()
	for sent := int64(0); sent < total; sent += chunk {
		if _, err := call.write(w, buf[:min(chunk, total-sent)]); err != nil {
			cancel()
			select {
			case rerr := <-done:
				if rerr != nil {
					err = rerr // the reader failed first
				}
			case <-time.After(time.Second): // closing the pipe will end it
			}
			return 0, err
		}
	}
	err := <-done
	return time.Since(start), err
}
