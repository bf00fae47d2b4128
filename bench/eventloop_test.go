package main

import (
	"fmt"
	"testing"
)

// BenchmarkEventLoop: b.N 1-byte messages served, in rounds of one
// message to each of N pipes, per contender of the event-loop measurement
// (go run . -only eventloop prints the table). ns/msg is the served
// messages alone; ns/op and allocs/op also count making and closing the
// N pipes.
func BenchmarkEventLoop(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		for _, lc := range loopContenders {
			if lc.fits != nil && !lc.fits(n) {
				continue
			}
			b.Run(fmt.Sprintf("N=%d/%s", n, lc.name), func(b *testing.B) {
				b.ReportAllocs()
				rounds := max(1, (b.N+n-1)/n)
				d, _, _, err := loopTrial(lc, n, rounds)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(d.Nanoseconds())/float64(n*rounds), "ns/msg")
			})
		}
	}
}
