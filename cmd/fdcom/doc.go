// Command fdcom is a serial console built on fdstream, in the manner of
// picocom: it puts your terminal in raw mode, sends what you type to a
// serial port and shows what the port sends, until you quit.
//
//	go install github.com/fdstream/fdstream/cmd/fdcom@latest
//	fdcom -b 115200 /dev/ttyUSB0
//	fdcom -serial A1B2C3D4 --reconnect   # the USB adapter with that serial number
//	fdcom --list                         # path, USB ids, serial number, product
//	fdcom -demo                          # no hardware: a built-in device on a pty
//
// Flags (one dash or two, before or after the port): -b baud (any rate the
// driver takes; 115200), -d data bits, -p parity (n, o, e, m, s), -s stop
// bits, -f flow control (n, h for RTS/CTS, x for XON/XOFF), -e escape key
// (a letter: -e b for C-b), -l file to append received bytes to, --hex to
// show received bytes as hexadecimal, -q for quiet, --reconnect to wait
// for a port that hung up (a USB adapter pulled) and reopen it with the
// same settings, by its USB serial number where it has one and by its
// path otherwise.
//
// Commands are picocom's: the escape key (C-a), then C-x to quit
// (restoring the port's settings), C-q to quit leaving the port's settings
// and modem lines as they are, C-t and C-g to toggle DTR and RTS, C-\ to
// send a break, C-u and C-d to step the baud rate up and down, C-v to show
// the settings and modem lines, C-a to send C-a, C-h for help. Each
// action is confirmed on a status line on stderr.
//
// The terminal is restored however fdcom ends: a quit, the port hanging
// up, SIGTERM, SIGHUP, SIGINT, a panic. stdin and stdout are used through
// adapters.Stdio, on descriptions of their own, so the shell's stay
// blocking. Exit status: 0 after a quit, 1 when the session failed (a
// hang-up without --reconnect, an I/O error), 2 for a bad command line or
// a port that cannot be opened or set up, 128+N after signal N.
//
// # The demo device
//
// fdcom -demo opens a pty and runs a small device on its master side, in
// fdcom's own process; fdcom opens the slave as its port, through a
// symbolic link (ttyDEMO) in a temporary directory. The device echoes
// what it receives, as a modem does (control bytes as ^X, so that C-a
// C-a shows as ^A); it answers a line starting with AT
// with OK (ATI identifies it, AT+LINES? reports its DTR, RTS and line
// settings) and echoes any other line back after "echo: ". A line ends
// with CR, LF or CR LF. AT+UNPLUG (or AT+UNPLUG=N, N seconds) simulates
// pulling a USB adapter: the device closes its pty master, which hangs
// fdcom's side up, and comes back N seconds later (2 by default) on a new
// pty behind the same link, which fdcom --reconnect reopens.
//
// What the device reports about the line is read from its own Stream: a
// Linux pty master's TCGETS returns its slave's termios, so after C-u the
// device prints the baud rate fdcom set. A pty has no modem lines and
// carries no break, though: TIOCMGET and TIOCMSET fail with ENOTTY there.
// On the demo port fdcom makes that ioctl, and when it fails with ENOTTY
// it toggles the demo device's simulated DTR or RTS instead, says on its
// status line that the line is simulated, and the device announces the
// state it now sees. On a socat pair, or any other pty, fdcom reports the
// ENOTTY itself. A break on a pty is sent (the ioctls succeed) and never
// arrives; fdcom says so in -demo.
//
// fdcom runs on Linux only for now.
package main
