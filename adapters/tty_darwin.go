package adapters

import "golang.org/x/sys/unix"

// macOS's serial drivers refuse, in TIOCSETA, a speed that is not one of
// the standard ones; any other goes through IOSSIOSPEED
// (IOKit/serial/ioss.h), which sets both speeds at once. This path is
// compile-checked and vetted only: CI has no macOS machine and no serial
// hardware, so it is untested. picocom and pyserial take the same path.

// ttyIOSSIOSPEED is _IOW('T', 2, speed_t) as the serial drivers decode it:
// with a 4-byte argument, whatever the width of speed_t (pyserial,
// picocom and tarm/serial all pass 0x80045402 and an int).
const ttyIOSSIOSPEED = 0x80045402

// ttyDarwinSpeeds are the speeds TIOCSETA takes (termios.h's Bxxx).
var ttyDarwinSpeeds = [...]int{
	0, 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 7200,
	9600, 14400, 19200, 28800, 38400, 57600, 76800, 115200, 230400,
}

// ttyCustomSpeed reports whether baud needs IOSSIOSPEED.
func ttyCustomSpeed(baud int) bool {
	for _, sp := range ttyDarwinSpeeds {
		if sp == baud {
			return false
		}
	}
	return true
}

// ttySetCustomSpeed applies t with a standard speed (9600) in place of its
// own, then sets the real one with IOSSIOSPEED. If IOSSIOSPEED fails, the
// settings that were there before are put back, so that the error leaves
// the line as it was, as SetBaud and SetSerial promise.
func ttySetCustomSpeed(fd int, t *ttyTermios) error {
	prev, err := ttyGet(fd)
	if err != nil {
		return err
	}
	baud := int(t.Ospeed)
	std := t.Termios
	std.Ispeed, std.Ospeed = unix.B9600, unix.B9600
	if err := ttySetTermios(fd, &std); err != nil {
		return err
	}
	if err := ttyIoctlSetInt(fd, ttyIOSSIOSPEED, int32(baud)); err != nil {
		old := prev.Termios
		oldBaud := int(old.Ospeed)
		if ttyCustomSpeed(oldBaud) {
			old.Ispeed, old.Ospeed = unix.B9600, unix.B9600
		}
		if ttySetTermios(fd, &old) == nil && ttyCustomSpeed(oldBaud) {
			ttyIoctlSetInt(fd, ttyIOSSIOSPEED, int32(oldBaud))
		}
		return err
	}
	return nil
}
