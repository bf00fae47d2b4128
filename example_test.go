package fdstream_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fdstream/fdstream"
)

// Cancellable device I/O: a read blocked on a silent device returns when
// its ctx is done, or when the Stream is closed from another goroutine,
// and a read that gave up consumed nothing. A pipe stands in for the
// device here; fdstream.Open("/dev/ttyUSB0", os.O_RDWR) opens a real one.
func Example() {
	r, w, err := fdstream.Pipe()
	if err != nil {
		panic(err)
	}
	defer w.Close()
	buf := make([]byte, 64)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel) // say, on ^C
	_, err = r.ReadContext(ctx, buf)            // blocks: the device is silent
	fmt.Println("cancelled:", errors.Is(err, context.Canceled))

	w.Write([]byte("hello"))
	n, err := r.Read(buf) // the next read gets every byte
	fmt.Printf("read %q %v\n", buf[:n], err)

	time.AfterFunc(10*time.Millisecond, func() { r.Close() }) // say, on shutdown
	_, err = r.Read(buf)
	fmt.Println("closed:", errors.Is(err, os.ErrClosed))
	// Output:
	// cancelled: true
	// read "hello" <nil>
	// closed: true
}

func ExampleStream_ReadContext() {
	r, w, err := fdstream.Pipe()
	if err != nil {
		panic(err)
	}
	defer r.Close()
	defer w.Close()

	w.Write([]byte("hello"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	buf := make([]byte, 64)
	n, err := r.ReadContext(ctx, buf)
	fmt.Printf("%q %v\n", buf[:n], err)

	// Nothing more to read: the call ends with the ctx, and consumes
	// nothing; the Stream stays usable.
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = r.ReadContext(ctx, buf)
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output:
	// "hello" <nil>
	// true
}

func ExampleNewReader() {
	r, w, err := fdstream.Pipe()
	if err != nil {
		panic(err)
	}
	defer r.Close()
	go func() {
		defer w.Close()
		fmt.Fprint(w, "first line\nsecond line\n")
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sc := bufio.NewScanner(fdstream.NewReader(ctx, r))
	for sc.Scan() {
		fmt.Println(sc.Text())
	}
	fmt.Println(sc.Err())
	// Output:
	// first line
	// second line
	// <nil>
}

func ExampleCopy() {
	r, w, err := fdstream.Pipe()
	if err != nil {
		panic(err)
	}
	defer r.Close()
	go func() {
		defer w.Close()
		w.Write([]byte("copied through a pipe"))
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var sb strings.Builder
	n, err := fdstream.Copy(ctx, &sb, r)
	fmt.Println(n, err, sb.String())
	// Output:
	// 21 <nil> copied through a pipe
}

// A tty feeding encoding/json, each read limited to 100ms, carrying on
// after a timeout without losing what the decoder had buffered. A pipe
// stands in for the tty.
func ExampleNewTimeoutReader() {
	r, w, err := fdstream.Pipe()
	if err != nil {
		panic(err)
	}
	defer r.Close()
	defer w.Close()

	ctx := context.Background() // when it is done, everything ends
	tr := fdstream.NewTimeoutReader(ctx, r, 100*time.Millisecond)
	dec := json.NewDecoder(tr)
	w.Write([]byte(`{"temp":21.5} {"temp":2`)) // the device pauses inside a value
	for seen := 0; seen < 2; {
		var m struct{ Temp float64 }
		err := dec.Decode(&m)
		if os.IsTimeout(err) && ctx.Err() == nil {
			fmt.Println("silent for 100ms")
			// A json.Decoder keeps its error: carry on with a new one
			// over what it had buffered, then the rest of the stream.
			dec = json.NewDecoder(io.MultiReader(dec.Buffered(), tr))
			w.Write([]byte("2.0}\n")) // the device speaks again
			continue
		}
		if err != nil {
			panic(err)
		}
		fmt.Println(m.Temp)
		seen++
	}
	// Output:
	// 21.5
	// silent for 100ms
	// 22
}

// Messages delimited by silence, as Modbus RTU frames are: each Read
// returns one whole message, once the line has been quiet for 20ms,
// however many pieces it arrived in. A pipe stands in for the serial
// port.
func ExampleNewInterByteReader() {
	r, w, err := fdstream.Pipe()
	if err != nil {
		panic(err)
	}
	defer r.Close()
	defer w.Close()

	frames := fdstream.NewInterByteReader(context.Background(), r, time.Second, 20*time.Millisecond)
	buf := make([]byte, 256)
	for _, frame := range [][]byte{{1, 3, 0, 0, 0, 2}, {1, 3, 4, 0, 42, 0, 7}} {
		w.Write(frame[:2])
		w.Write(frame[2:])
		n, err := frames.Read(buf)
		fmt.Printf("% x %v\n", buf[:n], err)
	}
	// Output:
	// 01 03 00 00 00 02 <nil>
	// 01 03 04 00 2a 00 07 <nil>
}

// Lines from a tty with a timeout on each read: ReadLine leaves a line cut
// by a timeout in the bufio.Reader, so the next call returns it whole
// (ReadString would hand back its first part with the error). A pipe
// stands in for the tty.
func ExampleReadLine() {
	r, w, err := fdstream.Pipe()
	if err != nil {
		panic(err)
	}
	defer r.Close()
	defer w.Close()

	lines := bufio.NewReader(fdstream.NewTimeoutReader(context.Background(), r, 50*time.Millisecond))
	w.Write([]byte("first\nsec"))
	for i := 0; i < 2; i++ {
		line, err := fdstream.ReadLine(lines, '\n')
		fmt.Printf("%q timeout=%v\n", line, os.IsTimeout(err))
	}
	w.Write([]byte("ond\n"))
	line, err := fdstream.ReadLine(lines, '\n')
	fmt.Printf("%q %v\n", line, err)
	// Output:
	// "first\n" timeout=false
	// "" timeout=true
	// "second\n" <nil>
}
