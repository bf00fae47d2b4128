package adapters

import (
	"context"
	"time"

	"github.com/fdstream/fdstream"
)

// The kernel's own waits for a tty's state (tcdrain's TCSBRK,
// TIOCMIWAIT) sleep in the ioctl with nothing but a signal to end them,
// holding an OS thread, possibly forever (CTS never rising, a modem line
// that never moves). So Drain and WaitModem look at the state instead,
// with a backoff, and a ctx ends the wait between looks.
const (
	ttyPollMin = time.Millisecond
	ttyPollMax = 50 * time.Millisecond
)

// ttyPoll calls look on s's fd, each time holding the fd open, until look
// reports done or fails, ctx is done, or s is closed (look then fails with
// os.ErrClosed). Between looks it sleeps ttyPollMin, doubling up to
// ttyPollMax. It starts no goroutine: one timer serves every sleep. The
// error is an *os.PathError with op wrapping look's error, ctx.Err() or
// os.ErrClosed. ctx must not be nil.
func ttyPoll(ctx context.Context, s *fdstream.Stream, op string, look func(fd int) (done bool, err error)) error {
	delay := ttyPollMin
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		var done bool
		err := ttyControl(s, op, func(fd int) (err error) {
			done, err = look(fd)
			return err
		})
		if err != nil || done {
			return err
		}
		if timer == nil {
			timer = time.NewTimer(delay)
		} else {
			timer.Reset(delay) // C was drained: the timer fired and was received
		}
		select {
		case <-ctx.Done():
			return ttyPathErr(op, s, ctx.Err())
		case <-timer.C:
		}
		delay = min(2*delay, ttyPollMax)
	}
}
