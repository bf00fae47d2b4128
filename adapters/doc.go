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
//     pty and returns the master as a Conn. A master's read after the
//     slave side is gone (the child died) is io.EOF, never EIO.
//   - Stdio is the process's stdin and stdout as a Conn, for language
//     servers and JSON-RPC over stdio, leaving the descriptions it shares
//     with its parent as it found them.
//   - The tty functions (MakeRaw, Restore, SetSerial, SetBaud, window size,
//     exclusive access, Flush, Drain) configure a terminal or serial port
//     through its Stream.
//
// A Conn's errors are *net.OpError, as the net package's are: deadlines
// time out with os.ErrDeadlineExceeded inside (Timeout() reports true), use
// after Close wraps net.ErrClosed, and ReadContext/WriteContext wrap
// ctx.Err(). Conns pass golang.org/x/net/nettest.TestConn over pipes,
// socketpairs and ptys.
package adapters
