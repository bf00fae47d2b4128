//go:build linux && !noepoll

package fdstream

import "github.com/fdstream/fdstream/reactor"

// On Linux, Streams wait through the epoll reactor unless the program is
// built with -tags noepoll.
const defaultBackend = reactor.Epoll
