package main

import (
	"context"
	"fmt"
	"io"
	"sync"

	old "github.com/fdstream/fdstream/bench/internal/c704f65"
	oldreactor "github.com/fdstream/fdstream/bench/internal/c704f65/reactor"
)

func init() { register(15, &baselineContender{}) }

// baselineRev is the commit the baseline contender's library comes from:
// the last one before Streams parked on the runtime poller (issue 9).
const baselineRev = "c704f65"

// baselineContender is fdstream.Pipe on a reactor.Epoll reactor of the
// library as it was at baselineRev, a generated copy of that commit's
// non-test files in internal/c704f65 (internal/gen_baseline.sh). It runs
// in the same process and the same rounds as today's fdstream-epoll, so
// that "the sharded epoll backend gets no slower" is a ratio from one run.
type baselineContender struct {
	once sync.Once
	r    *oldreactor.Reactor
	err  error
}

func (c *baselineContender) Name() string { return "fdstream-epoll@" + baselineRev }

func (c *baselineContender) About() string {
	return "fdstream-epoll as of commit " + baselineRev + " (before issue 9), compiled from the generated copy in bench/internal/" + baselineRev
}

func (c *baselineContender) sharedReactor() (*oldreactor.Reactor, error) {
	c.once.Do(func() {
		c.r, c.err = oldreactor.New(oldreactor.Config{Backend: oldreactor.Epoll})
		if c.err != nil {
			c.err = fmt.Errorf("reactor.New(epoll) at %s: %w", baselineRev, c.err)
		}
	})
	return c.r, c.err
}

// Shards reports how many shards the contender's reactor has.
func (c *baselineContender) Shards() int {
	r, err := c.sharedReactor()
	if err != nil {
		return 0
	}
	return r.Shards()
}

// Loops reports how many of the reactor's shard loops are running now.
func (c *baselineContender) Loops() int {
	r, err := c.sharedReactor()
	if err != nil {
		return 0
	}
	return r.Loops()
}

func (c *baselineContender) NewPipe() (Reader, Writer, func(), error) {
	re, err := c.sharedReactor()
	if err != nil {
		return nil, nil, nil, err
	}
	r, w, err := old.Pipe(old.WithReactor(re))
	if err != nil {
		return nil, nil, nil, err
	}
	return r, w, func() { w.Close(); r.Close() }, nil
}

// Copy runs that commit's fdstream.Copy from src to dst.
func (c *baselineContender) Copy(ctx context.Context, dst Writer, src Reader) error {
	d, ok1 := dst.(io.Writer)
	s, ok2 := src.(io.Reader)
	if !ok1 || !ok2 {
		return errNotStreams
	}
	_, err := old.Copy(ctx, d, s)
	return err
}
