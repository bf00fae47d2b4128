//go:build !linux

package main

import (
	"fmt"
	"os"
)

// fdcom needs what only its Linux build has: the port list (sysfs), and a
// hang-up and reconnect path tested on Linux ptys. The library builds on
// macOS and the BSDs; this command says so and stops.
func main() {
	fmt.Fprintln(os.Stderr, "fdcom: runs on Linux only for now (its port list reads sysfs, and its terminal and hang-up handling is tested only there); the fdstream library itself builds on macOS and the BSDs")
	os.Exit(2)
}
