package main

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/reactor"
)

func init() {
	register(5, &fdstreamContender{backend: reactor.Runtime})
	register(10, &fdstreamContender{backend: reactor.Epoll})
	register(20, &fdstreamContender{backend: reactor.Select})
}

// fdstreamContender is fdstream.Pipe on a reactor with the given backend.
// All three backends run side by side in one process; each contender makes
// its reactor once and puts all of its pipes on it, as a program would.
// The Runtime one is what a Stream gets by default on Linux (DefaultReactor
// without -tags noepoll); it is made explicitly here so that the contender
// stays the runtime poller whatever tags the bench is built with.
type fdstreamContender struct {
	backend reactor.Backend

	once sync.Once
	r    *reactor.Reactor
	err  error
}

func (c *fdstreamContender) Name() string { return "fdstream-" + c.backend.String() }

func (c *fdstreamContender) About() string {
	switch c.backend {
	case reactor.Runtime:
		return "fdstream.Pipe on reactor.Runtime (the default): parks in an internal os.File (its Read, or RawConn.Read/Write); " +
			"ctx as one context.AfterFunc per direction, registered only when a call parks and kept while the same ctx comes back"
	case reactor.Select:
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

// Shards reports how many shard loops the contender's pipes may use: the
// reactor's shards, or none for the Runtime backend, whose Streams never
// reach its shard loops (a pipe always parks on the runtime poller on
// Linux).
func (c *fdstreamContender) Shards() int {
	r, err := c.sharedReactor()
	if err != nil || c.backend == reactor.Runtime {
		return 0
	}
	return r.Shards()
}

// Loops reports how many of the reactor's shard loops are running now.
func (c *fdstreamContender) Loops() int {
	r, err := c.sharedReactor()
	if err != nil {
		return 0
	}
	return r.Loops()
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

// Copy runs fdstream.Copy from src to dst, two of this contender's ends.
func (c *fdstreamContender) Copy(ctx context.Context, dst Writer, src Reader) error {
	d, ok1 := dst.(io.Writer)
	s, ok2 := src.(io.Reader)
	if !ok1 || !ok2 {
		return errNotStreams
	}
	_, err := fdstream.Copy(ctx, d, s)
	return err
}
