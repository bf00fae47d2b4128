package reactor_test

import (
	"context"
	"fmt"
	"log"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream/reactor"
)

// One goroutine serves several fds: the canonical loop of an event loop
// over a Poller. Each fd is added oneshot under a key; Wait returns a
// batch; the handler reads until EAGAIN, then re-arms the fd with
// Modify.
func ExamplePoller() {
	p, err := reactor.NewPoller(reactor.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	// Three pipes, their read ends served by this goroutine.
	var pipes [3][2]int
	for i := range pipes {
		if err := unix.Pipe(pipes[i][:]); err != nil {
			log.Fatal(err)
		}
		defer unix.Close(pipes[i][0])
		defer unix.Close(pipes[i][1])
		unix.SetNonblock(pipes[i][0], true)
		if err := p.Add(pipes[i][0], uint64(i), reactor.Readable, reactor.Oneshot); err != nil {
			log.Fatal(err)
		}
	}
	unix.Write(pipes[2][1], []byte("hello"))

	ctx := context.Background()
	events := make([]reactor.Event, 16)
	n, err := p.Wait(ctx, events)
	if err != nil {
		log.Fatal(err)
	}
	for _, ev := range events[:n] {
		fd := pipes[ev.Key][0]
		buf := make([]byte, 64)
		for {
			m, err := unix.Read(fd, buf)
			if err == unix.EAGAIN {
				break
			}
			if err != nil || m == 0 {
				log.Fatal("read: ", err)
			}
			fmt.Printf("pipe %d: %q\n", ev.Key, buf[:m])
		}
		// Oneshot: nothing more is reported for fd until it is re-armed.
		if err := p.Modify(fd, ev.Key, reactor.Readable, reactor.Oneshot); err != nil {
			log.Fatal(err)
		}
	}
	// Output: pipe 2: "hello"
}

// Registration.Do runs the caller's non-blocking system call, waiting
// for readiness only after it returned EAGAIN, so that an edge can never
// be waited for after it passed.
func ExampleRegistration_Do() {
	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		log.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	unix.SetNonblock(fds[0], true)

	r, err := reactor.New(reactor.Config{})
	if err != nil {
		log.Fatal(err)
	}
	reg, err := r.Register(fds[0])
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Deregister() // before the fd is closed

	go unix.Write(fds[1], []byte("ping"))
	buf := make([]byte, 16)
	var n int
	err = reg.Do(context.Background(), reactor.Readable, func(fd int) (err error) {
		n, err = unix.Read(fd, buf)
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", buf[:n])
	// Output: "ping"
}

// The readiness API for code that does its own I/O on an fd: register
// it, try the system call, and wait only after EAGAIN.
func ExampleReactor_Register() {
	var fds [2]int
	if err := unix.Pipe(fds[:]); err != nil {
		log.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	unix.SetNonblock(fds[0], true)

	r, err := reactor.New(reactor.Config{})
	if err != nil {
		log.Fatal(err)
	}
	reg, err := r.Register(fds[0]) // fd in non-blocking mode
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Deregister() // before fd is closed

	go unix.Write(fds[1], []byte("pong"))
	ctx := context.Background()
	buf := make([]byte, 16)
	for {
		n, err := unix.Read(fds[0], buf)
		if err == nil {
			fmt.Printf("%q\n", buf[:n])
			return
		}
		if err != unix.EAGAIN {
			log.Fatal(err)
		}
		if err := reg.Wait(ctx, reactor.Readable, nil); err != nil {
			log.Fatal(err) // ctx.Err(), os.ErrClosed, ...
		}
	}
	// Output: "pong"
}
