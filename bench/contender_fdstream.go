package main

import (
	"fmt"
	"sync"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/reactor"
)

func init() {
	register(10, &fdstreamContender{backend: reactor.Epoll})
	register(20, &fdstreamContender{backend: reactor.Select})
}

// fdstreamContender is fdstream.Pipe on a reactor with the given backend.
// Both backends run side by side in one process; each contender makes its
// reactor once and puts all of its pipes on it, as a program would.
type fdstreamContender struct {
	backend reactor.Backend

	once sync.Once
	r    *reactor.Reactor
	err  error
}

func (c *fdstreamContender) Name() string { return "fdstream-" + c.backend.String() }

func (c *fdstreamContender) About() string {
	if c.backend == reactor.Select {
		return "fdstream.Pipe on reactor.Select: select(2) loop per shard, fds < 1024 only"
	}
	return "fdstream.Pipe on reactor.Epoll (default shards and park mode): ctx is a select case, no goroutine per call"
}

func (c *fdstreamContender) sharedReactor() (*reactor.Reactor, error) {
	c.once.Do(func() {
		c.r, c.err = reactor.New(reactor.Config{Backend: c.backend})
		if c.err != nil {
			c.err = fmt.Errorf("reactor.New(%v): %w", c.backend, c.err)
		}
	})
	return c.r, c.err
}

// Shards reports how many shards the contender's reactor has.
func (c *fdstreamContender) Shards() int {
	r, err := c.sharedReactor()
	if err != nil {
		return 0
	}
	return r.Shards()
}

func (c *fdstreamContender) NewPipe() (Reader, Writer, func(), error) {
	re, err := c.sharedReactor()
	if err != nil {
		return nil, nil, nil, err
	}
	r, w, err := fdstream.Pipe(fdstream.WithReactor(re))
	if err != nil {
		return nil, nil, nil, err
	}
	return r, w, func() { w.Close(); r.Close() }, nil
}
