package adapters

import "github.com/fdstream/fdstream"

// Streams returns the Streams c reads from and writes to: the same Stream
// twice for a Conn over one descriptor (NewConn, StartPTY's pty master),
// two for a pair. They are for the terminal functions, which take a
// Stream: SetWinSize on a StartPTY Conn's Stream resizes the child's
// terminal, MakeRaw or SetSerial configure a tty, HungUp asks whether it
// was hung up. c still owns them: Close c, not them. A nil Conn returns
// nil, nil, which the terminal functions refuse with os.ErrInvalid. It is
// safe for concurrent use.
func (c *Conn) Streams() (r, w *fdstream.Stream) {
	if c == nil {
		return nil, nil
	}
	return c.r, c.w
}
