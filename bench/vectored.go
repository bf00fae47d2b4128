package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/fdstream/fdstream"
)

// vectoredResult is one way of writing 16 × 1 KiB: time and write
// syscalls per 16 KiB, one value per round.
type vectoredResult struct {
	name     string
	ns, sysc []float64
	err      error
}

// vectoredWays are the rows of the vectored measurement.
var vectoredWays = []struct {
	name  string
	write func(ctx context.Context, s *fdstream.Stream, bufs [][]byte) error
}{
	{"WriteBuffersContext(16 × 1 KiB)", func(ctx context.Context, s *fdstream.Stream, bufs [][]byte) error {
		_, err := s.WriteBuffersContext(ctx, bufs)
		return err
	}},
	{"16 × WriteContext(1 KiB)", func(ctx context.Context, s *fdstream.Stream, bufs [][]byte) error {
		for _, b := range bufs {
			if _, err := s.WriteContext(ctx, b); err != nil {
				return err
			}
		}
		return nil
	}},
}

// runVectored measures writing 16 buffers of 1 KiB to an fdstream pipe,
// drained by a reader goroutine, as one WriteBuffersContext and as 16
// WriteContext calls: time per 16 KiB, and write syscalls (write(2),
// writev(2), EAGAIN attempts included) per 16 KiB as the kernel counts
// them in /proc/self/io (syscw; reads are counted apart, in syscr).
func runVectored(w io.Writer, cfg config) []vectoredResult {
	ops := max(cfg.roundTrips, 100)
	section(w, "7. Vectored writes",
		fmt.Sprintf("16 buffers of 1 KiB written to an fdstream.Pipe (DefaultReactor) drained by a reader goroutine (64 KiB buffer), "+
			"context.WithCancel ctx; %s writes of 16 KiB per way per round, %d rounds, round-robin; medians over rounds. "+
			"Syscalls are the process's write-type syscalls from /proc/self/io (syscw), so writes that found the pipe full count too.",
			fmtInt(int64(ops)), cfg.rounds))
	res := make([]vectoredResult, len(vectoredWays))
	for i, v := range vectoredWays {
		res[i].name = v.name
	}
	for round := 0; round < cfg.rounds; round++ {
		for i, v := range vectoredWays {
			if res[i].err != nil {
				continue
			}
			ns, sysc, err := vectoredRound(v.write, ops)
			if err != nil {
				res[i].err = err
				continue
			}
			res[i].ns = append(res[i].ns, ns)
			res[i].sysc = append(res[i].sysc, sysc)
		}
	}
	t := newTable("way", "ns per 16 KiB", "write syscalls per 16 KiB", "MB/s")
	for _, r := range res {
		if r.err != nil {
			t.add(r.name, "error: "+r.err.Error(), "", "")
			continue
		}
		ns := medianFloat(r.ns)
		t.add(r.name, fmtFloat(ns), fmt.Sprintf("%.2f", medianFloat(r.sysc)), fmtFloat(16<<10/ns*1e3))
	}
	t.print(w)
	q := vectoredRatios(res)
	fmt.Fprintf(w, "16 × WriteContext ÷ WriteBuffersContext: %s the syscalls, %s the time.\n\n", fmtRatio(q.sysc), fmtRatio(q.speed))
	return res
}

type vectoredRatio struct{ sysc, speed float64 }

// vectoredRatios: 16 WriteContext calls against one WriteBuffersContext,
// in syscalls and in time, each the median of per-round ratios.
func vectoredRatios(res []vectoredResult) vectoredRatio {
	q := vectoredRatio{math.NaN(), math.NaN()}
	if len(res) != 2 || res[0].err != nil || res[1].err != nil || len(res[0].ns) != len(res[1].ns) {
		return q
	}
	var sysc, speed []float64
	for i := range res[0].ns {
		sysc = append(sysc, ratio(res[1].sysc[i], res[0].sysc[i]))
		speed = append(speed, ratio(res[1].ns[i], res[0].ns[i]))
	}
	return vectoredRatio{medianFloat(sysc), medianFloat(speed)}
}

// vectoredTargets judges issue 14's vectored targets: at least 3× fewer
// syscalls than 16 WriteContext calls, and faster.
func vectoredTargets(t *targetTable, res []vectoredResult) {
	q := vectoredRatios(res)
	of := ""
	if len(res) == 2 && res[0].err == nil && res[1].err == nil {
		of = fmt.Sprintf("medians %.2f vs %.2f syscalls, %s vs %s ns per 16 KiB",
			medianFloat(res[0].sysc), medianFloat(res[1].sysc), fmtFloat(medianFloat(res[0].ns)), fmtFloat(medianFloat(res[1].ns)))
	}
	t.judge("WriteBuffersContext 16 × 1 KiB: syscalls, 16 WriteContext ÷ it", "≥ 3×", of, q.sysc, fmtRatio(q.sysc), q.sysc >= 3)
	t.judge("WriteBuffersContext 16 × 1 KiB: time, 16 WriteContext ÷ it", "> 1×", of, q.speed, fmtRatio(q.speed), q.speed > 1)
}

// vectoredRound writes ops times 16 × 1 KiB with write to a fresh pipe
// and returns ns and write syscalls per 16 KiB.
func vectoredRound(write func(context.Context, *fdstream.Stream, [][]byte) error, ops int) (ns, sysc float64, err error) {
	r, w, err := fdstream.Pipe()
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	defer w.Close()
	total := int64(ops) * 16 << 10
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 64<<10)
		for got := int64(0); got < total; {
			n, err := r.Read(buf)
			got += int64(n)
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	bufs := make([][]byte, 16)
	for i := range bufs {
		bufs[i] = bytes.Repeat([]byte{byte(i)}, 1<<10)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before, err := syscw()
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	for i := 0; i < ops; i++ {
		if err := write(ctx, w, bufs); err != nil {
			w.Close()
			<-done
			return 0, 0, err
		}
	}
	if err := <-done; err != nil {
		return 0, 0, err
	}
	d := time.Since(start)
	after, err := syscw()
	if err != nil {
		return 0, 0, err
	}
	return float64(d.Nanoseconds()) / float64(ops), float64(after-before) / float64(ops), nil
}

// syscw reads the process's count of write-type syscalls.
func syscw() (int64, error) {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("syscw: ")); ok {
			return strconv.ParseInt(string(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/self/io: no syscw line")
}
