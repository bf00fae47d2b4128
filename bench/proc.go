package main

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// threadCount counts the process's OS threads (entries of /proc/self/task);
// -1 if it cannot.
func threadCount() int {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return -1
	}
	return len(ents)
}

// inSyscalls reports how many goroutines are in a system call (each holds
// an OS thread while it is), from runtime/metrics
// /sched/goroutines/not-in-go:goroutines (approximate); -1 if unknown.
func inSyscalls() int {
	s := []metrics.Sample{{Name: "/sched/goroutines/not-in-go:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return -1
	}
	return int(s[0].Value.Uint64())
}

// rssKiB reads VmRSS from /proc/self/status, in KiB; -1 if it cannot.
func rssKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return n
				}
			}
		}
	}
	return -1
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// kernel returns uname's system name, release and machine.
func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	s := func(b []byte) string { return string(bytes.TrimRight(b, "\x00")) }
	return s(u.Sysname[:]) + " " + s(u.Release[:]) + " " + s(u.Machine[:])
}

// nofile returns RLIMIT_NOFILE (soft, hard).
func nofile() (cur, max uint64) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0
	}
	return rl.Cur, rl.Max
}

// settle waits until the goroutine and thread counts (and, if rss is set,
// VmRSS within 1%) have not changed over three checks 20 ms apart, or
// until limit has passed.
func settle(limit time.Duration, rss bool) {
	type snap struct {
		g, t int
		rss  int64
	}
	take := func() snap {
		s := snap{g: runtime.NumGoroutine(), t: threadCount()}
		if rss {
			s.rss = rssKiB()
		}
		return s
	}
	same := func(a, b snap) bool {
		d := a.rss - b.rss
		return a.g == b.g && a.t == b.t && d*100 <= b.rss && -d*100 <= b.rss
	}
	end := time.Now().Add(limit)
	last, stable := take(), 0
	for stable < 3 && time.Now().Before(end) {
		time.Sleep(20 * time.Millisecond)
		s := take()
		if same(s, last) {
			stable++
		} else {
			stable = 0
		}
		last = s
	}
}
