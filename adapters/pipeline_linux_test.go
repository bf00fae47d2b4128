//go:build linux

package adapters_test

import (
	"bufio"
	"context"
	"os"
	"testing"
	"time"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
)

// ExampleNewConn_serialTimeout's scenario, which its old form lost data
// in: the device says "OK\r\nSECOND\r\n" at once; a line is read with a
// long timeout, then one with a short timeout, which must be SECOND.
// Then a line that arrives in two parts with a timeout between comes back
// whole. Two recipes keep everything: one bufio.Reader over a
// TimeoutReader, or one bufio.Reader over the Conn with a deadline set
// before each line; ReadLine reads the lines in both. The pattern the
// example had, a bufio.Reader per line, is shown losing SECOND.
func TestConnSerialLinesLoseNothing(t *testing.T) {
	type readLine func(timeout time.Duration) (string, error)
	recipes := []struct {
		name string
		make func(c *adapters.Conn) readLine
	}{
		{"TimeoutReader", func(c *adapters.Conn) readLine {
			// One timeout for every read; the test's timeouts are
			// all long enough for data that is there, and short
			// enough to pass while it is not.
			br := bufio.NewReader(fdstream.NewTimeoutReader(context.Background(), c, 50*time.Millisecond))
			return func(time.Duration) (string, error) {
				line, err := fdstream.ReadLine(br, '\n')
				return string(line), err
			}
		}},
		{"deadline per line", func(c *adapters.Conn) readLine {
			br := bufio.NewReader(c)
			return func(timeout time.Duration) (string, error) {
				c.SetReadDeadline(time.Now().Add(timeout))
				line, err := fdstream.ReadLine(br, '\n')
				return string(line), err
			}
		}},
	}
	for _, r := range recipes {
		t.Run(r.name, func(t *testing.T) {
			port, device := connTestRawPTY(t)
			defer device.Close()
			c := adapters.NewConn(port)
			defer c.Close()
			readLine := r.make(c)

			device.Write([]byte("OK\r\nSECOND\r\n"))
			ttyTestWaitInput(t, port, 12) // so the first read takes both lines
			if line, err := readLine(time.Second); line != "OK\r\n" || err != nil {
				t.Fatalf("first line %q, %v", line, err)
			}
			if line, err := readLine(50 * time.Millisecond); line != "SECOND\r\n" || err != nil {
				t.Fatalf("second line %q, %v; want \"SECOND\\r\\n\"", line, err)
			}
			if line, err := readLine(50 * time.Millisecond); line != "" || !os.IsTimeout(err) {
				t.Fatalf("line with nothing sent: %q, %v; want a timeout", line, err)
			}
			device.Write([]byte("THI"))
			ttyTestWaitInput(t, port, 3)
			if line, err := readLine(50 * time.Millisecond); line != "" || !os.IsTimeout(err) {
				t.Fatalf("half a line: %q, %v; want a timeout", line, err)
			}
			device.Write([]byte("RD\r\n"))
			ttyTestWaitInput(t, port, 4)
			if line, err := readLine(time.Second); line != "THIRD\r\n" || err != nil {
				t.Fatalf("line after the timeout %q, %v; want \"THIRD\\r\\n\" whole", line, err)
			}
		})
	}

	t.Run("bufio.Reader per line loses data", func(t *testing.T) {
		port, device := connTestRawPTY(t)
		defer device.Close()
		c := adapters.NewConn(port)
		defer c.Close()
		device.Write([]byte("OK\r\nSECOND\r\n"))
		ttyTestWaitInput(t, port, 12)
		readLine := func(timeout time.Duration) (string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			return bufio.NewReader(fdstream.NewReader(ctx, c)).ReadString('\n')
		}
		if line, err := readLine(time.Second); line != "OK\r\n" || err != nil {
			t.Fatalf("first line %q, %v", line, err)
		}
		if line, err := readLine(50 * time.Millisecond); line != "" || err == nil {
			t.Fatalf("second line %q, %v: the old pattern no longer loses it; this test's premise is gone", line, err)
		}
	})
}
