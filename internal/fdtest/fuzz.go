package fdtest

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// This file holds what the fuzz targets of the root package and of
// adapters share: how a fuzz byte becomes a transfer size or a deadline,
// and the set of outcomes a model allows for one call.

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

// Expect is the set of outcomes a fuzz model allows for one read or
// write.
type Expect struct {
	Errs    []error // errors allowed with n == 0 (and with 0 < n < len(p) for partial writes)
	Data    bool    // a read may return 1..min(len(p), pending) bytes
	EOF     bool    // a read may return 0, io.EOF
	Full    bool    // a write may return len(p), nil (a read of len 0: 0, nil)
	Partial bool    // a write may return 0 < n < len(p) with one of Errs
}

// Allow adds err to the errors allowed.
func (e *Expect) Allow(err error) { e.Errs = append(e.Errs, err) }

// Blocks reports whether the call could wait with nothing to end the wait
// but the hang limit: a model must never issue such a call.
func (e *Expect) Blocks() bool {
	return !e.Data && !e.EOF && !e.Full && len(e.Errs) == 0
}

// Match returns the allowed error err wraps, or nil.
func (e *Expect) Match(err error) error {
	for _, want := range e.Errs {
		if errors.Is(err, want) {
			return want
		}
	}
	return nil
}

func (e Expect) String() string {
	var b strings.Builder
	for _, err := range e.Errs {
		fmt.Fprintf(&b, "[%v] ", err)
	}
	fmt.Fprintf(&b, "data=%v eof=%v full=%v partial=%v", e.Data, e.EOF, e.Full, e.Partial)
	return b.String()
}
