//go:build !linux || noepoll

package reactor

// defaultBackend is select outside Linux, and on Linux with -tags noepoll.
const defaultBackend = Select
