package adapters

import (
	"os"

	"github.com/fdstream/fdstream"
)

// Stdio returns a Conn that reads the process's standard input and writes
// its standard output, for language servers, JSON-RPC and other protocols
// spoken over stdio. It works on private copies of the descriptors (see
// fdstream.FromFile): the descriptions shared with the parent (a shell, a
// supervisor) are left in the mode they were in, and os.Stdin and
// os.Stdout stay open and usable after the Conn is closed. LocalAddr is
// "stdin", RemoteAddr "stdout". Errors are *os.PathError from FromFile.
func Stdio(opts ...fdstream.Option) (*Conn, error) {
	r, err := fdstream.FromFile(os.Stdin, opts...)
	if err != nil {
		return nil, err
	}
	w, err := fdstream.FromFile(os.Stdout, opts...)
	if err != nil {
		r.Close()
		return nil, err
	}
	c := NewConnPair(r, w)
	c.laddr.Name = "stdin"
	c.radr.Name = "stdout"
	return c, nil
}
