package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// table is a markdown table built row by row. The first column, and any
// marked with leftAlign, is left-aligned; the others are right-aligned.
type table struct {
	head []string
	left map[int]bool
	rows [][]string
}

func newTable(head ...string) *table { return &table{head: head, left: map[int]bool{0: true}} }

// leftAlign left-aligns the columns numbered cols (from 0).
func (t *table) leftAlign(cols ...int) *table {
	for _, c := range cols {
		t.left[c] = true
	}
	return t
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

// print writes t as a markdown table, columns padded for reading as text;
// every column but the first is right-aligned.
func (t *table) print(w io.Writer) {
	width := make([]int, len(t.head))
	for i, h := range t.head {
		width[i] = max(len([]rune(h)), 3)
	}
	for _, r := range t.rows {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(cells []string) {
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if t.left[i] {
				fmt.Fprintf(w, "| %s%s ", c, pad)
			} else {
				fmt.Fprintf(w, "| %s%s ", pad, c)
			}
		}
		fmt.Fprintln(w, "|")
	}
	line(t.head)
	for i := range t.head {
		if t.left[i] {
			fmt.Fprintf(w, "| %s ", strings.Repeat("-", width[i]))
		} else {
			fmt.Fprintf(w, "| %s: ", strings.Repeat("-", width[i]-1))
		}
	}
	fmt.Fprintln(w, "|")
	for _, r := range t.rows {
		line(r)
	}
	fmt.Fprintln(w)
}

// section prints a heading and a paragraph of explanation.
func section(w io.Writer, title string, about ...string) {
	fmt.Fprintf(w, "## %s\n\n", title)
	for _, a := range about {
		fmt.Fprintln(w, a)
	}
	if len(about) > 0 {
		fmt.Fprintln(w)
	}
}

// quantile returns the q-quantile (0..1, nearest rank) of sorted samples.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// sortedCopy returns the samples sorted ascending.
func sortedCopy(s []time.Duration) []time.Duration {
	c := append([]time.Duration(nil), s...)
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	return c
}

// medianFloat returns the median of xs (the mean of the middle two for an
// even count); NaN for none.
func medianFloat(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	c := append([]float64(nil), xs...)
	sort.Float64s(c)
	m := len(c) / 2
	if len(c)%2 == 1 {
		return c[m]
	}
	return (c[m-1] + c[m]) / 2
}

// fmtDur formats d with three significant figures in a fixed unit.
func fmtDur(d time.Duration) string {
	switch {
	case d < 10*time.Microsecond:
		return fmt.Sprintf("%.2f µs", float64(d)/1e3)
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f µs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// fmtInt formats n with thousands separators.
func fmtInt(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtFloat formats x with thousands separators and no decimals, or "–".
func fmtFloat(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	return fmtInt(int64(math.Round(x)))
}

// ratio returns x/ref; NaN when either is unknown (NaN or negative, as
// the quantiles of a missing result are) or ref is zero.
func ratio(x, ref float64) float64 {
	if math.IsNaN(x) || math.IsNaN(ref) || x < 0 || ref <= 0 {
		return math.NaN()
	}
	return x / ref
}

// fmtRatio formats a ratio as "1.23×", or "–" when unknown.
func fmtRatio(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "–"
	}
	return fmt.Sprintf("%.2f×", r)
}

// subsection prints a second-level heading and a paragraph.
func subsection(w io.Writer, title string, about ...string) {
	fmt.Fprintf(w, "### %s\n\n", title)
	for _, a := range about {
		fmt.Fprintln(w, a)
	}
	if len(about) > 0 {
		fmt.Fprintln(w)
	}
}

// errNotMeasured stands for a result the run did not produce.
var errNotMeasured = errors.New("not measured")
