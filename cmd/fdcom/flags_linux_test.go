package main

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/fdstream/fdstream/adapters"
)

func TestParseArgs(t *testing.T) {
	def := adapters.SerialConfig{Baud: 115200, DataBits: 8, StopBits: adapters.StopBits1}
	with := func(f func(c *config)) config {
		c := config{line: def, escape: 0x01}
		f(&c)
		return c
	}
	tests := []struct {
		args []string
		want config
	}{
		{[]string{"/dev/ttyUSB0"}, with(func(c *config) { c.port = "/dev/ttyUSB0" })},
		{[]string{"-demo"}, with(func(c *config) { c.demo = true })},
		{[]string{"--demo", "--reconnect", "--hex", "-q"}, with(func(c *config) { c.demo, c.reconnect, c.hex, c.quiet = true, true, true, true })},
		{[]string{"-serial", "A1B2C3D4"}, with(func(c *config) { c.serial = "A1B2C3D4" })},
		{[]string{"--list"}, with(func(c *config) { c.list = true })},
		{[]string{"-h"}, with(func(c *config) { c.help = true })},
		{[]string{"--help"}, with(func(c *config) { c.help = true })},
		// Every setting, flags on both sides of PORT (getopt's habit).
		{[]string{"-b", "250000", "/dev/ttyACM0", "-d", "7", "-p", "e", "-s", "2", "-f", "h", "-e", "b", "-l", "log.txt"},
			with(func(c *config) {
				c.port = "/dev/ttyACM0"
				c.line = adapters.SerialConfig{Baud: 250000, DataBits: 7, Parity: adapters.ParityEven, StopBits: adapters.StopBits2, RTSCTS: true}
				c.escape = 0x02
				c.logPath = "log.txt"
			})},
		{[]string{"-b=9600", "-p=ODD", "-f=xon/xoff", "-e=C-t", "p"}, with(func(c *config) {
			c.port = "p"
			c.line.Baud, c.line.Parity, c.line.XONXOFF = 9600, adapters.ParityOdd, true
			c.escape = 0x14
		})},
		{[]string{"-p", "mark", "-f", "rts/cts", "-e", "^]", "p"}, with(func(c *config) {
			c.port = "p"
			c.line.Parity, c.line.RTSCTS = adapters.ParityMark, true
			c.escape = 0x1d
		})},
		{[]string{"-p", "S", "-f", "none", "-e", "A", "p"}, with(func(c *config) {
			c.port = "p"
			c.line.Parity = adapters.ParitySpace
		})},
		{[]string{"-b", "4294967295", "-d", "5", "p"}, with(func(c *config) { c.port = "p"; c.line.Baud, c.line.DataBits = 4294967295, 5 })},
		// "--" ends the flags: a port may start with a dash.
		{[]string{"-b", "9600", "--", "-odd-name"}, with(func(c *config) { c.port = "-odd-name"; c.line.Baud = 9600 })},
		// ... unless it is a flag's value.
		{[]string{"-l", "--", "p"}, with(func(c *config) { c.port = "p"; c.logPath = "--" })},
	}
	for _, tt := range tests {
		got, err := parseArgs(tt.args)
		if err != nil {
			t.Errorf("parseArgs(%q): %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseArgs(%q) =\n%+v, want\n%+v", tt.args, got, tt.want)
		}
	}
}

func TestParseArgsErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no port: give PORT, -serial NUMBER or -demo (fdcom -h for help)"},
		{[]string{"-b", "abc", "p"}, `invalid value "abc" for flag -b: want a whole number of bits per second, from 1 to 4294967295`},
		{[]string{"-b", "0", "p"}, `invalid value "0" for flag -b: want a whole number`},
		{[]string{"-b", "-9600", "p"}, `invalid value "-9600" for flag -b`},
		{[]string{"-b", "4294967296", "p"}, `invalid value "4294967296" for flag -b`},
		{[]string{"-b", "9600.5", "p"}, `invalid value "9600.5" for flag -b`},
		{[]string{"-p", "x", "p"}, `invalid value "x" for flag -p: parity is n, o, e, m or s (none, odd, even, mark, space)`},
		{[]string{"-d", "9", "p"}, `invalid value "9" for flag -d: data bits are 5, 6, 7 or 8`},
		{[]string{"-d", "4", "p"}, `invalid value "4" for flag -d`},
		{[]string{"-s", "1.5", "p"}, `invalid value "1.5" for flag -s: stop bits are 1 or 2`},
		{[]string{"-f", "dtr", "p"}, `invalid value "dtr" for flag -f: flow control is n, h or x`},
		{[]string{"-e", "1", "p"}, `invalid value "1" for flag -e: the escape key is a letter`},
		{[]string{"-e", "ab", "p"}, `invalid value "ab" for flag -e`},
		{[]string{"-e", "", "p"}, `invalid value "" for flag -e`},
		{[]string{"-l", "", "p"}, `invalid value "" for flag -l: empty file name`},
		{[]string{"-serial", "", "p"}, `invalid value "" for flag -serial: empty USB serial number`},
		{[]string{"-z", "p"}, "flag provided but not defined: -z (fdcom -h lists the flags)"},
		{[]string{"--baud", "9600", "p"}, "flag provided but not defined: -baud"},
		{[]string{"-b"}, "flag needs an argument: -b"},
		{[]string{"-demo=maybe"}, `invalid boolean value "maybe" for -demo`},
		{[]string{"a", "b"}, "one PORT only, got 2: a b"},
		{[]string{"a", "-b", "9600", "b"}, "one PORT only, got 2: a b"},
		{[]string{"-demo", "/dev/ttyS0"}, "give only one of PORT, -serial and -demo"},
		{[]string{"-serial", "X", "-demo"}, "give only one of PORT, -serial and -demo"},
		{[]string{"--list", "/dev/ttyS0"}, "--list takes no port"},
		{[]string{"--", ""}, "empty PORT"},
	}
	for _, tt := range tests {
		_, err := parseArgs(tt.args)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("parseArgs(%q): %v, want a usage error", tt.args, err)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, tt.want) || strings.Contains(msg, "\n") {
			t.Errorf("parseArgs(%q): %q, want one line starting %q", tt.args, msg, tt.want)
		}
	}
}

func TestKeyNames(t *testing.T) {
	for b, want := range map[byte]string{
		0x01: "C-a", 0x02: "C-b", 0x18: "C-x", 0x1c: `C-\`, 0x1d: "C-]", 0x00: "C-@",
		'z': `"z"`, 0x7f: "DEL", 0xe9: "0xe9",
	} {
		if got := keyName(b); got != want {
			t.Errorf("keyName(%#x) = %q, want %q", b, got, want)
		}
	}
	for in, want := range map[string]byte{"a": 0x01, "X": 0x18, "C-b": 0x02, "c-b": 0x02, "^b": 0x02, `\`: 0x1c, "_": 0x1f, "@": 0x00} {
		if got, ok := parseEscape(in); !ok || got != want {
			t.Errorf("parseEscape(%q) = %#x, %v; want %#x", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "1", "é", "C-", "C-bb", "^^^", "ctrl-b"} {
		if got, ok := parseEscape(in); ok {
			t.Errorf("parseEscape(%q) = %#x, want a refusal", in, got)
		}
	}
}
