package main

import (
	"fmt"
	"strings"
	"testing"
)

// describeActions renders actions as "data:..." and command names, for
// comparing sequences.
func describeActions(acts []action) string {
	var parts []string
	for _, a := range acts {
		switch a.cmd {
		case cmdData:
			parts = append(parts, fmt.Sprintf("data:%q", a.data))
		case cmdUnknown:
			parts = append(parts, fmt.Sprintf("unknown:%#x", a.key))
		default:
			parts = append(parts, map[command]string{
				cmdQuit: "quit", cmdQuitNoReset: "quit-no-reset", cmdToggleDTR: "dtr", cmdToggleRTS: "rts",
				cmdBreak: "break", cmdShow: "show", cmdBaudUp: "baud-up", cmdBaudDown: "baud-down", cmdHelp: "help",
			}[a.cmd])
		}
	}
	return strings.Join(parts, " ")
}

func TestEscaper(t *testing.T) {
	const ca = "\x01"
	tests := []struct {
		name   string
		esc    byte
		chunks []string // fed one after the other
		want   string
	}{
		{"plain data", 0x01, []string{"AT\r"}, `data:"AT\r"`},
		{"quit", 0x01, []string{ca + "\x18"}, "quit"},
		{"every command", 0x01, []string{ca + "\x18" + ca + "\x11" + ca + "\x14" + ca + "\x07" + ca + "\x1c" + ca + "\x16" + ca + "\x15" + ca + "\x04" + ca + "\x08"},
			"quit quit-no-reset dtr rts break show baud-up baud-down help"},
		{"data around a command", 0x01, []string{"ab" + ca + "\x14" + "cd"}, `data:"ab" dtr data:"cd"`},
		{"escape twice sends it", 0x01, []string{"a" + ca + ca + "b"}, `data:"a" data:"\x01b"`},
		{"escape three times: one sent, one armed", 0x01, []string{ca + ca + ca + "\x18"}, `data:"\x01" quit`},
		{"split across reads", 0x01, []string{"ab" + ca, "\x14cd"}, `data:"ab" dtr data:"cd"`},
		{"escape alone at the end of a read", 0x01, []string{ca, ca, "x"}, `data:"\x01" data:"x"`},
		{"unknown key is not sent", 0x01, []string{ca + "z" + "y"}, `unknown:0x7a data:"y"`},
		{"letters are not commands", 0x01, []string{ca + "x"}, "unknown:0x78"},
		{"another escape key", 0x02, []string{"\x01" + "\x02\x18"}, `data:"\x01" quit`},
		{"another escape key, C-a after it is unknown", 0x02, []string{"\x02\x01"}, "unknown:0x1"},
		{"the escape key wins over a command key", 0x18, []string{"\x18\x18" + "\x18\x11"}, `data:"\x18" quit-no-reset`},
		{"empty read", 0x01, []string{""}, ""},
	}
	for _, tt := range tests {
		e := escaper{esc: tt.esc}
		var acts []action
		for _, c := range tt.chunks {
			acts = e.feed([]byte(c), acts)
		}
		if got := describeActions(acts); got != tt.want {
			t.Errorf("%s: %q gives %s, want %s", tt.name, tt.chunks, got, tt.want)
		}
	}
}

// Every byte that is not part of an escape sequence reaches the port, in
// order, however the input is cut.
func TestEscaperLosesNoData(t *testing.T) {
	in := []byte("hello\x01\x01world\x01\x14!\x01\x01\x01\x04end")
	want := "hello\x01world!\x01end"
	for cut := 1; cut <= len(in); cut++ {
		e := escaper{esc: 0x01}
		var got []byte
		var cmds []command
		for i := 0; i < len(in); i += cut {
			j := min(i+cut, len(in))
			for _, a := range e.feed(in[i:j], nil) {
				if a.cmd == cmdData {
					got = append(got, a.data...)
				} else {
					cmds = append(cmds, a.cmd)
				}
			}
		}
		if string(got) != want || len(cmds) != 2 || cmds[0] != cmdToggleDTR || cmds[1] != cmdBaudDown {
			t.Errorf("chunks of %d: data %q, commands %v; want %q, [dtr baud-down]", cut, got, cmds, want)
		}
	}
}
