//go:build linux && !noepoll

package reactor

// defaultBackend is epoll on Linux; build with -tags noepoll to make it
// select.
const defaultBackend = Epoll

// defaultPollerBackend is a Poller's DefaultBackend: epoll on Linux.
const defaultPollerBackend = Epoll
