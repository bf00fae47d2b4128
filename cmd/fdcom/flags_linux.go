package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/fdstream/fdstream/adapters"
)

// config is what the command line asks for.
type config struct {
	port      string // PORT, a path
	serial    string // -serial: a USB serial number to find the port by
	demo      bool   // -demo: a pty with the built-in device on its other side
	list      bool   // --list
	help      bool   // -h
	line      adapters.SerialConfig
	logPath   string // -l
	hex       bool
	quiet     bool
	reconnect bool
	escape    byte // the escape key as the byte it sends: 0x01 for C-a
}

// usageError is a command line fdcom cannot run: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

const usageText = `usage: fdcom [flags] PORT
       fdcom [flags] -serial NUMBER
       fdcom [flags] -demo
       fdcom --list

A serial console built on fdstream. It puts your terminal in raw mode,
sends what you type to the port and shows what the port sends, until
C-a C-x. -demo runs a built-in device on a pty: no hardware needed.

  -b BAUD        speed in bits per second, any rate the driver takes (115200)
  -d BITS        data bits: 5, 6, 7 or 8 (8)
  -p PARITY      parity: n(one), o(dd), e(ven), m(ark) or s(pace) (n)
  -s BITS        stop bits: 1 or 2 (1)
  -f FLOW        flow control: n(one), h(ard) = rts/cts, x = xon/xoff (n)
  -e KEY         escape key: -e b makes it C-b (a)
  -l FILE        append every byte received from the port to FILE
  --hex          show received bytes as hexadecimal
  -q             quiet: no start line, no confirmations of commands
  --reconnect    after a hang-up (adapter unplugged), wait for it and reopen it
  -serial NUMBER open the USB adapter with this serial number (see --list)
  -demo          open a pty with the built-in demo device on its other side
  --list         list the serial ports: path, USB ids, serial number, product

Commands, after the escape key (C-a):
  C-x quit          C-q quit, leaving the port's settings and lines as they are
  C-t toggle DTR    C-g toggle RTS    C-\ send a break
  C-u baud up       C-d baud down     C-v show the settings and modem lines
  C-a send C-a      C-h help

Exit status: 0 after C-x or C-q, 1 when the session failed (the port hung
up without --reconnect, an I/O error), 2 for a bad command line or a port
that cannot be opened, 128+N after signal N.
`

// parseArgs parses fdcom's command line. Flags may come before or after
// PORT, with one dash or two; "--" ends them. The error is a *usageError
// whose text is one line.
func parseArgs(args []string) (config, error) {
	c := config{
		line:   adapters.SerialConfig{Baud: 115200, DataBits: 8, StopBits: adapters.StopBits1},
		escape: 0x01,
	}
	fs := flag.NewFlagSet("fdcom", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.Func("b", "", func(v string) error {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 || n > math.MaxUint32 {
			return errors.New("want a whole number of bits per second, from 1 to 4294967295")
		}
		c.line.Baud = int(n)
		return nil
	})
	fs.Func("d", "", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 5 || n > 8 {
			return errors.New("data bits are 5, 6, 7 or 8")
		}
		c.line.DataBits = n
		return nil
	})
	fs.Func("p", "", func(v string) error {
		p, ok := parseParity(v)
		if !ok {
			return errors.New("parity is n, o, e, m or s (none, odd, even, mark, space)")
		}
		c.line.Parity = p
		return nil
	})
	fs.Func("s", "", func(v string) error {
		switch v {
		case "1":
			c.line.StopBits = adapters.StopBits1
		case "2":
			c.line.StopBits = adapters.StopBits2
		default:
			return errors.New("stop bits are 1 or 2")
		}
		return nil
	})
	fs.Func("f", "", func(v string) error {
		rtscts, xonxoff, ok := parseFlow(v)
		if !ok {
			return errors.New("flow control is n, h or x (none, rts/cts, xon/xoff)")
		}
		c.line.RTSCTS, c.line.XONXOFF = rtscts, xonxoff
		return nil
	})
	fs.Func("e", "", func(v string) error {
		b, ok := parseEscape(v)
		if !ok {
			return errors.New("the escape key is a letter, as in -e b for C-b")
		}
		c.escape = b
		return nil
	})
	fs.Func("l", "", func(v string) error {
		if v == "" {
			return errors.New("empty file name")
		}
		c.logPath = v
		return nil
	})
	fs.Func("serial", "", func(v string) error {
		if v == "" {
			return errors.New("empty USB serial number")
		}
		c.serial = v
		return nil
	})
	fs.BoolVar(&c.hex, "hex", false, "")
	fs.BoolVar(&c.quiet, "q", false, "")
	fs.BoolVar(&c.reconnect, "reconnect", false, "")
	fs.BoolVar(&c.demo, "demo", false, "")
	fs.BoolVar(&c.list, "list", false, "")

	var ports []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			c.help = true
			return c, nil
		}
		if err != nil {
			if strings.HasPrefix(err.Error(), "flag provided but not defined") {
				return c, usagef("%v (fdcom -h lists the flags)", err)
			}
			return c, usagef("%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if endedByTerminator(args, len(args)-len(rest)) {
			ports = append(ports, rest...)
			break
		}
		ports = append(ports, rest[0])
		args = rest[1:]
	}

	switch {
	case c.list && (len(ports) > 0 || c.serial != "" || c.demo):
		return c, usagef("--list takes no port")
	case c.list:
		return c, nil
	case len(ports) > 1:
		return c, usagef("one PORT only, got %d: %s", len(ports), strings.Join(ports, " "))
	}
	if len(ports) == 1 {
		c.port = ports[0]
		if c.port == "" {
			return c, usagef("empty PORT")
		}
	}
	sources := 0
	for _, given := range []bool{c.port != "", c.serial != "", c.demo} {
		if given {
			sources++
		}
	}
	switch {
	case sources == 0:
		return c, usagef("no port: give PORT, -serial NUMBER or -demo (fdcom -h for help)")
	case sources > 1:
		return c, usagef("give only one of PORT, -serial and -demo")
	}
	return c, nil
}

// endedByTerminator reports whether flag.Parse stopped after args[:consumed]
// because of a "--" (and not because "--" was a flag's value).
func endedByTerminator(args []string, consumed int) bool {
	if consumed == 0 || args[consumed-1] != "--" {
		return false
	}
	if consumed < 2 {
		return true
	}
	prev := strings.TrimLeft(args[consumed-2], "-")
	if strings.HasPrefix(args[consumed-2], "-") && !strings.Contains(prev, "=") {
		switch prev {
		case "b", "d", "p", "s", "f", "e", "l", "serial":
			return false // "--" was this flag's value
		}
	}
	return true
}

func parseParity(v string) (adapters.Parity, bool) {
	switch strings.ToLower(v) {
	case "n", "none":
		return adapters.ParityNone, true
	case "o", "odd":
		return adapters.ParityOdd, true
	case "e", "even":
		return adapters.ParityEven, true
	case "m", "mark":
		return adapters.ParityMark, true
	case "s", "space":
		return adapters.ParitySpace, true
	}
	return 0, false
}

func parseFlow(v string) (rtscts, xonxoff, ok bool) {
	switch strings.ToLower(v) {
	case "n", "none":
		return false, false, true
	case "h", "hard", "rtscts", "rts/cts":
		return true, false, true
	case "x", "soft", "xonxoff", "xon/xoff":
		return false, true, true
	}
	return false, false, false
}

// parseEscape reads picocom's -e: a letter (either case) stands for its
// control key, as do the other keys with one: @ [ \ ] ^ _. "C-b" and
// "^b" are accepted too.
func parseEscape(v string) (byte, bool) {
	for _, prefix := range []string{"C-", "c-", "^"} {
		if len(v) == len(prefix)+1 && strings.HasPrefix(v, prefix) {
			v = v[len(prefix):]
			break
		}
	}
	if len(v) != 1 {
		return 0, false
	}
	k := v[0]
	switch {
	case k >= 'a' && k <= 'z', k >= 'A' && k <= 'Z', strings.IndexByte(`@[\]^_`, k) >= 0:
		return k & 0x1f, true
	}
	return 0, false
}

// keyName names a control byte as the escape commands are written: "C-a".
func keyName(b byte) string {
	switch {
	case b < 0x20:
		return "C-" + string(rune(strings.ToLower(string(rune(b | 0x40)))[0]))
	case b == 0x7f:
		return "DEL"
	case b < 0x7f:
		return strconv.Quote(string(rune(b)))
	}
	return fmt.Sprintf("%#02x", b)
}
