//go:build !linux && !noepoll

package fdstream

import "github.com/fdstream/fdstream/reactor"

// Outside Linux, DefaultReactor is a reactor.Runtime reactor whose shard
// loops use select: fds the runtime's kqueue is known to mishandle (FIFOs,
// terminals; see runtimePollable) wait in those loops, and everything else
// parks on the runtime poller.
const defaultBackend = reactor.Runtime
