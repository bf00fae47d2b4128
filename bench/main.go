// Command bench compares fdstream with the Go runtime poller (os.File, ctx
// bridged with context.AfterFunc) and with other ways of doing
// context-aware I/O on a pipe, and prints the comparison as markdown:
//
//	go -C bench run .            # defaults, about two and a half minutes on 2 busy cores
//	go -C bench run . -tiny      # very small sizes, for CI
//	go -C bench run . -only=pingpong,throughput -contenders=fdstream-runtime,osfile -modes=fresh
//
// Every ratio is against the osfile contender measured in the same run;
// where it makes sense, contenders run round-robin so that noise on the
// machine hits them alike. Ping-pong, throughput and allocations run in
// three ctx modes (a long-lived cancellable ctx, context.Background(), a
// fresh ctx per call; see ctxmode.go). The Targets table at the end judges
// issue 9's targets: fdstream-runtime against osfile, and fdstream-epoll
// against fdstream-epoll@c704f65, the epoll backend as it was before (a
// generated copy of that commit's library, internal/c704f65). The scale measurement and the leak part of the
// cancellation measurement run each contender in a fresh child process
// (this program re-executed with a hidden first argument, -child).
//
// It is its own module, so that the peers it measures never enter the
// library's go.mod. The same measurements are also go test benchmarks
// (bench_test.go), for benchstat.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// measurements in report order.
var measurements = []string{"pingpong", "throughput", "cancel", "scale", "allocs", "copy", "vectored", "eventloop"}

// config is what the flags ask for.
type config struct {
	only        map[string]bool
	contenders  []contender
	modes       []ctxMode
	rounds      int   // interleaved repetitions (ping-pong, cancellation)
	scaleRounds int   // scale children per contender
	wakes       int   // wake-ups per scale child
	roundTrips  int   // ping-pong round trips per contender per round
	tputRounds  int   // interleaved throughput rounds
	mib         int64 // throughput MiB per contender per round
	tries       int   // cancellations timed per contender
	pipes       int   // pipes at scale
	allocRuns   int   // operations averaged per allocation count
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-child" {
		os.Exit(childMain(os.Args[2:]))
	}
	cur, _ := nofile()
	fs := flag.CommandLine
	only := fs.String("only", strings.Join(measurements, ","), "measurements to run, comma-separated: "+strings.Join(measurements, ","))
	names := fs.String("contenders", "all", "contenders, comma-separated: "+strings.Join(allNames(), ",")+" (ratios need "+referenceName+")")
	modes := fs.String("modes", "all", "ctx modes for ping-pong, throughput and allocations, comma-separated: "+modeFlags()+" (targets need all)")
	rounds := fs.Int("rounds", 5, "interleaved rounds for ping-pong and cancellation")
	roundTrips := fs.Int("roundtrips", 10000, "ping-pong round trips per contender, mode and round")
	scaleRounds := fs.Int("scale-rounds", 5, "interleaved rounds for scale (a child process per contender and round)")
	wakes := fs.Int("wakes", 5, "times each scale child blocks and wakes every reader (it reports the median)")
	tputRounds := fs.Int("throughput-rounds", 45, "interleaved rounds for throughput")
	mib := fs.Int64("mib", 32, "throughput MiB per contender, mode and round (64 KiB writes)")
	tries := fs.Int("tries", 1000, "cancellations timed per contender, spread over the rounds")
	pipes := fs.Int("pipes", defaultPipes(cur), "pipes at scale; the default is as many as RLIMIT_NOFILE allows")
	allocRuns := fs.Int("allocruns", 1000, "operations averaged per allocation count")
	tiny := fs.Bool("tiny", false, "very small sizes, runs in seconds (for CI); explicit size flags still win")
	flag.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go -C bench run . [flags]\n\nPrints fdstream side by side with os.File on the Go runtime poller and peers, as markdown.\n\n")
		fs.PrintDefaults()
	}
	flag.Parse()
	if fs.NArg() > 0 {
		fatalf("unexpected arguments %q", fs.Args())
	}
	if *tiny {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		small := map[string]string{"rounds": "2", "scale-rounds": "2", "wakes": "1", "roundtrips": "300", "throughput-rounds": "2", "mib": "4", "tries": "20", "pipes": "64", "allocruns": "100"}
		for name, v := range small {
			if !set[name] {
				fs.Set(name, v)
			}
		}
	}
	cfg := config{rounds: *rounds, scaleRounds: *scaleRounds, wakes: *wakes, roundTrips: *roundTrips, tputRounds: *tputRounds, mib: *mib, tries: *tries, pipes: *pipes, allocRuns: *allocRuns}
	if cfg.rounds < 1 || cfg.scaleRounds < 1 || cfg.wakes < 1 || cfg.roundTrips < 1 || cfg.tputRounds < 1 || cfg.mib < 1 || cfg.tries < 1 || cfg.pipes < 1 || cfg.allocRuns < 1 {
		fatalf("sizes must be at least 1")
	}
	if cfg.allocRuns+allocWarmUp > 60000 {
		fatalf("-allocruns: the bytes must fit in a pipe's 64 KiB buffer (at most %d)", 60000-allocWarmUp)
	}
	cfg.only = map[string]bool{}
	for _, m := range strings.Split(*only, ",") {
		m = strings.TrimSpace(m)
		if !contains(measurements, m) {
			fatalf("unknown measurement %q (have %s)", m, strings.Join(measurements, ","))
		}
		cfg.only[m] = true
	}
	var err error
	if cfg.contenders, err = pickContenders(*names); err != nil {
		fatalf("%v", err)
	}
	if cfg.modes, err = parseModes(*modes); err != nil {
		fatalf("%v", err)
	}

	start := time.Now()
	baseGoroutines := runtime.NumGoroutine()
	w := os.Stdout
	printHeader(w, cfg)
	var res results
	for _, m := range measurements {
		if !cfg.only[m] {
			continue
		}
		t0 := time.Now()
		res.measure(m, w, cfg)
		fmt.Fprintf(w, "_%s took %.1f s._\n\n", m, time.Since(t0).Seconds())
	}
	printTargets(w, res)
	settle(time.Second, false)
	fmt.Fprintf(w, "\nFinished in %.1f s; goroutines at exit %d (at start %d).\n",
		time.Since(start).Seconds(), runtime.NumGoroutine(), baseGoroutines)
}

// results are what the measurements found; a measurement not run leaves
// its field nil.
type results struct {
	pingPong   pingPongResults
	throughput throughputResults
	cancel     []cancelResult
	scale      []scaleSummary
	allocs     []allocResult
	copy       []copyResult
	vectored   []vectoredResult
	eventLoop  map[int][]loopResult
}

// measure runs measurement m and keeps its results.
func (res *results) measure(m string, w io.Writer, cfg config) {
	switch m {
	case "pingpong":
		res.pingPong = runPingPong(w, cfg)
	case "throughput":
		res.throughput = runThroughput(w, cfg)
	case "cancel":
		res.cancel = runCancel(w, cfg)
	case "scale":
		res.scale = runScale(w, cfg)
	case "allocs":
		res.allocs = runAllocs(w, cfg)
	case "copy":
		res.copy = runCopy(w, cfg)
	case "vectored":
		res.vectored = runVectored(w, cfg)
	case "eventloop":
		res.eventLoop = runEventLoop(w, cfg)
	}
}

// defaultPipes is as many pipes as RLIMIT_NOFILE allows with 400 fds to
// spare (for the runtime, the reactors and /proc reads).
func defaultPipes(nofile uint64) int {
	return max(int((int64(nofile)-400)/2), 1)
}

// printHeader prints the machine facts, the peers' versions and the flags.
func printHeader(w io.Writer, cfg config) {
	fmt.Fprintf(w, "# fdstream benchmark\n\n")
	cur, hard := nofile()
	t := newTable("fact", "value").leftAlign(1)
	t.add("go version", runtime.Version())
	t.add("GOOS/GOARCH", runtime.GOOS+"/"+runtime.GOARCH)
	t.add("GOMAXPROCS", fmt.Sprintf("%d (NumCPU %d)", runtime.GOMAXPROCS(0), runtime.NumCPU()))
	t.add("CPU", cpuModel())
	t.add("kernel", kernel())
	t.add("RLIMIT_NOFILE", fmt.Sprintf("%d (hard %d)", cur, hard))
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			v := d.Version
			if d.Replace != nil {
				v = "=> " + d.Replace.Path
			}
			t.add(d.Path, v)
		}
	}
	t.print(w)
	var flags []string
	flag.VisitAll(func(f *flag.Flag) { flags = append(flags, "-"+f.Name+"="+f.Value.String()) })
	fmt.Fprintf(w, "Command line: `%s`\n\n", strings.Join(append([]string{"bench"}, os.Args[1:]...), " "))
	fmt.Fprintf(w, "Effective flags: `%s`\n\n", strings.Join(flags, " "))
	c := newTable("contender", "how it waits and cancels").leftAlign(1)
	for _, ct := range cfg.contenders {
		c.add(ct.Name(), ct.About())
	}
	c.print(w)
}

// runChild re-executes this program as a child measuring kind for the
// contender called name and decodes its JSON result into v. The child is
// killed if it runs longer than limit.
func runChild(kind, name string, limit time.Duration, v any, args ...string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, append([]string{"-child", kind, "-contender", name}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("child killed after %v", limit)
		}
		return fmt.Errorf("%s child for %s: %v: %s", kind, name, err, strings.TrimSpace(stderr.String()))
	}
	return json.Unmarshal(out, v)
}

// childMain runs one measurement for one contender in this fresh process
// and writes its result as JSON on stdout.
func childMain(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "bench -child: want scale or cancel")
		return 2
	}
	kind := args[0]
	fs := flag.NewFlagSet("child", flag.ContinueOnError)
	name := fs.String("contender", "", "contender")
	pipes := fs.Int("pipes", 1, "pipes at scale")
	fs.IntVar(&wakeRounds, "wakes", wakeRounds, "wake-ups at scale")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	c, ok := lookup(*name)
	if !ok {
		fmt.Fprintf(os.Stderr, "bench -child: unknown contender %q\n", *name)
		return 2
	}
	var res any
	switch kind {
	case "scale":
		res = scaleChild(c, *pipes)
	case "cancel":
		res = leakChild(c)
	default:
		fmt.Fprintf(os.Stderr, "bench -child: unknown measurement %q\n", kind)
		return 2
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(2)
}
