package main

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"strings"
	"time"
)

// The contenders the targets judge.
const (
	runtimeName  = "fdstream-runtime"
	epollName    = "fdstream-epoll"
	baselineName = "fdstream-epoll@" + baselineRev
	selectName   = "fdstream-select"
)

// noWorse is the allowance of the "no worse than c704f65" targets, so that
// a difference inside the noise of one run on a shared machine is not
// called a regression. It is a choice, not a measured noise level: wake
// times at scale vary by more than that between runs, so a MISS there
// wants a second run before it is believed.
const noWorse = 0.05

// targetRow is one line of the Targets table.
type targetRow struct {
	what, limit, measured, ratio, verdict string
}

// targetTable collects the rows.
type targetTable struct{ rows []targetRow }

// judge adds a row. A NaN value means the measurement did not produce it:
// the row says "not measured". ratio is "–" for absolute targets.
func (t *targetTable) judge(what, limit, measured string, value float64, ratio string, ok bool) {
	v := "MISS"
	switch {
	case math.IsNaN(value):
		v, measured, ratio = "not measured", "–", "–"
	case ok:
		v = "PASS"
	}
	t.rows = append(t.rows, targetRow{what, limit, measured, ratio, v})
}

// atMost and atLeast judge a ratio against a limit.
func (t *targetTable) atMost(what string, r, limit float64, against, measured string) {
	t.judge(what, fmt.Sprintf("≤ %.2f× %s", limit, against), measured, r, fmtRatio(r), r <= limit)
}

func (t *targetTable) atLeast(what string, r, limit float64, against, measured string) {
	t.judge(what, fmt.Sprintf("≥ %.2f× %s", limit, against), measured, r, fmtRatio(r), r >= limit)
}

// printTargets prints every target of issue 9 (its table and its list),
// judged from this run's results.
func printTargets(w io.Writer, res results) {
	section(w, "Targets",
		"Issue 9's targets. Rows name the contender they judge: fdstream-runtime (the default) against osfile from this run, "+
			"and fdstream-epoll against "+baselineName+", the epoll backend as it was before issue 9, also from this run. "+
			fmt.Sprintf("\"No worse\" allows %.0f%%, a chosen allowance for noise on a shared machine (wake times at scale vary by more "+
				"than that between runs, so a MISS there wants a second run); allocation counts are compared exactly. ", noWorse*100)+
			"A measurement left out (-only, -contenders, -modes) leaves its rows \"not measured\".")
	var t targetTable
	pingPongTargets(&t, res.pingPong)
	throughputTargets(&t, res.throughput)
	cancelTargets(&t, res.cancel)
	scaleTargets(&t, res.scale)
	allocTargets(&t, res.allocs)
	noWorseTargets(&t, res)
	copyTargets(&t, res.copy)           // issue 14
	vectoredTargets(&t, res.vectored)   // issue 14
	eventLoopTargets(&t, res.eventLoop) // issue 10

	tb := newTable("target", "limit", "measured", "ratio", "verdict").leftAlign(1, 2)
	count := map[string]int{}
	for _, r := range t.rows {
		tb.add(r.what, r.limit, r.measured, r.ratio, r.verdict)
		count[r.verdict]++
	}
	tb.print(w)
	fmt.Fprintf(w, "%d of %d targets PASS, %d MISS, %d not measured.\n",
		count["PASS"], len(t.rows), count["MISS"], count["not measured"])
}

// rttVs says "x vs y" for two round trips.
func rttVs(a, b pingPongResult) string {
	return "medians " + fmtDur(a.median) + " vs " + fmtDur(b.median) + "; ratio: median of per-round ratios"
}

func medianRatio(a, b pingPongResult) float64 {
	r, _ := a.ratioTo(b)
	return r
}

// issue 9's ping-pong limits against osfile, by mode.
var pingPongLimits = map[ctxMode]float64{ctxLong: 0.85, ctxBackground: 1.05, ctxFresh: 1.0}

// issue 9's throughput limits against osfile, by mode.
var throughputLimits = map[ctxMode]float64{ctxLong: 1.10, ctxBackground: 0.97, ctxFresh: 1.0}

func pingPongTargets(t *targetTable, res pingPongResults) {
	for _, m := range ctxModes {
		rt, ref := res.find(m, runtimeName), res.find(m, referenceName)
		t.atMost(runtimeName+" ping-pong median RTT, "+m.String(), medianRatio(rt, ref), pingPongLimits[m], "osfile", rttVs(rt, ref))
	}
	sel, ref := res.find(ctxLong, selectName), res.find(ctxLong, referenceName)
	t.atMost(selectName+" ping-pong median RTT, "+ctxLong.String(), medianRatio(sel, ref), 3, "osfile", rttVs(sel, ref))
}

func mbpsVs(a, b throughputResult) string {
	return "medians " + fmtFloat(a.median()) + " vs " + fmtFloat(b.median()) + " MB/s; ratio: median of per-round ratios"
}

func throughputTargets(t *targetTable, res throughputResults) {
	for _, m := range ctxModes {
		rt, ref := res.find(m, runtimeName), res.find(m, referenceName)
		t.atLeast(runtimeName+" throughput, "+m.String(), rt.ratioTo(ref), throughputLimits[m], "osfile", mbpsVs(rt, ref))
	}
}

// findCancel returns the cancellation result of the contender called name.
func findCancel(res []cancelResult, name string) cancelResult {
	for _, r := range res {
		if r.name == name && r.err == nil {
			return r
		}
	}
	return cancelResult{name: name, err: errNotMeasured}
}

func cancelTargets(t *targetTable, res []cancelResult) {
	rt, ref := findCancel(res, runtimeName), findCancel(res, referenceName)
	m, p := rt.quantiles()
	rm, rp := ref.quantiles()
	vs := func(a, b time.Duration) string {
		if a < 0 || b < 0 {
			return "–"
		}
		return fmtDur(a) + " vs " + fmtDur(b)
	}
	t.atMost(runtimeName+" cancel median (cancel() to return)", ratio(float64(m), float64(rm)), 1.0, "osfile", vs(m, rm))
	t.atMost(runtimeName+" cancel p99", ratio(float64(p), float64(rp)), 1.5, "osfile", vs(p, rp))
	g, lost := math.NaN(), math.NaN()
	if rt.err == nil && rt.leak.Err == "" {
		g, lost = float64(rt.leak.Goroutines), float64(rt.leak.Lost)
	}
	t.judge(runtimeName+" goroutines left after a cancel", "0", fmt.Sprint(g), g, "–", g == 0)
	t.judge(runtimeName+" bytes lost after a cancel", "0", fmt.Sprintf("%v of %d", lost, leakBytes), lost, "–", lost == 0)
}

// findScale returns the scale summary of the contender called name.
func findScale(res []scaleSummary, name string) scaleSummary {
	for _, r := range res {
		if r.name == name && r.err == "" {
			return r
		}
	}
	return scaleSummary{name: name, err: "not measured", rssPerReader: math.NaN(), wakePerReader: math.NaN()}
}

// scaleRatios returns a's RSS and wake per reader against b's, unknown
// unless both reached the same pipe count.
func scaleRatios(a, b scaleSummary) (rss, wake float64, measured func(what string) string) {
	rss, wake = math.NaN(), math.NaN()
	if a.err == "" && b.err == "" && a.pipes == b.pipes {
		rss, wake = ratio(a.rssPerReader, b.rssPerReader), a.wakeRatio(b)
	}
	measured = func(what string) string {
		if what == "rss" {
			return fmt.Sprintf("%.2f vs %.2f KiB at %s pipes", a.rssPerReader, b.rssPerReader, fmtInt(int64(a.pipes)))
		}
		return fmt.Sprintf("medians %s vs %s at %s pipes; ratio: median of per-round ratios",
			fmtDur(time.Duration(a.wakePerReader)), fmtDur(time.Duration(b.wakePerReader)), fmtInt(int64(a.pipes)))
	}
	return rss, wake, measured
}

func scaleTargets(t *targetTable, res []scaleSummary) {
	rt, ref := findScale(res, runtimeName), findScale(res, referenceName)
	rss, wake, measured := scaleRatios(rt, ref)
	t.atMost(runtimeName+" RSS per blocked reader at max pipes", rss, 1.1, "osfile", measured("rss"))
	t.atMost(runtimeName+" wake per reader at max pipes", wake, 1.0, "osfile", measured("wake"))
	threads, limit := math.NaN(), runtime.GOMAXPROCS(0)+4
	if rt.err == "" {
		threads, limit = float64(rt.threads), rt.gomaxprocs+4
	}
	t.judge(runtimeName+" OS threads at max pipes", fmt.Sprintf("≤ GOMAXPROCS+4 = %d", limit),
		fmt.Sprintf("%v at %s pipes (shard loops: %d)", threads, fmtInt(int64(rt.pipes)), rt.loops), threads, "–", threads <= float64(limit))
}

// findAllocs returns the allocation result of the contender called name.
func findAllocs(res []allocResult, name string) (allocResult, bool) {
	for _, r := range res {
		if r.name == name && r.err == nil {
			return r, true
		}
	}
	return allocResult{name: name}, false
}

func allocTargets(t *targetTable, res []allocResult) {
	rt, ok := findAllocs(res, runtimeName)
	zeros := func(what string, modes []ctxMode, get func(allocCounts) allocFigure) {
		var names, figs []string
		v, all := 0.0, ok
		for _, m := range modes {
			a, have := rt.modes[m]
			all = all && have
			names = append(names, m.String())
			figs = append(figs, get(a).String())
			if !get(a).zero() {
				v = 1
			}
		}
		if !all {
			v = math.NaN()
		}
		t.judge(runtimeName+" allocations per "+what+", "+strings.Join(names, " / "), "0 each (objects per call, to two decimals)",
			strings.Join(figs, " / "), v, "–", v == 0)
	}
	ready := func(a allocCounts) allocFigure { return a.ready }
	write := func(a allocCounts) allocFigure { return a.write }
	waiting := func(a allocCounts) allocFigure { return a.waiting }
	zeros("waiting read", []ctxMode{ctxLong}, waiting)
	zeros("ready read", ctxModes, ready)
	zeros("write (room in the pipe)", ctxModes, write)
	zeros("waiting read", []ctxMode{ctxBackground}, waiting)

	// A fresh cancellable ctx per waiting call: no more than os.File's
	// bridge pays, objects and bytes.
	ref, refOK := findAllocs(res, referenceName)
	a, have := rt.modes[ctxFresh]
	b, haveRef := ref.modes[ctxFresh]
	objs, bytes := math.NaN(), math.NaN()
	if ok && refOK && have && haveRef {
		objs, bytes = a.waiting.allocs, a.waiting.bytes
	}
	t.judge(runtimeName+" allocations per waiting read, fresh ctx per call: objects", "≤ osfile's (its AfterFunc bridge)",
		fmt.Sprintf("%.2f vs %.2f", a.waiting.allocs, b.waiting.allocs), objs,
		fmtRatio(ratio(a.waiting.allocs, b.waiting.allocs)), objs <= b.waiting.allocs+0.005)
	t.judge(runtimeName+" allocations per waiting read, fresh ctx per call: bytes", "≤ osfile's (its AfterFunc bridge)",
		fmt.Sprintf("%.0f B vs %.0f B", a.waiting.bytes, b.waiting.bytes), bytes,
		fmtRatio(ratio(a.waiting.bytes, b.waiting.bytes)), bytes <= b.waiting.bytes+0.5)
}

// noWorseTargets judges fdstream-epoll against the same backend at
// baselineRev, measured in this run: issue 9 asks that the sharded
// backends get no slower.
func noWorseTargets(t *targetTable, res results) {
	what := func(s string) string { return epollName + " vs " + baselineName + ": " + s }
	for _, m := range ctxModes {
		a, b := res.pingPong.find(m, epollName), res.pingPong.find(m, baselineName)
		t.atMost(what("ping-pong median RTT, "+m.String()), medianRatio(a, b), 1+noWorse, "baseline", rttVs(a, b))
	}
	for _, m := range ctxModes {
		a, b := res.throughput.find(m, epollName), res.throughput.find(m, baselineName)
		t.atLeast(what("throughput, "+m.String()), a.ratioTo(b), 1-noWorse, "baseline", mbpsVs(a, b))
	}
	ca, cb := findCancel(res.cancel, epollName), findCancel(res.cancel, baselineName)
	am, _ := ca.quantiles()
	bm, _ := cb.quantiles()
	cm := "–"
	if am >= 0 && bm >= 0 {
		cm = fmtDur(am) + " vs " + fmtDur(bm)
	}
	t.atMost(what("cancel median"), ratio(float64(am), float64(bm)), 1+noWorse, "baseline", cm)

	sa, sb := findScale(res.scale, epollName), findScale(res.scale, baselineName)
	rss, wake, measured := scaleRatios(sa, sb)
	t.atMost(what("RSS per blocked reader at max pipes"), rss, 1+noWorse, "baseline", measured("rss"))
	t.atMost(what("wake per reader at max pipes"), wake, 1+noWorse, "baseline", measured("wake"))
	// Thread counts move by one or two with the runtime's whims, so
	// rather than against the baseline's count, epoll is held to the
	// bound the bench set for it before (GOMAXPROCS + its shards + 4).
	threads, limit := math.NaN(), 0
	if sa.err == "" && sb.err == "" {
		threads, limit = float64(sa.threads), sa.gomaxprocs+sa.shards+4
	}
	t.judge(what("OS threads at max pipes"), fmt.Sprintf("≤ GOMAXPROCS+shards+4 = %d", limit),
		fmt.Sprintf("%d vs %d at %s pipes", sa.threads, sb.threads, fmtInt(int64(sa.pipes))), threads, "–", threads <= float64(limit))

	aa, okA := findAllocs(res.allocs, epollName)
	ab, okB := findAllocs(res.allocs, baselineName)
	worse, v := []string{}, math.NaN()
	var figs []string
	if okA && okB {
		v = 0
		for _, m := range ctxModes {
			x, hx := aa.modes[m]
			y, hy := ab.modes[m]
			if !hx || !hy {
				v = math.NaN()
				break
			}
			for _, k := range []struct {
				name string
				a, b allocFigure
			}{{"ready read", x.ready, y.ready}, {"write", x.write, y.write}, {"waiting read", x.waiting, y.waiting}} {
				if math.Round(k.a.allocs*100) > math.Round(k.b.allocs*100) {
					worse = append(worse, fmt.Sprintf("%s %s: %.2f vs %.2f", k.name, m, k.a.allocs, k.b.allocs))
				}
			}
			figs = append(figs, fmt.Sprintf("%s %.2f/%.2f/%.2f", m.flag(), x.ready.allocs, x.write.allocs, x.waiting.allocs))
		}
	}
	measuredA := strings.Join(figs, "; ") + " (ready/write/waiting)"
	if len(worse) > 0 {
		measuredA = "more: " + strings.Join(worse, "; ")
	}
	t.judge(what("allocations per call, every kind and mode"), "≤ baseline's, each", measuredA, v, "–", len(worse) == 0)
}
