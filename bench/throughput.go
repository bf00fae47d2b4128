package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/fdstream/fdstream"
)

// chunk is the size of each write, and of the reader's buffer.
const chunk = 64 << 10

// throughputResult is one contender's MB/s, one value per round.
type throughputResult struct {
	name   string
	mbps   []float64
	copies []float64 // fdstream.Copy between two of its pipes, if its ends are Streams
	err    error
}

func (r throughputResult) median() float64 { return medianFloat(r.mbps) }

// runThroughput measures 64 KiB writes through one pipe to a reader with a
// 64 KiB buffer, cancellable ctx on every call; contenders round-robin.
// For contenders whose ends are fdstream Streams it also times
// fdstream.Copy between two pipes.
func runThroughput(w io.Writer, cfg config) []throughputResult {
	section(w, "2. Throughput",
		fmt.Sprintf("64 KiB writes through one pipe to a reader with a 64 KiB buffer, context.WithCancel ctx on every call; "+
			"%d MiB per contender per round, %d rounds, round-robin. MB/s is 10⁶ bytes/s, median over rounds; ratio against osfile.",
			cfg.mib, cfg.rounds))
	res := make([]throughputResult, len(cfg.contenders))
	total := cfg.mib << 20
	for i, c := range cfg.contenders {
		res[i].name = c.Name()
	}
	for round := 0; round < cfg.rounds; round++ {
		for i, c := range cfg.contenders {
			if res[i].err != nil {
				continue
			}
			d, isStream, err := throughputRound(c, total)
			if err != nil {
				res[i].err = err
				continue
			}
			res[i].mbps = append(res[i].mbps, float64(total)/d.Seconds()/1e6)
			if !isStream {
				continue
			}
			if d, err = copyRound(c, total); err != nil {
				res[i].err = fmt.Errorf("fdstream.Copy: %w", err)
				continue
			}
			res[i].copies = append(res[i].copies, float64(total)/d.Seconds()/1e6)
		}
	}

	ref := throughputRef(res)
	t := newTable("contender", "MB/s", "min–max", "× osfile")
	for _, r := range res {
		if r.err != nil {
			t.add(r.name, "error: "+r.err.Error(), "", "")
			continue
		}
		lo, hi := minMax(r.mbps)
		t.add(r.name, fmtFloat(r.median()), fmtFloat(lo)+"–"+fmtFloat(hi), fmtRatio(ratio(r.median(), ref)))
	}
	t.print(w)

	c := newTable("fdstream.Copy (pipe → Copy → pipe)", "MB/s", "min–max", "× direct")
	for _, r := range res {
		if len(r.copies) > 0 {
			lo, hi := minMax(r.copies)
			m := medianFloat(r.copies)
			c.add(r.name, fmtFloat(m), fmtFloat(lo)+"–"+fmtFloat(hi), fmtRatio(ratio(m, r.median())))
		}
	}
	if len(c.rows) > 0 {
		fmt.Fprintln(w, "fdstream.Copy(ctx, pipe2 writer, pipe1 reader) between two pipes of the same contender, "+
			"a writer and a reader as above at the ends; ratio against the same contender's direct pipe.")
		fmt.Fprintln(w)
		c.print(w)
	}
	return res
}

func throughputRef(res []throughputResult) float64 {
	for _, r := range res {
		if r.name == referenceName && r.err == nil {
			return r.median()
		}
	}
	return math.NaN()
}

func minMax(xs []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// throughputRound moves total bytes through a fresh pipe and returns how
// long it took, and whether the contender's ends are fdstream Streams.
func throughputRound(c contender, total int64) (time.Duration, bool, error) {
	r, w, closeAll, err := c.NewPipe()
	if err != nil {
		return 0, false, err
	}
	defer closeAll()
	_, isStream := r.(*fdstream.Stream)
	d, err := pump(w, r, total)
	return d, isStream, err
}

// copyRound times fdstream.Copy from one fresh pipe to another, total bytes
// written into the first and read from the second.
func copyRound(c contender, total int64) (time.Duration, error) {
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
	src, ok1 := r1.(*fdstream.Stream)
	dst, ok2 := w2.(*fdstream.Stream)
	if !ok1 || !ok2 {
		return 0, errors.New("ends are not fdstream Streams")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	copied := make(chan error, 1)
	go func() {
		_, err := fdstream.Copy(ctx, dst, src)
		copied <- err
	}()
	d, err := pump(w1, r2, total)
	cancel()
	if cerr := <-copied; err == nil && cerr != nil && !errors.Is(cerr, context.Canceled) {
		err = cerr
	}
	return d, err
}

// pump writes total bytes to w in 64 KiB writes while a goroutine reads
// them from r, and returns the time until the reader has them all.
func pump(w Writer, r Reader, total int64) (time.Duration, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, chunk)
		for got := int64(0); got < total; {
			n, err := r.ReadContext(ctx, buf)
			got += int64(n)
			if err != nil {
				cancel() // wakes a writer blocked on a full pipe
				done <- err
				return
			}
		}
		done <- nil
	}()
	buf := make([]byte, chunk)
	start := time.Now()
	for sent := int64(0); sent < total; sent += chunk {
		if _, err := w.WriteContext(ctx, buf[:min(chunk, total-sent)]); err != nil {
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

// throughputTargets records fdstream-epoll's throughput target: at least
// 0.95× osfile's.
func throughputTargets(res []throughputResult) {
	r := math.NaN()
	for _, x := range res {
		if x.name == "fdstream-epoll" && x.err == nil {
			r = ratio(x.median(), throughputRef(res))
		}
	}
	judge("fdstream-epoll throughput (64 KiB writes)", r, fmtRatio(r), "≥ 0.95×", r >= 0.95)
}
