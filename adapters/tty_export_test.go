package adapters

// TTYSetOutQueueHook makes Drain call f, on the Stream's fd, instead of
// asking the kernel how many bytes wait in the output queue, until restore
// is called: a pty's output queue is always empty, so tests use it to hold
// Drain in its wait. For tests only; not safe to use from parallel tests.
func TTYSetOutQueueHook(f func(fd int) (int, error)) (restore func()) {
	ttyTestHookOutQueue.Store(&f)
	return func() { ttyTestHookOutQueue.Store(nil) }
}
