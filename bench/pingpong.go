package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"
)

// pingPongResult is one contender's ping-pong over all rounds.
type pingPongResult struct {
	name        string
	perSec      float64 // round trips per second over all rounds
	median, p99 time.Duration
	err         error
}

// runPingPong measures 1-byte round trips over two pipes with an echo
// goroutine at the far end, a cancellable ctx on every call. Contenders
// take turns, one round each, -rounds times.
func runPingPong(w io.Writer, cfg config) []pingPongResult {
	section(w, "1. Ping-pong",
		fmt.Sprintf("1-byte messages over two pipes to an echo goroutine and back, context.WithCancel ctx on every call; "+
			"%d rounds of %s round trips per contender, contenders round-robin. Every round trip is timed; ratio: median round trip against osfile.",
			cfg.rounds, fmtInt(int64(cfg.roundTrips))))
	res := make([]pingPongResult, len(cfg.contenders))
	samples := make([][]time.Duration, len(cfg.contenders))
	elapsed := make([]time.Duration, len(cfg.contenders))
	for i, c := range cfg.contenders {
		res[i].name = c.Name()
		samples[i] = make([]time.Duration, 0, cfg.rounds*cfg.roundTrips)
	}
	buf := make([]time.Duration, cfg.roundTrips)
	for round := 0; round < cfg.rounds; round++ {
		for i, c := range cfg.contenders {
			if res[i].err != nil {
				continue
			}
			d, err := pingPongRound(c, buf)
			if err != nil {
				res[i].err = err
				continue
			}
			elapsed[i] += d
			samples[i] = append(samples[i], buf...)
		}
	}
	for i := range res {
		if res[i].err != nil || len(samples[i]) == 0 {
			continue
		}
		s := sortedCopy(samples[i])
		res[i].median, res[i].p99 = quantile(s, 0.5), quantile(s, 0.99)
		res[i].perSec = float64(len(s)) / elapsed[i].Seconds()
	}

	ref := pingPongRef(res)
	t := newTable("contender", "round trips/s", "median RTT", "p99 RTT", "median × osfile", "p99 × osfile")
	for _, r := range res {
		if r.err != nil {
			t.add(r.name, "error: "+r.err.Error(), "", "", "", "")
			continue
		}
		t.add(r.name, fmtFloat(r.perSec), fmtDur(r.median), fmtDur(r.p99),
			fmtRatio(ratio(float64(r.median), float64(ref.median))),
			fmtRatio(ratio(float64(r.p99), float64(ref.p99))))
	}
	t.print(w)
	return res
}

// pingPongRef returns the reference's result, or one whose values make
// every ratio unknown.
func pingPongRef(res []pingPongResult) pingPongResult {
	for _, r := range res {
		if r.name == referenceName && r.err == nil {
			return r
		}
	}
	return pingPongResult{}
}

// pingPongRound sets up an echo, warms up, then times len(rtt) round
// trips, each into rtt, and returns the total.
func pingPongRound(c contender, rtt []time.Duration) (time.Duration, error) {
	e, err := startEcho(c)
	if err != nil {
		return 0, err
	}
	defer e.close()
	for i := 0; i < min(len(rtt)/10+1, 1000); i++ {
		if err := e.roundTrip(); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	prev := start
	for i := range rtt {
		if err := e.roundTrip(); err != nil {
			return 0, err
		}
		now := time.Now()
		rtt[i] = now.Sub(prev)
		prev = now
	}
	return prev.Sub(start), nil
}

// echo is two fresh pipes of one contender and a goroutine that reads
// each byte from the first and writes it back into the second, all calls
// with one cancellable ctx.
type echo struct {
	ctx    context.Context
	aw     Writer
	br     Reader
	buf    [1]byte
	cancel context.CancelFunc
	done   chan struct{} // closed when the echo goroutine returns
	closeA func()
	closeB func()
}

func startEcho(c contender) (*echo, error) {
	ar, aw, closeA, err := c.NewPipe()
	if err != nil {
		return nil, err
	}
	br, bw, closeB, err := c.NewPipe()
	if err != nil {
		closeA()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &echo{ctx: ctx, aw: aw, br: br, cancel: cancel, done: make(chan struct{}), closeA: closeA, closeB: closeB}
	go func() {
		defer close(e.done)
		var b [1]byte
		for {
			if _, err := ar.ReadContext(ctx, b[:]); err != nil {
				return
			}
			if _, err := bw.WriteContext(ctx, b[:]); err != nil {
				return
			}
		}
	}()
	return e, nil
}

// roundTrip sends one byte to the echo goroutine and reads it back.
func (e *echo) roundTrip() error {
	if _, err := e.aw.WriteContext(e.ctx, e.buf[:]); err != nil {
		return err
	}
	_, err := e.br.ReadContext(e.ctx, e.buf[:])
	return err
}

// close stops the echo goroutine and closes both pipes. It cancels ctx;
// if the echo goroutine does not return, its read cannot be cancelled, so
// close writes it a byte (its echo then fails with the cancelled ctx) and,
// as a last resort, closes the pipe under it.
func (e *echo) close() {
	e.cancel()
	select {
	case <-e.done:
	case <-time.After(10 * time.Millisecond):
		e.aw.WriteContext(context.Background(), []byte{0})
		select {
		case <-e.done:
		case <-time.After(time.Second):
			e.closeA() // end of stream for the echo's read
			<-e.done
			e.closeB()
			return
		}
	}
	e.closeA()
	e.closeB()
}

// pingPongTargets records the ping-pong targets: fdstream-epoll's median
// round trip at most 0.95× osfile's, fdstream-select's at most 3×.
func pingPongTargets(res []pingPongResult) {
	ref := pingPongRef(res)
	for _, tg := range []struct {
		name  string
		limit float64
	}{{"fdstream-epoll", 0.95}, {"fdstream-select", 3}} {
		r := math.NaN()
		for _, x := range res {
			if x.name == tg.name && x.err == nil {
				r = ratio(float64(x.median), float64(ref.median))
			}
		}
		judge(tg.name+" ping-pong median RTT", r, fmtRatio(r), fmt.Sprintf("≤ %.2f×", tg.limit), r <= tg.limit)
	}
}
