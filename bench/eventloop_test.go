package main

import (
	"fmt"
	"testing"
)

// BenchmarkEventLoop: one op is one 1-byte message served, in rounds of
// one message to each of N pipes, per contender of the event-loop
// measurement (go run . -only eventloop prints the table).
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
