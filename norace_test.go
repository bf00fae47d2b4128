//go:build !race

package fdstream_test

const raceEnabled = false
