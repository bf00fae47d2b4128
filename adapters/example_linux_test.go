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
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
)

// TLS over two kernel pipes: anything that takes a net.Conn runs over
// file descriptors, a pty or a serial line as well as a pipe.
func ExamplePipe_tls() {
	serverConfig, clientConfig := exampleTLSConfigs() // a throwaway certificate

	a, b, err := adapters.Pipe() // two net.Conns, connected
	if err != nil {
		panic(err)
	}
	server := tls.Server(a, serverConfig)
	client := tls.Client(b, clientConfig)
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

// exampleTLSConfigs makes a self-signed certificate for "device" and the
// configs of a server presenting it and a client trusting it.
func exampleTLSConfigs() (server, client *tls.Config) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"device"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: roots, ServerName: "device"}
}

// Reading a serial device line by line, each read limited to 500ms. A pty
// stands in for the serial port here; with real hardware, open it with
// fdstream.Open("/dev/ttyUSB0", os.O_RDWR) and configure it with
// SetSerial. One bufio.Reader serves the port's whole life, so nothing it
// buffered is lost, and ReadLine keeps a line cut by a timeout for the
// next call.
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

	lines := bufio.NewReader(fdstream.NewTimeoutReader(context.Background(), c, 500*time.Millisecond))
	device.Write([]byte("OK\r\nSECOND\r\nTHI"))
	for i := 0; i < 3; i++ {
		line, err := fdstream.ReadLine(lines, '\n')
		fmt.Printf("%q timeout=%v\n", line, os.IsTimeout(err))
	}
	device.Write([]byte("RD\r\n")) // the rest of the line cut by the timeout
	line, err := fdstream.ReadLine(lines, '\n')
	fmt.Printf("%q %v\n", line, err)
	// Output:
	// "OK\r\n" timeout=false
	// "SECOND\r\n" timeout=false
	// "" timeout=true
	// "THIRD\r\n" <nil>
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
