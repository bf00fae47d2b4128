//go:build !race

package fdstream

import "unsafe"

const raceEnabled = false

func raceReadRange(p unsafe.Pointer, n int)  {}
func raceWriteRange(p unsafe.Pointer, n int) {}
func raceAcquire(p unsafe.Pointer)           {}
func raceReleaseMerge(p unsafe.Pointer)      {}
