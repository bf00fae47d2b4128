//go:build !linux

package adapters

import "github.com/fdstream/fdstream"

// ptyPeerName finds a master's slave only on Linux (TIOCGPTN); elsewhere a
// Conn over a master is named by the master's own path.
func ptyPeerName(*fdstream.Stream) string { return "" }
