//go:build linux

package adapters_test

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"

	"os/exec"
	"strings"
	"time"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
)

// TLS over two kernel pipes: anything that takes a net.Conn runs over
// file descriptors.
func ExamplePipe_tls() {
	// A throwaway self-signed certificate for the example.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"device"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	cert, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(cert)

	a, b, err := adapters.Pipe()
	if err != nil {
		panic(err)
	}
	server := tls.Server(a, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}})
	client := tls.Client(b, &tls.Config{RootCAs: roots, ServerName: "device"})
	defer server.Close()
	defer client.Close()

	go func() {
		line, _ := bufio.NewReader(server).ReadString('\n')
		fmt.Fprintf(server, "echo: %s", line)
	}()
	fmt.Fprintf(client, "hello over TLS\n")
	reply, err := bufio.NewReader(client).ReadString('\n')
	fmt.Print(reply, err, "\n")
	// Output:
	// echo: hello over TLS
	// <nil>
}

// Reading a serial device with a timeout. A pty stands in for the serial
// port here; with real hardware, open it with fdstream.Open("/dev/ttyUSB0",
// os.O_RDWR) and configure it with SetSerial.
func ExampleNewConn_serialTimeout() {
	port, device, err := adapters.OpenPTY() // port: our side; device: the "hardware"
	if err != nil {
		panic(err)
	}
	defer device.Close()
	if _, err := adapters.MakeRaw(device); err != nil {
		panic(err)
	}
	c := adapters.NewConn(port)
	defer c.Close()

	device.Write([]byte("OK\r\n"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	line, err := bufio.NewReader(fdstream.NewReader(ctx, c)).ReadString('\n')
	fmt.Printf("%q %v\n", line, err)

	// The device says nothing more: the read ends at the timeout.
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = c.ReadContext(ctx, make([]byte, 16))
	fmt.Println(errors.Is(err, context.DeadlineExceeded))
	// Output:
	// "OK\r\n" <nil>
	// true
}

// Driving a child process on a pty, expect-style.
func ExampleStartPTY() {
	cmd := exec.Command("sh", "-c", "read name; echo \"hello, $name\"")
	c, err := adapters.StartPTY(cmd)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	fmt.Fprint(c, "pty\n")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sc := bufio.NewScanner(fdstream.NewReader(ctx, c))
	for sc.Scan() { // the terminal echoes our input first
		if line := strings.TrimRight(sc.Text(), "\r"); strings.HasPrefix(line, "hello") {
			fmt.Println(line)
			break
		}
	}
	cmd.Wait()
	// Output:
	// hello, pty
}
