package fdstream

import (
	"testing"
	"time"
	"unsafe"
)

// A deadline given as a wall-clock time (no monotonic reading) whose timer
// fires before the wall clock reaches it, as after the clock stepped back,
// is re-armed, not dropped: waiters are still woken when it passes.
func TestDeadlineEarlyFireRearms(t *testing.T) {
	var d deadline
	d.set(time.Now().Add(30 * time.Millisecond).Round(0)) // Round(0) strips the monotonic reading
	defer d.stop()
	ch := d.wait()
	d.fire() // as if the timer fired early
	if d.passed.Load() {
		t.Fatal("an early fire marked the deadline passed")
	}
	select {
	case <-ch:
		if !d.passed.Load() {
			t.Fatal("woken, but the deadline is not marked passed")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the deadline never fired after an early timer")
	}
}

// TestStreamLayout keeps Stream's fields where its layout comment says, on
// 64-bit platforms: what a read touches once its wait is over in the first
// 64 bytes, the scalars every call reads in the fourth line, and the write
// side's lock and deadline head in the fifth.
func TestStreamLayout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the layout is tuned for 64-bit platforms")
	}
	var s Stream
	line := func(off uintptr) uintptr { return off / 64 }
	head := func(d uintptr) []uintptr {
		return []uintptr{d + unsafe.Offsetof(s.rdl.mu), d + unsafe.Offsetof(s.rdl.parked), d + unsafe.Offsetof(s.rdl.keep),
			d + unsafe.Offsetof(s.rdl.fired), d + unsafe.Offsetof(s.rdl.closed), d + unsafe.Offsetof(s.rdl.fileIsUser),
			d + unsafe.Offsetof(s.rdl.passed), d + unsafe.Offsetof(s.rdl.parkedDone), d + unsafe.Offsetof(s.rdl.done) + 7}
	}
	check := func(what string, want uintptr, offs ...uintptr) {
		t.Helper()
		for _, off := range offs {
			if line(off) != want {
				t.Errorf("%s: a field at offset %d is in line %d, want %d", what, off, line(off), want)
			}
		}
	}
	check("read side", 0, append(head(unsafe.Offsetof(s.rdl)),
		unsafe.Offsetof(s.life), unsafe.Offsetof(s.rlock), unsafe.Offsetof(s.rlock)+15)...)
	check("scalars", 3, unsafe.Offsetof(s.ptyEOF), unsafe.Offsetof(s.zeroReadIsEOF), unsafe.Offsetof(s.shortWriteIsFull),
		unsafe.Offsetof(s.wready), unsafe.Offsetof(s.fd), unsafe.Offsetof(s.rc), unsafe.Offsetof(s.rc)+15,
		unsafe.Offsetof(s.closing), unsafe.Offsetof(s.file)+7)
	check("write side", 4, append(head(unsafe.Offsetof(s.wdl)), unsafe.Offsetof(s.wlock), unsafe.Offsetof(s.wlock)+15)...)
}
