package fdstream_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/fdstream/fdstream"
)

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
