// Package adapters turns pollable file descriptors into net.Conns, so that
// crypto/tls, net/http, net/rpc, SSH and multiplexers run over a tty, a
// pty or a pair of pipes. It is filled in by the adapters issue; for now
// it holds only this documentation.
package adapters
