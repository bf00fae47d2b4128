//go:build linux && !noepoll

package fdstream

import "github.com/fdstream/fdstream/reactor"

// On Linux, DefaultReactor is a reactor.Runtime reactor: every pollable fd
// parks on the Go runtime poller (itself epoll), and the reactor's epoll
// shard loops serve only what the runtime is not given: fds other code
// registers through package reactor, and Streams made WithReactor of an
// Epoll reactor. Build with -tags noepoll for the select loops instead.
const defaultBackend = reactor.Runtime
