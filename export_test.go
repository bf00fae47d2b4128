package fdstream

import "github.com/fdstream/fdstream/reactor"

// SetTestHookBlock installs f as the hook called whenever a call is about
// to block (i is the direction, or 0 when queued behind another call); nil
// removes it.
func SetTestHookBlock(f func(s *Stream, i reactor.Interest)) {
	if f == nil {
		testHookBlock.Store(nil)
		return
	}
	testHookBlock.Store(&f)
}

// Registered reports whether s waits through a reactor (false: plain I/O).
func (s *Stream) Registered() bool { return s.reg != nil }

// Fd exposes the descriptor to tests only.
func (s *Stream) Fd() int { return s.fd }
