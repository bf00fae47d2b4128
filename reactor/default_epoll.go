//go:build linux && !noepoll

package reactor

// defaultBackend is epoll on Linux; build with -tags noepoll to make it
// select.
const defaultBackend = Epoll
