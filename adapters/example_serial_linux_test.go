package adapters_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
)

// Put an ESP32 board into its serial bootloader, as esptool does: its
// auto-reset circuit pulls EN from RTS and IO0 from DTR, and a CP2102
// must see both lines change at once (SetModem does that in one ioctl).
// Not run: it needs the board.
func ExampleSetModem() {
	ports, err := adapters.FindSerialPorts("0001")
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := fdstream.Open(ports[0].Path, os.O_RDWR)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	adapters.SetSerial(s, adapters.SerialConfig{Baud: 115200})
	adapters.SetModem(s, adapters.ModemRTS, adapters.ModemDTR) // reset, IO0 high
	time.Sleep(100 * time.Millisecond)
	adapters.SetModem(s, adapters.ModemDTR, adapters.ModemRTS) // IO0 low, out of reset
	time.Sleep(50 * time.Millisecond)
	adapters.SetModem(s, 0, adapters.ModemDTR) // IO0 high again
}

// Read from a USB adapter and survive an unplug: the hang-up shows as
// io.EOF, HungUp tells it from a clean end, and the adapter is found again
// by its serial number, whatever name it comes back under. Not run: it
// needs the adapter.
func ExampleHungUp() {
	ctx := context.Background()
	const serial = "A1B2C3D4"
	open := func() (*fdstream.Stream, error) {
		for {
			if ports, err := adapters.FindSerialPorts(serial); err == nil {
				return fdstream.Open(ports[0].Path, os.O_RDWR)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
		}
	}
	s, err := open()
	if err != nil {
		fmt.Println(err)
		return
	}
	buf := make([]byte, 256)
	for {
		n, err := s.ReadContext(ctx, buf)
		if err == io.EOF {
			if hung, _ := adapters.HungUp(s); hung {
				s.Close()
				if s, err = open(); err != nil {
					fmt.Println(err)
					return
				}
				continue
			}
		}
		if err != nil {
			fmt.Println(err)
			s.Close()
			return
		}
		fmt.Printf("%q\n", buf[:n])
	}
}

// Run a program on a terminal of a given size, then resize it as a
// terminal emulator does when its window changes.
func ExampleStartPTYWithSize() {
	cmd := exec.Command("sh", "-c", `stty size; trap 'stty size; kill $!; exit' WINCH; echo ready; while :; do sleep 5 & wait $!; done`)
	c, err := adapters.StartPTYWithSize(cmd, adapters.WinSize{Rows: 24, Cols: 80})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	defer cmd.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := bufio.NewReader(fdstream.NewReader(ctx, c))
	for i := 0; i < 3; i++ {
		line, err := r.ReadString('\n')
		if err != nil {
			fmt.Println(err)
			cmd.Process.Kill()
			return
		}
		line = strings.TrimRight(line, "\r\n")
		fmt.Println(line)
		if line == "ready" {
			ms, _ := c.Streams()
			adapters.SetWinSize(ms, adapters.WinSize{Rows: 50, Cols: 132}) // the child gets SIGWINCH
		}
	}
	// Output:
	// 24 80
	// ready
	// 50 132
}
