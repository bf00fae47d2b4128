//go:build noepoll

package fdstream

import "github.com/fdstream/fdstream/reactor"

// With -tags noepoll, DefaultReactor is a reactor.Select reactor: every
// Stream waits in the library's own select loops, so that a test run built
// this way covers them as the default run covers the runtime poller.
const defaultBackend = reactor.Select
