//go:build race

package fdstream

import (
	"runtime"
	"unsafe"
)

// The race detector's view of the vectored syscalls, which x/sys/unix
// would give for its own read and write.

const raceEnabled = true

func raceReadRange(p unsafe.Pointer, n int)  { runtime.RaceReadRange(p, n) }
func raceWriteRange(p unsafe.Pointer, n int) { runtime.RaceWriteRange(p, n) }
func raceAcquire(p unsafe.Pointer)           { runtime.RaceAcquire(p) }
func raceReleaseMerge(p unsafe.Pointer)      { runtime.RaceReleaseMerge(p) }
