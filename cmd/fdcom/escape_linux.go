package main

// command is what a key after the escape key asks for. The keys are
// picocom's, so that its users feel at home.
type command int

const (
	cmdData        command = iota // not a command: bytes for the port
	cmdQuit                       // C-x: restore the port's settings, close it, exit 0
	cmdQuitNoReset                // C-q: close the port as it is (HUPCL off: lines stay), exit 0
	cmdToggleDTR                  // C-t
	cmdToggleRTS                  // C-g
	cmdBreak                      // C-\ (0x1c)
	cmdShow                       // C-v: settings and modem lines
	cmdBaudUp                     // C-u
	cmdBaudDown                   // C-d
	cmdHelp                       // C-h
	cmdUnknown                    // any other key: reported, not sent
)

// commandKeys maps the key pressed after the escape key to its command.
var commandKeys = map[byte]command{
	0x18: cmdQuit,        // C-x
	0x11: cmdQuitNoReset, // C-q
	0x14: cmdToggleDTR,   // C-t
	0x07: cmdToggleRTS,   // C-g
	0x1c: cmdBreak,       // C-\
	0x16: cmdShow,        // C-v
	0x15: cmdBaudUp,      // C-u
	0x04: cmdBaudDown,    // C-d
	0x08: cmdHelp,        // C-h
}

// action is one thing typed: bytes for the port, or a command.
type action struct {
	cmd  command
	data []byte // for cmdData: aliases the slice given to feed
	key  byte   // for cmdUnknown: the key that followed the escape key
}

// escaper splits what the user types into bytes for the port and escape
// commands. The escape key followed by itself sends it once; followed by
// a command key it is that command; followed by anything else it is an
// unknown command, and neither key is sent. A sequence may be split
// across reads. The zero escaper is not usable: set esc.
type escaper struct {
	esc   byte
	armed bool // the escape key was the last byte seen
}

// feed appends the actions in p to acts and returns the result. Data
// actions alias p.
func (e *escaper) feed(p []byte, acts []action) []action {
	start := 0
	for i, b := range p {
		if e.armed {
			e.armed = false
			switch cmd, ok := commandKeys[b]; {
			case b == e.esc:
				// Sent as data: it starts the next run.
				start = i
				continue
			case ok:
				acts = append(acts, action{cmd: cmd})
			default:
				acts = append(acts, action{cmd: cmdUnknown, key: b})
			}
			start = i + 1
			continue
		}
		if b == e.esc {
			if i > start {
				acts = append(acts, action{cmd: cmdData, data: p[start:i]})
			}
			e.armed = true
			start = i + 1
		}
	}
	if !e.armed && start < len(p) {
		acts = append(acts, action{cmd: cmdData, data: p[start:]})
	}
	return acts
}
