package main

import (
	"context"
	"fmt"
	"strings"
)

// ctxMode is how the calls of a measurement get their ctx. The three
// differ in what a ctx bridge has to do: nothing for Background (its Done
// is nil), one registration kept for a whole run for a long-lived ctx, or
// one registration per call for a fresh ctx.
type ctxMode int

const (
	// ctxLong: one context.WithCancel ctx for every call of a run, as a
	// read loop under one request or connection ctx has.
	ctxLong ctxMode = iota
	// ctxBackground: context.Background(), whose Done is nil.
	ctxBackground
	// ctxFresh: a new context.WithCancel(context.Background()) for every
	// call, cancelled when the call returns (the `ctx, cancel := ...;
	// defer cancel()` pattern). Making it is part of the timed work, for
	// every contender alike.
	ctxFresh
)

// ctxModes in report order.
var ctxModes = []ctxMode{ctxLong, ctxBackground, ctxFresh}

// String is the mode's name in tables.
func (m ctxMode) String() string {
	switch m {
	case ctxLong:
		return "long-lived ctx"
	case ctxBackground:
		return "Background ctx"
	case ctxFresh:
		return "fresh ctx per call"
	}
	return fmt.Sprintf("ctxMode(%d)", int(m))
}

// flag is the mode's name on the command line and in go test names.
func (m ctxMode) flag() string {
	switch m {
	case ctxLong:
		return "long"
	case ctxBackground:
		return "background"
	case ctxFresh:
		return "fresh"
	}
	return fmt.Sprint(int(m))
}

// about says how the mode makes each call's ctx.
func (m ctxMode) about() string {
	switch m {
	case ctxLong:
		return "one context.WithCancel ctx for every call of a round"
	case ctxBackground:
		return "context.Background() on every call (Done() is nil)"
	case ctxFresh:
		return "a new context.WithCancel(context.Background()) per call, cancelled as the call returns"
	}
	return ""
}

// parseModes parses a comma-separated list of mode flags ("all" for every
// mode) into modes in report order.
func parseModes(list string) ([]ctxMode, error) {
	if list == "" || list == "all" {
		return ctxModes, nil
	}
	want := map[string]bool{}
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		ok := false
		for _, m := range ctxModes {
			ok = ok || m.flag() == f
		}
		if !ok {
			return nil, fmt.Errorf("unknown ctx mode %q (have %s)", f, modeFlags())
		}
		want[f] = true
	}
	var ms []ctxMode
	for _, m := range ctxModes {
		if want[m.flag()] {
			ms = append(ms, m)
		}
	}
	return ms, nil
}

func modeFlags() string {
	var fs []string
	for _, m := range ctxModes {
		fs = append(fs, m.flag())
	}
	return strings.Join(fs, ",")
}

// caller makes the calls of one goroutine in a mode. long is the ctx of
// ctxLong; the other modes ignore it.
type caller struct {
	mode ctxMode
	long context.Context
}

// read is r.ReadContext(ctx, p) with the mode's ctx.
func (c caller) read(r Reader, p []byte) (int, error) {
	switch c.mode {
	case ctxBackground:
		return r.ReadContext(context.Background(), p)
	case ctxFresh:
		ctx, cancel := context.WithCancel(context.Background())
		n, err := r.ReadContext(ctx, p)
		cancel()
		return n, err
	}
	return r.ReadContext(c.long, p)
}

// write is w.WriteContext(ctx, p) with the mode's ctx.
func (c caller) write(w Writer, p []byte) (int, error) {
	switch c.mode {
	case ctxBackground:
		return w.WriteContext(context.Background(), p)
	case ctxFresh:
		ctx, cancel := context.WithCancel(context.Background())
		n, err := w.WriteContext(ctx, p)
		cancel()
		return n, err
	}
	return w.WriteContext(c.long, p)
}

// turn is the contender that takes the k-th turn of a round among n: the
// order rotates by one from round to round, and every other round runs
// backwards. A turn can slow the next one (the kernel freeing the last
// pipe's pages, the last reactor's loops winding down): with rotation
// alone, each contender always followed the same neighbour, and
// fdstream-epoll against fdstream-epoll@c704f65 read 0.82–0.97× in
// throughput, and 1.01–1.12× with their registration order swapped.
func turn(round, k, n int) int {
	if round%2 == 1 {
		k = n - 1 - k
	}
	return (round + k) % n
}
