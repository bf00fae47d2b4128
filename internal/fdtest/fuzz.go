package fdtest

import "time"

// This file holds the decoders the fuzz targets of the root package and
// of adapters share: how a fuzz byte becomes a transfer size or a
// deadline.

// FuzzSize maps a fuzz byte to a transfer size: 0..127 as is, then steps
// of 64 bytes up to about 6 KiB, then steps of 2 KiB up to 64 KiB.
func FuzzSize(b byte) int {
	switch {
	case b < 128:
		return int(b)
	case b < 224:
		return 128 + int(b-128)*64
	}
	return int(b-223) * 2048
}

// Deadline is what a fuzz model knows about a read or write deadline.
type Deadline uint8

const (
	DeadlineNone Deadline = iota // zero: no deadline
	DeadlinePast                 // set in the past: every call fails at entry
	DeadlineSoon                 // microseconds ahead: may or may not have passed
	DeadlineFar                  // an hour ahead: never passes during the test
)

// DeadlineNames names each Deadline, for a model's trace.
var DeadlineNames = [...]string{"none", "past", "soon", "far"}

// DeadlineTime returns the time a fuzz byte asks for, and its kind.
func DeadlineTime(b byte) (time.Time, Deadline) {
	switch k := Deadline(b % 4); k {
	case DeadlinePast:
		return time.Now().Add(-time.Second), k
	case DeadlineSoon:
		return time.Now().Add(time.Duration(1+int(b>>2)%32*10) * time.Microsecond), k
	case DeadlineFar:
		return time.Now().Add(time.Hour), k
	default:
		return time.Time{}, DeadlineNone
	}
}
