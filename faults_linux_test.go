package fdstream_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
	"github.com/fdstream/fdstream/internal/fdtest"
)

// signalFlood sends SIGUSR1 to every thread of the process, over and over,
// until stop is called, which returns how many signals were sent and how
// many the handler saw. Every blocking syscall the reactors make
// (epoll_pwait, select) and every read and write then keeps meeting EINTR.
func signalFlood(t *testing.T) (stop func() (sent, seen int64)) {
	t.Helper()
	ch := make(chan os.Signal, 64)
	signal.Notify(ch, syscall.SIGUSR1)
	var seen, sent atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ch:
				seen.Add(1)
			case <-done:
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		pid := unix.Getpid()
		for {
			select {
			case <-done:
				return
			default:
			}
			ents, err := os.ReadDir("/proc/self/task")
			if err != nil {
				t.Error(err)
				return
			}
			for _, e := range ents {
				tid, err := strconv.Atoi(e.Name())
				if err != nil {
					continue
				}
				// ESRCH: the thread exited meanwhile.
				if err := unix.Tgkill(pid, tid, unix.SIGUSR1); err == nil {
					sent.Add(1)
				}
			}
			// Pause after each round: at GOMAXPROCS=1 a flooder that
			// never parks holds the only P half the time (Gosched alone
			// puts it straight back on the run queue), and the test it
			// floods cannot finish in the hang bound under -race. A
			// round every few tens of microseconds still interrupts
			// every wait many times over.
			time.Sleep(20 * time.Microsecond)
		}
	}()
	var once sync.Once
	stop = func() (int64, int64) {
		once.Do(func() {
			close(done)
			wg.Wait()
			signal.Stop(ch)
		})
		return sent.Load(), seen.Load()
	}
	// A failing test still stops its flooders before the next test runs.
	t.Cleanup(func() { stop() })
	return stop
}

// Faults: EINTR. While every thread is flooded with signals, ping-pong
// across pipes and a pty (so every read waits in the reactor), a large
// transfer, and ctx timeouts on blocked reads all behave exactly as without
// signals, on every reactor kind: no byte lost, no spurious error.
func TestStreamSignalFlood(t *testing.T) {
	for _, nr := range testReactors(t) {
		t.Run(nr.name, func(t *testing.T) {
			stop := signalFlood(t)
			opt := fdstream.WithReactor(nr.r)
			ar, aw := mustPipe(t, opt)
			br, bw := mustPipe(t, opt)
			m, s := mustPTY(t, opt)
			ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
			defer cancel()

			// Ping-pong: each side's read waits for the other's write.
			const rounds = 2000
			echo := func(r, w *fdstream.Stream) <-chan error {
				return async(func() error {
					buf := make([]byte, 8)
					for i := 0; i < rounds; i++ {
						n, err := r.ReadContext(ctx, buf)
						if err != nil {
							return err
						}
						if _, err := w.WriteContext(ctx, buf[:n]); err != nil {
							return err
						}
					}
					return nil
				})
			}
			for _, pair := range []struct {
				name             string
				echo             <-chan error
				toEcho, fromEcho *fdstream.Stream
			}{
				{"pipes", echo(ar, bw), aw, br},
				{"pty", echo(s, s), m, m},
			} {
				buf := make([]byte, 8)
				for i := 0; i < rounds; i++ {
					msg := []byte(strconv.Itoa(i % 1000000))
					if _, err := pair.toEcho.WriteContext(ctx, msg); err != nil {
						t.Fatalf("%s round %d: write: %v", pair.name, i, err)
					}
					got := 0
					for got < len(msg) {
						n, err := pair.fromEcho.ReadContext(ctx, buf[got:len(msg)])
						if err != nil {
							t.Fatalf("%s round %d: read: %v", pair.name, i, err)
						}
						got += n
					}
					if !bytes.Equal(buf[:got], msg) {
						t.Fatalf("%s round %d: echoed %q, want %q", pair.name, i, buf[:got], msg)
					}
				}
				if err := recvErr(t, pair.echo); err != nil {
					t.Fatalf("%s echo: %v", pair.name, err)
				}
			}

			// A transfer larger than the pipe buffer: writes wait too.
			payload := bytes.Repeat([]byte("signal-proof "), 1<<16)
			wrote := async(func() error {
				_, err := aw.WriteContext(ctx, payload)
				return err
			})
			if got := readN(t, ar, len(payload)); sha256.Sum256(got) != sha256.Sum256(payload) {
				t.Fatal("the transfer arrived corrupted")
			}
			if err := recvErr(t, wrote); err != nil {
				t.Fatal(err)
			}

			// A ctx timeout still ends a blocked read with the ctx's
			// error, not EINTR.
			for i := 0; i < 20; i++ {
				short, cancel := context.WithTimeout(context.Background(), time.Millisecond)
				n, err := ar.ReadContext(short, make([]byte, 1))
				cancel()
				if n != 0 || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("blocked read under signals: %d, %v; want context.DeadlineExceeded", n, err)
				}
			}
			sent, seen := stop()
			if sent == 0 || seen == 0 {
				t.Fatalf("the flood did not happen: %d signals sent, %d seen", sent, seen)
			}
			t.Logf("%d signals sent to threads, %d seen by the handler", sent, seen)
		})
	}
}

// Faults: the peer vanishes mid-transfer. The far end of a pipe or a
// socketpair closed while a large write is blocked: the write returns
// n < len(p) with EPIPE (SIGPIPE does not kill the process) and exactly
// the bytes that reached the peer are counted. The writer closed while
// the reader is blocked: the reader gets every byte, then io.EOF.
func TestStreamPeerVanishesMidTransfer(t *testing.T) {
	for _, nr := range testReactors(t) {
		t.Run(nr.name, func(t *testing.T) {
			opt := fdstream.WithReactor(nr.r)
			for _, mk := range []struct {
				name string
				pair func(t *testing.T) (r, w *fdstream.Stream)
			}{
				{"pipe", func(t *testing.T) (r, w *fdstream.Stream) { return mustPipe(t, opt) }},
				{"socketpair", func(t *testing.T) (r, w *fdstream.Stream) {
					fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
					if err != nil {
						t.Fatal(err)
					}
					r, err = fdstream.NewStream(fds[0], "sp0", opt)
					if err != nil {
						t.Fatal(err)
					}
					w, err = fdstream.NewStream(fds[1], "sp1", opt)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { r.Close(); w.Close() })
					return r, w
				}},
			} {
				t.Run(mk.name+"/reader gone", func(t *testing.T) {
					r, w := mk.pair(t)
					bw := watchBlocks(t)
					payload := make([]byte, 8<<20)
					type result struct {
						n   int
						err error
					}
					res := make(chan result, 1)
					go func() {
						n, err := w.Write(payload)
						res <- result{n, err}
					}()
					bw.await(t, w, 1)
					// Take some bytes, then vanish.
					got := readN(t, r, 1000)
					_ = got
					if err := r.Close(); err != nil {
						t.Fatal(err)
					}
					var rs result
					select {
					case rs = <-res:
					case <-time.After(fdtest.Hang):
						t.Fatal("the write did not return after the reader closed")
					}
					if !errors.Is(rs.err, syscall.EPIPE) {
						t.Fatalf("write = %d, %v; want EPIPE", rs.n, rs.err)
					}
					var pe *os.PathError
					if !errors.As(rs.err, &pe) || pe.Op != "write" {
						t.Fatalf("write error %#v is not an *os.PathError with Op write", rs.err)
					}
					if rs.n < 1000 || rs.n >= len(payload) {
						t.Fatalf("write reported %d bytes; at least the 1000 read reached the peer, and not all of %d", rs.n, len(payload))
					}
					// The Stream still answers, with EPIPE again.
					if n, err := w.Write([]byte("x")); n != 0 || !errors.Is(err, syscall.EPIPE) {
						t.Fatalf("write after EPIPE = %d, %v", n, err)
					}
				})
				t.Run(mk.name+"/writer gone", func(t *testing.T) {
					r, w := mk.pair(t)
					bw := watchBlocks(t)
					var got bytes.Buffer
					done := async(func() error {
						_, err := io.Copy(&got, r)
						return err
					})
					bw.await(t, r, 1)
					payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<14)
					if _, err := w.Write(payload); err != nil {
						t.Fatal(err)
					}
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
					if err := recvErr(t, done); err != nil {
						t.Fatalf("reader: %v, want EOF (io.Copy returns nil)", err)
					}
					if !bytes.Equal(got.Bytes(), payload) {
						t.Fatalf("reader got %d bytes, want %d", got.Len(), len(payload))
					}
				})
			}
		})
	}
}

// Faults: the child on a pty is killed with SIGKILL while the parent is
// blocked reading its output and has bytes queued: the blocked read ends
// with io.EOF (not EIO, not a hang), and later writes fail cleanly.
func TestStreamPTYChildKilled(t *testing.T) {
	for _, nr := range testReactors(t) {
		t.Run(nr.name, func(t *testing.T) {
			cmd := exec.Command("/bin/sh", "-c", "echo ready; exec sleep 1000")
			c, err := adapters.StartPTY(cmd, fdstream.WithReactor(nr.r))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			waited := false
			t.Cleanup(func() {
				// A failure before the kill below leaves no sleeping child.
				if !waited {
					cmd.Process.Kill()
					cmd.Wait()
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
			defer cancel()
			buf := make([]byte, 64)
			var out []byte
			for !bytes.Contains(out, []byte("ready")) {
				n, err := c.ReadContext(ctx, buf)
				if err != nil {
					t.Fatalf("waiting for the child: %v (got %q)", err, out)
				}
				out = append(out, buf[:n]...)
			}
			bw := watchBlocks(t)
			done := async(func() error {
				for {
					_, err := c.ReadContext(ctx, buf)
					if err != nil {
						return err
					}
				}
			})
			// The Conn's read Stream is what blocks; wait until something
			// blocked on it.
			bw.awaitAny(t, 1)
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			if err := recvErr(t, done); err != io.EOF {
				t.Fatalf("blocked read after the child was killed: %v, want io.EOF", err)
			}
			err = cmd.Wait()
			waited = true
			if err == nil {
				t.Fatal("the killed child exited cleanly")
			}
			// Writing to a pty nobody holds: either the kernel queues it
			// or it refuses with an errno; never a hang or a panic.
			wctx, wcancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer wcancel()
			if _, err := c.WriteContext(wctx, []byte("anyone?\n")); err != nil {
				var oe *net.OpError
				if !errors.As(err, &oe) {
					t.Fatalf("write after hang-up: %#v, want a *net.OpError", err)
				}
			}
		})
	}
}

// Faults: the fd closed behind the library's back. Every later call
// fails with EBADF in an *os.PathError; Close reports EBADF too; nothing
// panics, and the reactor does not spin. On the select backend a call
// blocked at that moment is woken and gets EBADF; on epoll the kernel
// silently drops a closed fd from the epoll set, so a blocked call is
// ended by its ctx, deadline or Close (a documented limit, as with the
// Go runtime's own poller).
func TestStreamFdClosedBehindBack(t *testing.T) {
	for _, nr := range testReactors(t) {
		t.Run(nr.name, func(t *testing.T) {
			r, w, err := fdstream.Pipe(fdstream.WithReactor(nr.r))
			if err != nil {
				t.Fatal(err)
			}
			bw := watchBlocks(t)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			blocked := async(func() error {
				_, err := r.ReadContext(ctx, make([]byte, 8))
				return err
			})
			bw.await(t, r, 1)
			before := nr.r.Stats().Wakeups
			// Behind the Stream's back, on numbers nothing reopens
			// meanwhile: the test holds no other fd-opening goroutine.
			if err := unix.Close(r.Fd()); err != nil {
				t.Fatal(err)
			}
			if err := unix.Close(w.Fd()); err != nil {
				t.Fatal(err)
			}
			err = recvErr(t, blocked)
			switch {
			case errors.Is(err, syscall.EBADF):
			case nr.name != "select" && errors.Is(err, context.DeadlineExceeded):
			default:
				t.Fatalf("blocked read after its fd was closed: %v", err)
			}
			if woken := nr.r.Stats().Wakeups - before; woken > 10 {
				t.Fatalf("the reactor woke %d times for one closed fd: spinning", woken)
			}
			for name, call := range map[string]func() (int, error){
				"read":  func() (int, error) { return r.Read(make([]byte, 8)) },
				"write": func() (int, error) { return w.Write([]byte("x")) },
			} {
				n, err := call()
				var pe *os.PathError
				if n != 0 || !errors.As(err, &pe) || pe.Op != name || !errors.Is(err, syscall.EBADF) {
					t.Fatalf("%s on a closed fd = %d, %#v; want an *os.PathError %q wrapping EBADF", name, n, err, name)
				}
			}
			for _, s := range []*fdstream.Stream{r, w} {
				err := s.Close()
				var pe *os.PathError
				if !errors.As(err, &pe) || pe.Op != "close" || !errors.Is(err, syscall.EBADF) {
					t.Fatalf("Close of a Stream whose fd was closed = %#v; want close EBADF", err)
				}
			}
			if n := nr.r.Registrations(); n != 0 {
				t.Fatalf("%d registrations left", n)
			}
		})
	}
}

// Faults: Close races with every other method, thousands of times, while
// other goroutines make pipes that take over the freed fd numbers at
// once. No call ever touches a reused fd: a Control callback always sees
// the Stream's own file, and the new pipes neither lose nor gain a byte.
func TestStreamCloseRacesWithEveryMethod(t *testing.T) {
	rounds := 1000
	if testing.Short() {
		rounds = 200
	}
	for _, nr := range testReactors(t) {
		t.Run(nr.name, func(t *testing.T) {
			opt := fdstream.WithReactor(nr.r)
			// Reusers: make raw pipes as fast as fds free up, mark each
			// with one byte, and check later that it is untouched.
			stopReuse := make(chan struct{})
			reuseErr := make(chan error, 1)
			go func() {
				var held [][2]int
				defer func() {
					for _, p := range held {
						unix.Close(p[0])
						unix.Close(p[1])
					}
				}()
				for {
					select {
					case <-stopReuse:
						for _, p := range held {
							n, err := unix.IoctlGetInt(p[0], unix.TIOCINQ)
							if err != nil || n != 1 {
								reuseErr <- fmt.Errorf("a reused fd's pipe holds %d bytes (%v), want its 1 marker", n, err)
								return
							}
						}
						reuseErr <- nil
						return
					default:
					}
					var p [2]int
					if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
						reuseErr <- err
						return
					}
					if _, err := unix.Write(p[1], []byte{'M'}); err != nil {
						reuseErr <- err
						return
					}
					held = append(held, p)
					if len(held) > 64 {
						n, err := unix.IoctlGetInt(held[0][0], unix.TIOCINQ)
						if err != nil || n != 1 {
							reuseErr <- fmt.Errorf("a reused fd's pipe holds %d bytes (%v), want its 1 marker", n, err)
							return
						}
						unix.Close(held[0][0])
						unix.Close(held[0][1])
						held = held[1:]
					}
				}
			}()
			var misused atomic.Int64
			for i := 0; i < rounds; i++ {
				r, w, err := fdstream.Pipe(opt)
				if err != nil {
					t.Fatal(err)
				}
				var ids [2]unix.Stat_t
				for j, s := range []*fdstream.Stream{r, w} {
					if err := fdtest.Control(s, func(fd int) error { return unix.Fstat(fd, &ids[j]) }); err != nil {
						t.Fatal(err)
					}
				}
				same := func(j int, fd uintptr) {
					var st unix.Stat_t
					if unix.Fstat(int(fd), &st) != nil || st.Ino != ids[j].Ino || st.Dev != ids[j].Dev {
						misused.Add(1)
					}
				}
				ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
				calls := []func() error{
					func() error { _, err := r.Read(make([]byte, 16)); return err },
					func() error { _, err := r.ReadContext(ctx, make([]byte, 16)); return err },
					func() error { _, err := w.Write([]byte("racing")); return err },
					func() error { _, err := w.WriteContext(ctx, make([]byte, 1<<17)); return err },
					func() error { return r.SetReadDeadline(time.Now().Add(time.Hour)) },
					func() error { return w.SetWriteDeadline(time.Now().Add(time.Hour)) },
					func() error { return r.SetDeadline(time.Time{}) },
					func() error {
						rc, err := r.SyscallConn()
						if err != nil {
							return err
						}
						return rc.Control(func(fd uintptr) { same(0, fd) })
					},
					func() error {
						rc, err := r.SyscallConn()
						if err != nil {
							return err
						}
						return rc.Read(func(fd uintptr) bool {
							same(0, fd)
							_, err := unix.Read(int(fd), make([]byte, 16))
							return err != unix.EAGAIN
						})
					},
					func() error {
						rc, err := w.SyscallConn()
						if err != nil {
							return err
						}
						return rc.Write(func(fd uintptr) bool { same(1, fd); return true })
					},
					func() error { _ = r.Name(); return nil },
					func() error { return r.Close() },
					func() error { return w.Close() },
				}
				var wg sync.WaitGroup
				start := make(chan struct{})
				for _, call := range calls {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						// Each call either ran before the Close, or
						// fails with ErrClosed; a write may meet
						// EPIPE and a read EOF as the other end goes.
						err := call()
						if err != nil && err != io.EOF && !errors.Is(err, os.ErrClosed) && !errors.Is(err, syscall.EPIPE) {
							t.Errorf("round %d: %v", i, err)
						}
					}()
				}
				close(start)
				if i%3 == 0 {
					runtime.Gosched()
				}
				r.Close()
				w.Close()
				waitGroupOrFail(t, &wg)
				cancel()
				if t.Failed() {
					break
				}
			}
			close(stopReuse)
			if err := <-reuseErr; err != nil {
				t.Fatal(err)
			}
			if n := misused.Load(); n != 0 {
				t.Fatalf("%d callbacks ran on an fd that was no longer the Stream's", n)
			}
			if n := nr.r.Registrations(); n != 0 {
				t.Fatalf("%d registrations left", n)
			}
		})
	}
}

func waitGroupOrFail(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(fdtest.Hang):
		buf := make([]byte, 1<<20)
		t.Fatalf("calls still running %v after Close:\n%s", fdtest.Hang, buf[:runtime.Stack(buf, true)])
	}
}
