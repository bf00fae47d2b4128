package main

import (
	"fmt"
	"sort"
)

// baudSteps are the rates C-u and C-d step through: the standard ones
// from 300 up, as picocom's baud up and down do.
var baudSteps = []int{
	300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200,
	230400, 460800, 500000, 576000, 921600, 1000000, 1152000, 1500000,
	2000000, 2500000, 3000000, 3500000, 4000000,
}

// baudUp returns the next standard rate above b, or b at the top.
func baudUp(b int) int {
	i := sort.SearchInts(baudSteps, b+1)
	if i == len(baudSteps) {
		return b
	}
	return baudSteps[i]
}

// baudDown returns the next standard rate below b, or b at the bottom.
func baudDown(b int) int {
	i := sort.SearchInts(baudSteps, b)
	if i == 0 {
		return b
	}
	return baudSteps[i-1]
}

// hexDumper shows bytes as hexadecimal pairs, 16 to a line, starting a
// new line after each LF so that a line-oriented device stays readable.
// Its lines end in CR LF: the terminal is raw, with no output processing.
type hexDumper struct {
	col int // pairs on the current line
}

func (h *hexDumper) dump(p []byte, out []byte) []byte {
	for _, b := range p {
		if h.col > 0 {
			out = append(out, ' ')
		}
		out = fmt.Appendf(out, "%02x", b)
		h.col++
		if b == '\n' || h.col == 16 {
			out = append(out, '\r', '\n')
			h.col = 0
		}
	}
	return out
}

// atLineStart reports whether the dump's output ends a line.
func (h *hexDumper) atLineStart() bool { return h.col == 0 }
