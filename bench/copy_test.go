package main

import "testing"

// BenchmarkCopy: one op moves 64 KiB through a pipeline of the copy
// measurement (a direct pipe, or two fds with a copy between them).
func BenchmarkCopy(b *testing.B) {
	for _, p := range copyPipelines {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			d, err := pipelineRound(p, int64(b.N)*chunk)
			if err != nil {
				b.Fatal(err)
			}
			// pipelineRound times the transfer alone, without making
			// and closing the fds.
			ns := float64(d.Nanoseconds()) / float64(b.N)
			b.ReportMetric(ns, "ns/op")
			b.ReportMetric(chunk/ns*1e3, "MB/s")
		})
	}
}

// BenchmarkVectored: one op writes 16 buffers of 1 KiB to a pipe a
// reader drains, in one WriteBuffersContext or 16 WriteContext calls;
// syscalls/op counts the write syscalls the kernel saw.
func BenchmarkVectored(b *testing.B) {
	for _, v := range vectoredWays {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			ns, sysc, err := vectoredRound(v.write, b.N)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(ns, "ns/op")
			b.ReportMetric(16<<10/ns*1e3, "MB/s")
			b.ReportMetric(sysc, "syscalls/op")
		})
	}
}
