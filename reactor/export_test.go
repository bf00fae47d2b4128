package reactor

// SetTestHookWait installs f as the hook a Poller's Wait calls just
// before it blocks; nil removes it.
func SetTestHookWait(f func(*Poller)) {
	if f == nil {
		testHookWait.Store(nil)
		return
	}
	testHookWait.Store(&f)
}
