package fdstream

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
	"unsafe"

	"github.com/fdstream/fdstream/internal/fdtest"
	"github.com/fdstream/fdstream/reactor"
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

// A read that parks with a ctx first goes through RawConn, which has
// ReadContext register the ctx and call again; the call again may go
// through the File's own Read (the ctx is registered now). Either way the
// Stream keeps nothing of the call (not its buffer, not its ctx), and a
// kept registration keeps lastDone equal to its Done, which arm's choice
// of where to register relies on.
func TestReadLeavesNoCallState(t *testing.T) {
	r, w := runtimePipe(t)
	blocked := make(chan struct{}, 1)
	hook := func(*Stream, reactor.Interest) {
		select {
		case blocked <- struct{}{}:
		default:
		}
	}
	testHookBlock.Store(&hook)
	defer testHookBlock.Store(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	check := func(when string) {
		t.Helper()
		o := r.rop
		if o.ctx != nil || o.p != nil || o.armed || o.waited || o.n != 0 || o.err != nil {
			t.Fatalf("%s: the Stream kept the call's state: %+v", when, o)
		}
	}
	for i := 1; i <= 3; i++ {
		got := make(chan error, 1)
		go func() {
			_, err := r.ReadContext(ctx, make([]byte, 1))
			got <- err
		}()
		select {
		case <-blocked:
		case <-time.After(fdtest.Hang):
			t.Fatal("the read did not block")
		}
		if _, err := w.Write([]byte{1}); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-got:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(fdtest.Hang):
			t.Fatal("the read did not return")
		}
		check("after a parked read")
	}
	// A ready read with another ctx, then one with the kept ctx.
	other, cancelOther := context.WithCancel(context.Background())
	defer cancelOther()
	for _, c := range []context.Context{other, ctx} {
		if _, err := w.Write([]byte{2}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.ReadContext(c, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		check("after a ready read")
	}
	r.rdl.mu.Lock()
	keep, done, last := r.rdl.keep, r.rdl.done, r.rdl.lastDone
	r.rdl.mu.Unlock()
	if !keep || done == nil || last != done {
		t.Errorf("kept %v, registered Done %v, lastDone %v: want the registration kept and lastDone its Done", keep, done, last)
	}
}

// A read whose deadline the runtime's timer has ended, while the Stream's
// own timer has not yet run (the two fire at the same instant, in either
// order), gets a timeout and leaves the ready bytes unread, as os.File's
// Read does, with the test hook installed too: the hook's probe read goes
// through the File's deadline first. CI's fuzzer found the probe taking
// the bytes (1 run in ~200 of FuzzStreamOps/36135ba911546de1).
func TestReadPastRuntimeDeadlineKeepsBytes(t *testing.T) {
	for _, hooked := range []bool{false, true} {
		r, w := runtimePipe(t)
		if err := r.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		// The Stream's own timer runs late: stop it, so that only the
		// runtime's ends the deadline.
		r.rdl.mu.Lock()
		r.rdl.timer.Stop()
		r.rdl.mu.Unlock()
		// Wait until the runtime's timer has run: RawConn.Read fails
		// before its callback once the File's deadline has passed.
		giveUp := time.Now().Add(fdtest.Hang)
		for r.rc.Read(func(uintptr) bool { return true }) == nil {
			if time.Now().After(giveUp) {
				t.Fatal("the File's deadline never passed")
			}
			time.Sleep(100 * time.Microsecond)
		}
		if r.rdl.passed.Load() {
			t.Fatal("the Stream's timer ran although it was stopped")
		}
		if _, err := w.Write([]byte("abc")); err != nil {
			t.Fatal(err)
		}
		if hooked {
			hook := func(*Stream, reactor.Interest) {}
			testHookBlock.Store(&hook)
		}
		n, err := r.Read(make([]byte, 8))
		testHookBlock.Store(nil)
		if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("hook %v: Read past the deadline = %d, %v; want 0, a timeout", hooked, n, err)
		}
		if err := r.SetReadDeadline(time.Time{}); err != nil {
			t.Fatal(err)
		}
		p := make([]byte, 8)
		if n, err := r.Read(p); n != 3 || err != nil || string(p[:n]) != "abc" {
			t.Fatalf("hook %v: Read after clearing the deadline = %q, %v; want \"abc\"", hooked, p[:n], err)
		}
	}
}

// runtimePipe is a pipe on a reactor of kind Runtime, whatever the build
// tags, closed when t ends.
func runtimePipe(t *testing.T) (r, w *Stream) {
	t.Helper()
	rt, err := reactor.New(reactor.Config{Backend: reactor.Runtime})
	if err != nil {
		t.Fatal(err)
	}
	r, w, err = Pipe(WithReactor(rt))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Close()
		w.Close()
	})
	if r.rc == nil {
		t.Fatal("a pipe of a Runtime reactor is not on the runtime poller")
	}
	return r, w
}
