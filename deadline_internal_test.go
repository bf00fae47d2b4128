package fdstream

import (
	"testing"
	"time"
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
