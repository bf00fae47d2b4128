// Package adapters turns pollable file descriptors into net.Conns, so that
// crypto/tls, net/http, net/rpc, golang.org/x/crypto/ssh, multiplexers
// such as yamux, and gRPC through a custom dialer run over a tty, a pty,
// a serial line or a pair of pipes; and it makes terminals first-class.
//
//   - NewConn wraps one bidirectional fdstream.Stream (a tty, a socket, a
//     character device); NewConnPair a read Stream and a write Stream (a
//     child's stdout and stdin). Pipe makes two connected Conns over
//     kernel pipes: net.Pipe's shape with real, kernel-buffered fds.
//   - OpenPTY opens a pty pair; StartPTY runs an os/exec command on a new
//     pty and returns the master as a Conn (StartPTYWithSize with a window
//     size; SetWinSize on Conn.Streams resizes it later). A master's read
//     after the slave side is gone (the child died) is io.EOF, never EIO.
//     They run on Linux, macOS and FreeBSD (only Linux is tested in CI).
//   - Stdio is the process's stdin and stdout as a Conn, for language
//     servers and JSON-RPC over stdio, leaving the descriptions it shares
//     with its parent as it found them.
//   - The tty functions (MakeRaw, Restore, SetSerial, SetBaud, window size,
//     exclusive access, Flush, Drain) configure a terminal or serial port
//     through its Stream.
//   - The serial-port functions drive what termios does not reach: modem
//     lines (GetModem, SetModem changing DTR and RTS in one ioctl, a
//     ctx-aware WaitModem), SendBreak, InQueue and OutQueue, RS485 and the
//     low-latency flag on Linux, and XON/XOFF through SerialConfig.
//     ListSerialPorts lists the ports from sysfs with their USB identity,
//     and FindSerialPorts finds an adapter again by its USB serial number.
//
// # Serial ports and hang-ups
//
// Unplugging a USB serial adapter hangs its tty up, and so does closing
// the other side of a pty or vhangup(2). From then on a read returns
// io.EOF itself (bufio and io.Copy compare with ==), a write returns an
// error for which IsHangUp holds (it wraps EIO; its n counts bytes the
// kernel accepted, which the hang-up may have flushed before they went
// out), and HungUp(s) reports true. Nothing on that descriptor works
// again: Close the Stream, wait for FindSerialPorts to find the adapter by
// its serial number (it may come back under another name), and open it
// anew. A blocked call is woken by the hang-up at once, and the reactor
// does not spin over the dead descriptor.
//
// An inter-byte timeout (what VTIME does on a blocking descriptor, and
// cannot do on a non-blocking one) is a read that ends after a gap with no
// new byte: that reader is the root package's fdstream.NewInterByteReader,
// and works on any Stream or Conn; it is not repeated here.
//
// The serial functions live here rather than in a package of their own
// because they are the tty functions' continuation: they take the same
// *fdstream.Stream, reach the descriptor the same way (SyscallConn,
// holding the fd open for each ioctl), share the termios code, the error
// convention (*os.PathError with the function's name as Op) and Drain's
// polling, and a user configuring a port with SetSerial reaches for
// SendBreak and SetModem in the same breath. A separate package would
// have had to export or duplicate that plumbing, and would have split
// one device's API across two imports. Every function that has no
// meaning on a platform returns an error wrapping unix.ENOTSUP there.
//
// A Conn's errors are *net.OpError, as the net package's are: deadlines
// time out with os.ErrDeadlineExceeded inside (Timeout() reports true), use
// after Close wraps net.ErrClosed, and ReadContext/WriteContext wrap
// ctx.Err(). Conns pass golang.org/x/net/nettest.TestConn over pipes,
// socketpairs and ptys.
package adapters
