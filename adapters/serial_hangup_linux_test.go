package adapters_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
	"github.com/fdstream/fdstream/internal/fdtest"
	"github.com/fdstream/fdstream/reactor"
)

// A hang-up, as an unplugged USB adapter causes it (usb-serial and cdc-acm
// call tty_vhangup), reproduced two ways: vhangup(2) in a child whose
// controlling terminal is a pty slave, and socat's null-modem pair with
// socat killed (closing a pty master hangs its slave up). Both go through
// serialHangUpCheck.

// serialTestReactor makes a reactor of the backend named, so that the test
// can read its wake-up count.
func serialTestReactor(t *testing.T, backend string) *reactor.Reactor {
	t.Helper()
	b := reactor.Epoll
	if backend == "select" {
		b = reactor.Select
	}
	r, err := reactor.New(reactor.Config{Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

var serialBackends = []string{"epoll", "select"}

// serialAwaitParked waits until the goroutine running fn (a function of
// this file) is parked in a Stream's wait: blocked in a select (the
// reactor's loops) or on the runtime poller. A condition, looked at until
// it holds; the hang bound only catches a call that never blocks.
func serialAwaitParked(t *testing.T, fn string) {
	t.Helper()
	marker := "adapters_test." + fn + "("
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(fdtest.Hang)
	for {
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			header, _, _ := strings.Cut(g, "\n")
			if strings.Contains(g, marker) && (strings.Contains(header, "[select") || strings.Contains(header, "[IO wait")) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never blocked:\n%s", fn, buf[:n])
		}
		time.Sleep(time.Millisecond)
	}
}

type serialResult struct {
	n   int
	err error
}

// serialBlockedRead and serialBlockedWrite are the calls the hang-up
// must end; their names are what serialAwaitParked looks for.
func serialBlockedRead(ctx context.Context, s *fdstream.Stream, res chan<- serialResult) {
	n, err := s.ReadContext(ctx, make([]byte, 64))
	res <- serialResult{n, err}
}

func serialBlockedWrite(ctx context.Context, s *fdstream.Stream, p []byte, res chan<- serialResult) {
	n, err := s.WriteContext(ctx, p)
	res <- serialResult{n, err}
}

// serialHangUpCheck blocks a ReadContext and a WriteContext on s (whose
// other side neither writes nor reads, so the write fills the line and
// waits), hangs the terminal up with hangUp, and checks what a hang-up
// must look like: the read returns io.EOF itself; the write returns n > 0
// (the bytes the kernel took before the hang-up) and an error for which
// IsHangUp holds, wrapping EIO; HungUp reports true; later calls do the
// same at once; and r's loops do not spin over the dead descriptor. It
// returns the write's n.
func serialHangUpCheck(t *testing.T, r *reactor.Reactor, s *fdstream.Stream, hangUp func()) int {
	t.Helper()
	if hung, err := adapters.HungUp(s); err != nil || hung {
		t.Fatalf("HungUp before the hang-up = %v, %v", hung, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	reads, writes := make(chan serialResult, 1), make(chan serialResult, 1)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB: more than any tty buffers
	go serialBlockedRead(ctx, s, reads)
	go serialBlockedWrite(ctx, s, big, writes)
	serialAwaitParked(t, "serialBlockedRead")
	serialAwaitParked(t, "serialBlockedWrite")

	hangUp()

	rd := <-reads
	if rd.n != 0 || rd.err != io.EOF {
		t.Errorf("blocked ReadContext after the hang-up = %d, %v; want 0, io.EOF itself", rd.n, rd.err)
	}
	wr := <-writes
	if wr.n <= 0 || wr.n >= len(big) {
		t.Errorf("blocked WriteContext after the hang-up wrote %d of %d; want the part the kernel took", wr.n, len(big))
	}
	var pe *os.PathError
	if !adapters.IsHangUp(wr.err) || !errors.Is(wr.err, unix.EIO) || !errors.As(wr.err, &pe) || pe.Op != "write" {
		t.Errorf("blocked WriteContext after the hang-up: %v; want an *os.PathError write wrapping EIO, IsHangUp", wr.err)
	}
	if hung, err := adapters.HungUp(s); err != nil || !hung {
		t.Errorf("HungUp after the hang-up = %v, %v; want true", hung, err)
	}
	if n, err := s.ReadContext(ctx, make([]byte, 8)); n != 0 || err != io.EOF {
		t.Errorf("ReadContext again = %d, %v; want 0, io.EOF", n, err)
	}
	if _, err := s.WriteContext(ctx, []byte("x")); !adapters.IsHangUp(err) {
		t.Errorf("WriteContext again = %v; want IsHangUp", err)
	}
	if _, err := adapters.GetSerial(s); !adapters.IsHangUp(err) {
		t.Errorf("GetSerial after the hang-up = %v; want IsHangUp (EIO)", err)
	}

	// A quiet window with s still open and registered: a loop spinning
	// on the hung-up descriptor would harvest thousands of batches; a
	// correct one harvests only the idle read's.
	before := r.Stats().Wakeups
	idle, idleW, err := fdstream.Pipe(fdstream.WithReactor(r))
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	defer idleW.Close()
	qctx, qcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	idle.ReadContext(qctx, make([]byte, 1))
	qcancel()
	if n := r.Stats().Wakeups - before; n > 3 {
		t.Errorf("the reactor woke %d times in a quiet window after the hang-up", n)
	}
	return wr.n
}

// TestSerialHangUpHelperProcess is the child of TestSerialHangUpVhangup:
// a session leader whose controlling terminal is the pty slave named in
// the environment. It opens the slave, blocks calls on it, and hangs its
// controlling terminal up with vhangup(2).
func TestSerialHangUpHelperProcess(t *testing.T) {
	backend, path, _ := strings.Cut(fdtest.HelperMode(t, "TestSerialHangUpHelperProcess", "TestSerialHangUpVhangup"), ",")
	// vhangup sends SIGHUP to the session: the child must live to report.
	signal.Ignore(syscall.SIGHUP)
	defer signal.Reset(syscall.SIGHUP)
	r := serialTestReactor(t, backend)
	s, err := fdstream.Open(path, os.O_RDWR, fdstream.WithReactor(r))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := adapters.MakeRaw(s); err != nil {
		t.Fatal(err)
	}
	n := serialHangUpCheck(t, r, s, func() {
		if _, _, e := unix.Syscall(unix.SYS_VHANGUP, 0, 0, 0); e != 0 {
			t.Fatalf("vhangup: %v", e)
		}
	})
	fmt.Printf("serialhangup written=%d\n", n)
}

// A hang-up of the terminal itself (vhangup, as a USB unplug does it), on
// each backend, in a child whose controlling terminal is a pty slave: see
// serialHangUpCheck for what is checked there. Back in the parent, the
// master reads no more than the write's n: the n counted bytes the kernel
// accepted, and the hang-up may have flushed some of them.
func TestSerialHangUpVhangup(t *testing.T) {
	for _, backend := range serialBackends {
		t.Run(backend, func(t *testing.T) {
			master, path := fdtest.PTY(t, unix.O_NONBLOCK)
			slave, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer slave.Close()
			cmd, _ := fdtest.HelperCommand(t, "TestSerialHangUpHelperProcess", backend+","+path, "-test.v")
			cmd.ExtraFiles = []*os.File{slave}
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 3}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			slave.Close()
			if err := cmd.Wait(); err != nil {
				t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.Bytes(), stderr.Bytes())
			}
			m := regexp.MustCompile(`(?m)^serialhangup written=(\d+)$`).FindSubmatch(stdout.Bytes())
			if m == nil {
				t.Fatalf("child did not report:\n%s", stdout.Bytes())
			}
			written, _ := strconv.Atoi(string(m[1]))
			got := 0
			buf := make([]byte, 64<<10)
			for {
				n, err := unix.Read(master, buf)
				if n > 0 {
					got += n
				}
				if err != nil || n == 0 {
					break // EIO: the slave side is gone; EAGAIN: nothing more
				}
			}
			if got > written {
				t.Errorf("the master read %d bytes, more than the %d the write reported", got, written)
			}
			t.Logf("write n=%d, of which the master received %d", written, got)
		})
	}
}

// serialSocat starts socat with a null-modem pair of ptys, raw and without
// echo, and returns the process and the two slaves' paths once it is
// relaying. It is killed and waited for at cleanup. .ci/run installs
// socat; without it, and without FDSTREAM_NEED_SOCAT set, the test is
// skipped, saying so.
func serialSocat(t *testing.T) (*exec.Cmd, string, string) {
	t.Helper()
	fdtest.NeedTool(t, "socat")
	cmd := exec.Command("socat", "-d", "-d", "pty,raw,echo=0", "pty,raw,echo=0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		for range lines { // until socat's stderr ends
		}
		<-done
		cmd.Wait()
	})
	var ptys []string
	timeout := time.NewTimer(fdtest.Hang)
	defer timeout.Stop()
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("socat exited: %v", ptys)
			}
			if _, p, ok := strings.Cut(l, " PTY is "); ok {
				ptys = append(ptys, p)
			}
			if strings.Contains(l, "starting data transfer loop") {
				if len(ptys) != 2 {
					t.Fatalf("socat made %d ptys: %v", len(ptys), ptys)
				}
				return cmd, ptys[0], ptys[1]
			}
		case <-timeout.C:
			t.Fatalf("socat did not start relaying; ptys so far %v", ptys)
		}
	}
}

// serialOpenSocat opens both ends of a socat pair on r.
func serialOpenSocat(t *testing.T, r *reactor.Reactor) (cmd *exec.Cmd, a, b *fdstream.Stream) {
	t.Helper()
	cmd, pa, pb := serialSocat(t)
	var opts []fdstream.Option
	if r != nil {
		opts = append(opts, fdstream.WithReactor(r))
	}
	a, err := fdstream.Open(pa, os.O_RDWR, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err = fdstream.Open(pb, os.O_RDWR, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return cmd, a, b
}

// socat killed while a read (and a write) is blocked on one end of its
// null-modem pair: its pty masters close, which hangs both slaves up. The
// same checks as for vhangup, on each backend; the other end is hung up
// too.
func TestSerialHangUpSocatKilled(t *testing.T) {
	for _, backend := range serialBackends {
		t.Run(backend, func(t *testing.T) {
			r := serialTestReactor(t, backend)
			cmd, a, b := serialOpenSocat(t, r)
			serialHangUpCheck(t, r, a, func() {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			})
			if hung, err := adapters.HungUp(b); err != nil || !hung {
				t.Errorf("HungUp(other end) = %v, %v; want true", hung, err)
			}
		})
	}
}

// What a socat null-modem pair can and cannot do: it is two ptys, so it
// has no modem lines either (the clear error, wrapping ENOTTY, on both
// ends), and a break sends nothing; but bytes cross both ways unchanged,
// InQueue counts them, and HungUp says the line is live.
func TestSerialSocatNullModem(t *testing.T) {
	_, a, b := serialOpenSocat(t, nil)
	for _, s := range []*fdstream.Stream{a, b} {
		_, err := adapters.GetModem(s)
		ttyTestWantErr(t, err, "getmodem", s, unix.ENOTTY)
		if err != nil && !strings.Contains(err.Error(), "no modem control lines") {
			t.Errorf("GetModem on socat's pty: %q does not say why", err)
		}
		ttyTestWantErr(t, adapters.SetModem(s, adapters.ModemDTR, adapters.ModemRTS), "setmodem", s, unix.ENOTTY)
		if hung, err := adapters.HungUp(s); err != nil || hung {
			t.Errorf("HungUp(%s) = %v, %v; want false", s.Name(), hung, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	for _, dir := range []struct{ from, to *fdstream.Stream }{{a, b}, {b, a}} {
		if err := adapters.SendBreak(ctx, dir.from, 5*time.Millisecond); err != nil {
			t.Fatalf("SendBreak(%s): %v", dir.from.Name(), err)
		}
		msg := "AT\r\n\x00\xff"
		if _, err := dir.from.WriteContext(ctx, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		ttyTestWaitInput(t, dir.to, len(msg))
		if n, err := adapters.InQueue(dir.to); err != nil || n != len(msg) {
			t.Errorf("InQueue = %d, %v; want %d (the break added nothing)", n, err, len(msg))
		}
		if got := ttyTestReadN(t, dir.to, len(msg)); got != msg {
			t.Errorf("%s read %q, want %q", dir.to.Name(), got, msg)
		}
	}
}
