//go:build !linux

package reactor

const haveEpoll = false

func newEpollPoller(*shard, Park) (poller, error) { return nil, ErrUnsupported }
