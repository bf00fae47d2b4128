package fdstream

import "github.com/fdstream/fdstream/internal/sysx"

// pipe is internal/sysx's Pipe, shared with the other library packages.
func pipe() (r, w int, err error) { return sysx.Pipe() }
