package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Reader is the read half of a contender's pipe: a read that takes a ctx.
type Reader interface {
	ReadContext(ctx context.Context, p []byte) (int, error)
}

// Writer is the write half of a contender's pipe: a write that takes a ctx.
type Writer interface {
	WriteContext(ctx context.Context, p []byte) (int, error)
}

// contender is one way of doing context-aware I/O on a pipe. Each lives in
// its own file (contender_*.go) and registers itself in an init function,
// so adding one is adding one file.
type contender interface {
	// Name is the short name the -contenders flag and the tables use.
	Name() string
	// About says in one line how it waits and how it cancels.
	About() string
	// NewPipe makes a fresh pipe: bytes written to w can be read from r.
	// close releases both ends; it closes the write end first, so that a
	// read still blocked on r (one that could not be cancelled) returns
	// at end of stream instead of hanging.
	NewPipe() (r Reader, w Writer, close func(), err error)
}

// sharded is implemented by contenders that spread fds over reactor shards;
// the thread target at scale allows one thread per shard.
type sharded interface {
	Shards() int
}

// loopCounter is implemented by contenders with reactor shard loops: how
// many run now (a reactor starts a shard's loop only for registrations).
type loopCounter interface {
	Loops() int
}

// copier is implemented by contenders whose library copies between its
// own ends (fdstream.Copy); throughput times that too.
type copier interface {
	Copy(ctx context.Context, dst Writer, src Reader) error
}

// errNotStreams is returned by a copier given ends it did not make.
var errNotStreams = errors.New("ends are not the contender's Streams")

// registered contenders, with the rank that orders them in the report.
var registered []rankedContender

type rankedContender struct {
	rank int
	c    contender
}

// register adds c to the contenders; rank orders the tables (the reference,
// os.File, has rank 0 and comes first).
func register(rank int, c contender) {
	registered = append(registered, rankedContender{rank, c})
	sort.SliceStable(registered, func(i, j int) bool { return registered[i].rank < registered[j].rank })
}

// referenceName is the contender every ratio is taken against.
const referenceName = "osfile"

// allNames lists the registered contenders in report order.
func allNames() []string {
	var names []string
	for _, rc := range registered {
		names = append(names, rc.c.Name())
	}
	return names
}

// lookup returns the registered contender called name.
func lookup(name string) (contender, bool) {
	for _, rc := range registered {
		if rc.c.Name() == name {
			return rc.c, true
		}
	}
	return nil, false
}

// pickContenders parses a comma-separated list ("" or "all" means every
// contender) and returns the contenders in report order.
func pickContenders(list string) ([]contender, error) {
	want := map[string]bool{}
	if list != "" && list != "all" {
		for _, name := range strings.Split(list, ",") {
			name = strings.TrimSpace(name)
			if _, ok := lookup(name); !ok {
				return nil, fmt.Errorf("unknown contender %q (have %s)", name, strings.Join(allNames(), ","))
			}
			want[name] = true
		}
	}
	var cs []contender
	for _, rc := range registered {
		if len(want) == 0 || want[rc.c.Name()] {
			cs = append(cs, rc.c)
		}
	}
	return cs, nil
}
