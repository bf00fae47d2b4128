//go:build !linux || noepoll

package fdstream

import "github.com/fdstream/fdstream/reactor"

// Outside Linux, and on Linux with -tags noepoll, Streams wait through the
// select reactor.
const defaultBackend = reactor.Select
