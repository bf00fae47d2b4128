package fdstream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fdstream/fdstream"
)

// Copy between two Streams splices on Linux; the ctx bounds the whole
// copy, and whatever it had taken from the source but not yet written
// would come back in a *CopyError.
func ExampleCopy_streams() {
	srcR, srcW, err := fdstream.Pipe()
	if err != nil {
		panic(err)
	}
	defer srcR.Close()
	dstR, dstW, err := fdstream.Pipe()
	if err != nil {
		panic(err)
	}
	defer dstR.Close()

	go func() {
		srcW.Write([]byte("through two pipes"))
		srcW.Close() // end of stream: Copy returns nil
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := fdstream.Copy(ctx, dstW, srcR)
	var ce *fdstream.CopyError
	if errors.As(err, &ce) {
		fmt.Printf("%d bytes not written: %q\n", len(ce.Unwritten), ce.Unwritten)
	}
	dstW.Close()
	got, _ := io.ReadAll(dstR)
	fmt.Println(n, err, string(got))
	// Output: 17 <nil> through two pipes
}

// Buffers go out in one writev(2), all of them or an error, and come back
// in with one readv(2), filled in order.
func ExampleStream_WriteBuffersContext() {
	r, w, err := fdstream.Pipe()
	if err != nil {
		panic(err)
	}
	defer r.Close()
	defer w.Close()

	ctx := context.Background()
	header, body := []byte("HDR:"), []byte("payload")
	n, err := w.WriteBuffersContext(ctx, [][]byte{header, body})
	fmt.Println(n, err)

	h, b := make([]byte, 4), make([]byte, 16)
	m, err := r.ReadBuffersContext(ctx, [][]byte{h, b})
	fmt.Printf("%d %v %q %q\n", m, err, h, b[:m-4])
	// Output:
	// 11 <nil>
	// 11 <nil> "HDR:" "payload"
}
