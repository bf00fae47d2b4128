//go:build linux

package adapters_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/nettest"
	"golang.org/x/sys/unix"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
	"github.com/fdstream/fdstream/internal/fdtest"
)

// connTestRawPTY opens a pty pair whose slave is in raw mode, so bytes
// cross it unchanged both ways.
func connTestRawPTY(t testing.TB) (master, slave *fdstream.Stream) {
	t.Helper()
	master, slave, err := adapters.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adapters.MakeRaw(slave); err != nil {
		t.Fatal(err)
	}
	return master, slave
}

func connTestSocketpair(t testing.TB) (a, b *adapters.Conn) {
	t.Helper()
	fd0, fd1 := fdtest.Socketpair(t)
	fds := [2]int{fd0, fd1}
	sa, err := fdstream.NewStream(fds[0], "sock:a")
	if err != nil {
		t.Fatal(err)
	}
	sb, err := fdstream.NewStream(fds[1], "sock:b")
	if err != nil {
		t.Fatal(err)
	}
	return adapters.NewConn(sa), adapters.NewConn(sb)
}

// x/net/nettest's conformance suite, every subtest, on each transport.
func TestConnNettest(t *testing.T) {
	t.Run("Pipe", func(t *testing.T) {
		nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
			a, b, err := adapters.Pipe()
			if err != nil {
				return nil, nil, nil, err
			}
			return a, b, func() { a.Close(); b.Close() }, nil
		})
	})
	t.Run("Socketpair", func(t *testing.T) {
		nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
			a, b := connTestSocketpair(t)
			return a, b, func() { a.Close(); b.Close() }, nil
		})
	})
	t.Run("PTY", func(t *testing.T) {
		nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
			m, s := connTestRawPTY(t)
			// c1 is the slave: nettest's c1 writes and closes at once
			// (BasicIO), and a master that closes hangs the slave up,
			// which discards what the slave has not read yet. A slave
			// that closes leaves its output readable on the master.
			a, b := adapters.NewConn(s), adapters.NewConn(m)
			return a, b, func() { a.Close(); b.Close() }, nil
		})
	})
}

// Errors are *net.OpError with the std sentinels inside; addresses name
// the kind of file.
func TestConnErrorsAndAddrs(t *testing.T) {
	a, b, err := adapters.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.LocalAddr().Network() != "pipe" || a.LocalAddr().String() != "pipe:a" || a.RemoteAddr().String() != "pipe:b" {
		t.Errorf("Pipe addrs: %v/%v %v", a.LocalAddr().Network(), a.LocalAddr(), a.RemoteAddr())
	}

	a.SetReadDeadline(time.Now().Add(-time.Second))
	_, err = a.Read(make([]byte, 1))
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "read" || oe.Net != "pipe" {
		t.Fatalf("deadline error = %#v, want *net.OpError read/pipe", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("deadline error %v: Timeout %v, Is ErrDeadlineExceeded %v", err, ne != nil && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded))
	}
	if !strings.Contains(err.Error(), "i/o timeout") {
		t.Errorf("deadline error text %q", err)
	}
	a.SetReadDeadline(time.Time{})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.ReadContext(ctx, make([]byte, 1)); !errors.Is(err, context.Canceled) || !errors.As(err, &oe) {
		t.Errorf("ctx error = %v, want *net.OpError wrapping context.Canceled", err)
	}

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"read":  func() error { _, err := a.Read(make([]byte, 1)); return err }(),
		"write": func() error { _, err := a.Write([]byte("x")); return err }(),
		"close": a.Close(),
	} {
		if !errors.Is(err, net.ErrClosed) || !errors.As(err, &oe) {
			t.Errorf("%s after Close = %v, want *net.OpError wrapping net.ErrClosed", name, err)
		} else if !strings.Contains(err.Error(), "use of closed network connection") {
			t.Errorf("%s after Close text %q", name, err)
		}
	}

	// EPIPE as *os.SyscallError inside the OpError.
	b2, err := b.Write([]byte("to nobody"))
	if err == nil {
		t.Fatalf("write to a closed peer: %d, nil", b2)
	}
	var se *os.SyscallError
	if !errors.Is(err, syscall.EPIPE) || !errors.As(err, &se) {
		t.Errorf("write to a closed peer = %v, want EPIPE in *os.SyscallError", err)
	}

	m, s := connTestRawPTY(t)
	mc := adapters.NewConn(m)
	defer mc.Close()
	defer s.Close()
	if mc.LocalAddr().Network() != "tty" || mc.LocalAddr().String() != "/dev/ptmx" {
		t.Errorf("pty addr %s %s", mc.LocalAddr().Network(), mc.LocalAddr())
	}
	sa, sb := connTestSocketpair(t)
	defer sa.Close()
	defer sb.Close()
	if sa.LocalAddr().Network() != "unix" {
		t.Errorf("socketpair addr network %q", sa.LocalAddr().Network())
	}
}

// CloseWrite: the peer reads io.EOF after the data, while this end reads
// on; for a pair and for a socket. CloseRead likewise.
func TestConnHalfClose(t *testing.T) {
	pa, pb, err := adapters.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	sa, sb := connTestSocketpair(t)
	for _, c := range []struct {
		name string
		a, b *adapters.Conn
	}{{"pipe", pa, pb}, {"socketpair", sa, sb}} {
		t.Run(c.name, func(t *testing.T) {
			defer c.a.Close()
			defer c.b.Close()
			c.a.Write([]byte("last words"))
			if err := c.a.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(c.b)
			if err != nil || string(got) != "last words" {
				t.Fatalf("peer read %q, %v; want the data then EOF", got, err)
			}
			if _, err := c.a.Write([]byte("x")); err == nil {
				t.Fatal("Write after CloseWrite succeeded")
			}
			// a still reads.
			c.b.Write([]byte("reply"))
			buf := make([]byte, 5)
			if _, err := io.ReadFull(c.a, buf); err != nil || string(buf) != "reply" {
				t.Fatalf("read after CloseWrite: %q, %v", buf, err)
			}
			if err := c.a.CloseRead(); err != nil {
				t.Fatal(err)
			}
			if _, err := c.a.Read(buf); err == nil {
				t.Fatal("Read after CloseRead succeeded")
			}
			if err := c.a.CloseWrite(); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("second CloseWrite = %v, want net.ErrClosed", err)
			}
			if err := c.a.SetDeadline(time.Now().Add(time.Second)); err != nil {
				t.Fatalf("SetDeadline on a half-closed Conn = %v", err)
			}
		})
	}
	// A tty cannot be half-closed.
	m, s := connTestRawPTY(t)
	mc := adapters.NewConn(m)
	defer mc.Close()
	defer s.Close()
	if err := mc.CloseWrite(); !errors.Is(err, unix.ENOTSUP) {
		t.Fatalf("CloseWrite on a tty = %v, want ENOTSUP", err)
	}
	s.Write([]byte("k"))
	if _, err := mc.Read(make([]byte, 1)); err != nil {
		t.Fatalf("tty unusable after refused CloseWrite: %v", err)
	}
}

func selfSignedTLS(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "fdstream.test"},
		DNSNames:     []string{"fdstream.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}

// crypto/tls handshakes and exchanges data over Pipe.
func TestConnTLSOverPipe(t *testing.T) {
	serverCfg, pool := selfSignedTLS(t)
	a, b, err := adapters.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	srv := tls.Server(a, serverCfg)
	cli := tls.Client(b, &tls.Config{RootCAs: pool, ServerName: "fdstream.test"})
	defer srv.Close()
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		if err := srv.HandshakeContext(ctx); err != nil {
			errc <- err
			return
		}
		line, err := bufio.NewReader(srv).ReadString('\n')
		if err != nil {
			errc <- err
			return
		}
		_, err = srv.Write([]byte(strings.ToUpper(line)))
		errc <- err
	}()
	if err := cli.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Write([]byte("secret over a pipe\n")); err != nil {
		t.Fatal(err)
	}
	got, err := bufio.NewReader(cli).ReadString('\n')
	if err != nil || got != "SECRET OVER A PIPE\n" {
		t.Fatalf("TLS reply %q, %v", got, err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if st := cli.ConnectionState(); !st.HandshakeComplete || st.Version < tls.VersionTLS12 {
		t.Fatalf("TLS state: %+v", st)
	}
}

// oneConnListener is a net.Listener that yields one Conn, then blocks until
// closed.
type oneConnListener struct {
	mu     sync.Mutex
	c      net.Conn
	closed chan struct{}
	once   sync.Once
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.c
	l.c = nil
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return adapters.Addr{Net: "pipe", Name: "pipe:a"} }

// net/http serves a request over a Conn.
func TestConnHTTPOverPipe(t *testing.T) {
	a, b, err := adapters.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	ln := &oneConnListener{c: a, closed: make(chan struct{})}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.URL.Path+" over "+r.RemoteAddr)
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	dialed := false
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dialed {
			return nil, errors.New("one connection only")
		}
		dialed = true
		return b, nil
	}}
	client := &http.Client{Transport: tr, Timeout: fdtest.Hang}
	resp, err := client.Get("http://fdstream/over-a-pipe")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "hello /over-a-pipe over pipe:b" {
		t.Fatalf("body %q, %v", body, err)
	}
	tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Fatalf("Serve = %v", err)
	}
}

// bufio.Scanner reads lines and encoding/json decodes values from a pty,
// with a timeout that ends a read nothing answers.
func TestConnPTYLinesAndJSON(t *testing.T) {
	m, s := connTestRawPTY(t)
	mc := adapters.NewConn(m)
	defer mc.Close()
	defer s.Close()
	go func() {
		s.Write([]byte("line one\nline two\n{\"n\":1}\n{\"n\":2}\n"))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	br := bufio.NewReader(fdstream.NewReader(ctx, mc))
	for _, want := range []string{"line one", "line two"} {
		line, err := br.ReadString('\n')
		if err != nil || strings.TrimSuffix(line, "\n") != want {
			t.Fatalf("line %q, %v; want %q", line, err, want)
		}
	}
	dec := json.NewDecoder(br)
	for want := 1; want <= 2; want++ {
		var v struct{ N int }
		if err := dec.Decode(&v); err != nil || v.N != want {
			t.Fatalf("decoded %+v, %v; want n=%d", v, err, want)
		}
	}
	// Nothing more comes: a timeout ends the read, and a line written
	// afterwards is read whole.
	mc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	var v struct{ N int }
	if err := dec.Decode(&v); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Decode with nothing to read = %v, want a timeout", err)
	}
	mc.SetReadDeadline(time.Time{})
	s.Write([]byte("after the timeout\n"))
	sc := bufio.NewScanner(fdstream.NewReader(ctx, mc))
	if !sc.Scan() || sc.Text() != "after the timeout" {
		t.Fatalf("after timeout: %q, %v", sc.Text(), sc.Err())
	}
}

// expect reads from c until the output contains want or the timeout ends.
func expect(t *testing.T, c *adapters.Conn, want string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	var out bytes.Buffer
	buf := make([]byte, 256)
	for !strings.Contains(out.String(), want) {
		n, err := c.ReadContext(ctx, buf)
		out.Write(buf[:n])
		if err != nil {
			t.Fatalf("waiting for %q, got %q: %v", want, out.String(), err)
		}
	}
	return out.String()
}

// A real child on a pty, driven expect-style; once it is killed the master
// reads io.EOF.
func TestConnPTYChildProcess(t *testing.T) {
	cmd := exec.Command("sh")
	cmd.Env = []string{"PS1=$ ", "PATH=/usr/bin:/bin", "TERM=dumb"}
	c, err := adapters.StartPTY(cmd)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("echo hello-$((40+2))\n")); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "hello-42")
	if _, err := c.Write([]byte("tty\n")); err != nil {
		t.Fatal(err)
	}
	expect(t, c, "/dev/pts/")
	cmd.Process.Kill()
	cmd.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), fdtest.Hang)
	defer cancel()
	buf := make([]byte, 256)
	for {
		_, err := c.ReadContext(ctx, buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("master read after the child died = %v, want io.EOF", err)
		}
	}
}
