package fdstream

// SetTestHookCopyPath installs f, told which way each copy between two
// Streams goes ("splice", "splice-pipe", "buffered"); nil removes it.
func SetTestHookCopyPath(f func(path string)) {
	if f == nil {
		testHookCopyPath.Store(nil)
		return
	}
	testHookCopyPath.Store(&f)
}

// SetTestHookNoSplice makes copies between Streams take the buffered loop
// (true) or splice where they can (false).
func SetTestHookNoSplice(off bool) { testHookNoSplice.Store(off) }

// IOVMax is the most buffers one readv or writev takes.
const IOVMax = iovMax
