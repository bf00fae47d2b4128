package fdstream

import (
	"time"

	"github.com/fdstream/fdstream/reactor"
)

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

// SetTestHookRefuseRuntime makes constructors treat every fd as one the
// runtime poller does not take (true) or as usual (false).
func SetTestHookRefuseRuntime(refuse bool) { testHookRefuseRuntime.Store(refuse) }

// Registered reports whether s waits for readiness (false: plain I/O).
func (s *Stream) Registered() bool { return s.reg != nil || s.rc != nil }

// WaitsOn reports how s waits: "runtime" (the Go runtime poller), "loop"
// (a reactor shard loop) or "plain" (plain I/O).
func (s *Stream) WaitsOn() string {
	switch {
	case s.rc != nil:
		return "runtime"
	case s.reg != nil:
		return "loop"
	}
	return "plain"
}

// ReadDeadline returns the read deadline the user set, as the Stream
// holds it.
func (s *Stream) ReadDeadline() time.Time {
	s.rdl.mu.Lock()
	defer s.rdl.mu.Unlock()
	return s.rdl.when
}

// Fd exposes the descriptor to tests only.
func (s *Stream) Fd() int { return s.fd }

// ReadKeepsContext reports whether s's read direction keeps a ctx's
// AfterFunc registered across calls (on the runtime poller, such a ctx's
// calls wait in the File's own Read: readFile).
func (s *Stream) ReadKeepsContext() bool {
	s.rdl.mu.Lock()
	defer s.rdl.mu.Unlock()
	return s.rdl.regCtx != nil && s.rdl.keep
}
