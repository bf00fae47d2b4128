package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"sync/atomic"
	"time"
)

// pingPongResult is one contender's ping-pong in one ctx mode over all
// rounds.
type pingPongResult struct {
	name        string
	perSec      float64 // round trips per second over all rounds
	median, p99 time.Duration
	// Each round's median and p99, for ratios between rounds taken
	// side by side.
	roundMedian, roundP99 []time.Duration
	err                   error
}

// ratioTo returns r's median and p99 round trip against ref's, each the
// median over the rounds of the ratio of the two contenders' figures of
// the same round: a round's turns follow each other within seconds, so a
// pair saw about the same load from the rest of the machine. NaN if
// either has no result.
func (r pingPongResult) ratioTo(ref pingPongResult) (median, p99 float64) {
	if r.err != nil || ref.err != nil {
		return math.NaN(), math.NaN()
	}
	var ms, ps []float64
	for k := 0; k < min(len(r.roundMedian), len(ref.roundMedian)); k++ {
		ms = append(ms, ratio(float64(r.roundMedian[k]), float64(ref.roundMedian[k])))
		ps = append(ps, ratio(float64(r.roundP99[k]), float64(ref.roundP99[k])))
	}
	return medianFloat(ms), medianFloat(ps)
}

// pingPongResults are a run's results: [mode][contender], in cfg order.
type pingPongResults map[ctxMode][]pingPongResult

// runPingPong measures 1-byte round trips over two pipes with an echo
// goroutine at the far end, in every ctx mode asked for. Contenders and
// modes take turns, one round each, -rounds times.
func runPingPong(w io.Writer, cfg config) pingPongResults {
	section(w, "1. Ping-pong",
		fmt.Sprintf("1-byte messages over two pipes to an echo goroutine and back; every call, on both sides, with the ctx of the mode. "+
			"%d rounds of %s round trips per contender and mode; in each round every mode and every contender take one turn "+
			"(the contenders' order rotating from round to round, and reversed every other round, so that each contender follows each of its neighbours as often). Every round trip is timed. Median and p99 RTT are over all rounds; "+
			"× osfile is the median over rounds of the ratio of the round's median (p99) to osfile's in the same round and mode.", cfg.rounds, fmtInt(int64(cfg.roundTrips))))
	n := len(cfg.contenders)
	res := pingPongResults{}
	samples := map[ctxMode][][]time.Duration{}
	elapsed := map[ctxMode][]time.Duration{}
	for _, m := range cfg.modes {
		res[m] = make([]pingPongResult, n)
		samples[m] = make([][]time.Duration, n)
		elapsed[m] = make([]time.Duration, n)
		for i, c := range cfg.contenders {
			res[m][i].name = c.Name()
			samples[m][i] = make([]time.Duration, 0, cfg.rounds*cfg.roundTrips)
		}
	}
	buf := make([]time.Duration, cfg.roundTrips)
	for round := 0; round < cfg.rounds; round++ {
		for _, m := range cfg.modes {
			for k := range cfg.contenders {
				i := turn(round, k, n)
				if res[m][i].err != nil {
					continue
				}
				d, err := pingPongRound(cfg.contenders[i], m, buf)
				if err != nil {
					res[m][i].err = err
					continue
				}
				elapsed[m][i] += d
				samples[m][i] = append(samples[m][i], buf...)
				sorted := sortedCopy(buf)
				res[m][i].roundMedian = append(res[m][i].roundMedian, quantile(sorted, 0.5))
				res[m][i].roundP99 = append(res[m][i].roundP99, quantile(sorted, 0.99))
			}
		}
	}
	for _, m := range cfg.modes {
		for i := range res[m] {
			r := &res[m][i]
			if r.err != nil || len(samples[m][i]) == 0 {
				continue
			}
			s := sortedCopy(samples[m][i])
			r.median, r.p99 = quantile(s, 0.5), quantile(s, 0.99)
			r.perSec = float64(len(s)) / elapsed[m][i].Seconds()
		}
		samples[m] = nil
	}

	for j, m := range cfg.modes {
		subsection(w, fmt.Sprintf("1%c. %s", 'a'+j, m), m.about()+".")
		ref := res.find(m, referenceName)
		t := newTable("contender", "round trips/s", "median RTT", "p99 RTT", "median × osfile", "p99 × osfile")
		for _, r := range res[m] {
			if r.err != nil {
				t.add(r.name, "error: "+r.err.Error(), "", "", "", "")
				continue
			}
			rm, rp := r.ratioTo(ref)
			t.add(r.name, fmtFloat(r.perSec), fmtDur(r.median), fmtDur(r.p99), fmtRatio(rm), fmtRatio(rp))
		}
		t.print(w)
	}
	return res
}

// find returns the result of the contender called name in mode m, or one
// whose values make every ratio unknown (zero quantiles and an error).
func (res pingPongResults) find(m ctxMode, name string) pingPongResult {
	for _, r := range res[m] {
		if r.name == name && r.err == nil {
			return r
		}
	}
	return pingPongResult{name: name, median: -1, p99: -1, err: errNotMeasured}
}

// pingPongRound sets up an echo, warms up, then times len(rtt) round
// trips, each into rtt, and returns the total.
func pingPongRound(c contender, m ctxMode, rtt []time.Duration) (time.Duration, error) {
	e, err := startEcho(c, m)
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
// each byte from the first and writes it back into the second, every call
// on both sides with the ctx of one mode.
type echo struct {
	call   caller
	aw     Writer
	br     Reader
	buf    [1]byte
	cancel context.CancelFunc // of call.long
	stop   atomic.Bool        // the echo goroutine returns after its next read
	done   chan struct{}      // closed when the echo goroutine returns
	closeA func()
	closeB func()
}

func startEcho(c contender, m ctxMode) (*echo, error) {
	ar, aw, closeA, err := c.NewPipe()
	if err != nil {
		return nil, err
	}
	br, bw, closeB, err := c.NewPipe()
	if err != nil {
		closeA()
		return nil, err
	}
	long, cancel := context.WithCancel(context.Background())
	e := &echo{call: caller{m, long}, aw: aw, br: br, cancel: cancel, done: make(chan struct{}), closeA: closeA, closeB: closeB}
	go func() {
		defer close(e.done)
		var b [1]byte
		for {
			if _, err := e.call.read(ar, b[:]); err != nil || e.stop.Load() {
				return
			}
			if _, err := e.call.write(bw, b[:]); err != nil {
				return
			}
		}
	}()
	return e, nil
}

// roundTrip sends one byte to the echo goroutine and reads it back.
func (e *echo) roundTrip() error {
	if _, err := e.call.write(e.aw, e.buf[:]); err != nil {
		return err
	}
	_, err := e.call.read(e.br, e.buf[:])
	return err
}

// close stops the echo goroutine and closes both pipes. The goroutine is
// between round trips, blocked in its read: close cancels the long-lived
// ctx (which ends that read in mode ctxLong) and writes it one more byte
// (which ends it in the other modes, and for contenders that cannot
// cancel); as a last resort it closes the pipe under the read.
func (e *echo) close() {
	e.stop.Store(true)
	e.cancel()
	e.aw.WriteContext(context.Background(), []byte{0})
	select {
	case <-e.done:
	case <-time.After(time.Second):
		e.closeA() // end of stream for the echo's read
		<-e.done
		e.closeB()
		return
	}
	e.closeA()
	e.closeB()
}
