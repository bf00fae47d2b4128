//go:build freebsd || netbsd || openbsd || dragonfly

package adapters

// On the BSDs TIOCSETA takes any speed and the driver decides: there is no
// custom-speed path.

func ttyCustomSpeed(int) bool { return false }

func ttySetCustomSpeed(fd int, t *ttyTermios) error { return ttySetTermios(fd, &t.Termios) }
