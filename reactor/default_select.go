//go:build !linux || noepoll

package reactor

// defaultBackend is select outside Linux, and on Linux with -tags noepoll.
const defaultBackend = Select

// defaultPollerBackend is a Poller's DefaultBackend without epoll: poll,
// which has no FD_SETSIZE limit.
const defaultPollerBackend = Poll
