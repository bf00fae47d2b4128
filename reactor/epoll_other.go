//go:build !linux

package reactor

const haveEpoll = false

func newEpoll(Park) (selector, error) { return nil, ErrUnsupported }
