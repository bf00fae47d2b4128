package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
)

// The demo device is what fdcom -demo talks to: a small modem-like device
// on the master side of a pty, in fdcom's own process, while fdcom opens
// the slave side as its port, by a symbolic link in a temporary directory
// (ttyDEMO), exactly as it opens a serial port by path.
//
// What crosses the pty is real: the bytes both ways, the line settings
// (the device reads the baud rate fdcom set from its own Stream: on Linux
// a pty master's TCGETS reports its slave's termios), and the hang-up
// (AT+UNPLUG closes the master, which hangs the slave up as pulling a USB
// adapter hangs its tty up; the replug is a new pty behind the same link).
//
// What cannot cross it is simulated, and said to be: a Linux pty has no
// modem lines (TIOCMGET and TIOCMBIS fail with ENOTTY) and carries no
// break. When fdcom's modem-line ioctls on the demo port fail with ENOTTY
// it sets the device's simulated DTR and RTS instead (setLines), says so
// on its status line, and the device announces what it now sees on them.

// demoMaxLine is the longest line the device takes; a longer one is
// answered with an error and dropped.
const demoMaxLine = 256

// demoDefaultReplug is how long an AT+UNPLUG keeps the device away.
const demoDefaultReplug = 2 * time.Second

type demoDevice struct {
	dir, link string

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	notes  chan demoNote

	mu     sync.Mutex
	master *fdstream.Stream // nil while unplugged
	slave  *fdstream.Stream // held open so that the master never reads EIO before fdcom opens it
	lines  adapters.ModemLines
	plugs  int
	err    error // why it stopped replugging
}

type demoNote int

const (
	noteLines    demoNote = iota // the simulated DTR or RTS changed
	noteSettings                 // fdcom changed the line settings
)

// startDemo makes the device's directory and its first pty, and starts
// it. The link exists when it returns. Stop it with stop.
func startDemo() (*demoDevice, error) {
	dir, err := os.MkdirTemp("", "fdcom-demo-")
	if err != nil {
		return nil, fmt.Errorf("demo device: %w", err)
	}
	d := &demoDevice{dir: dir, link: filepath.Join(dir, "ttyDEMO"), notes: make(chan demoNote, 16)}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	m, s, err := d.plug()
	if err != nil {
		d.cancel()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("demo device: %w", err)
	}
	d.wg.Add(2)
	go d.run(m, s)
	go d.announce()
	return d, nil
}

// stop ends the device: it is unplugged, its goroutines have returned and
// its directory is gone when stop returns.
func (d *demoDevice) stop() {
	d.cancel()
	d.wg.Wait()
	d.unplug()
	os.RemoveAll(d.dir)
}

// plug makes a new pty, raw on the slave side so that nothing is echoed
// before fdcom sets it up, and points the link at its slave.
func (d *demoDevice) plug() (m, s *fdstream.Stream, err error) {
	m, s, err = adapters.OpenPTY()
	if err != nil {
		return nil, nil, err
	}
	if _, err := adapters.MakeRaw(s); err != nil {
		m.Close()
		s.Close()
		return nil, nil, err
	}
	tmp := d.link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(s.Name(), tmp); err != nil {
		m.Close()
		s.Close()
		return nil, nil, err
	}
	if err := os.Rename(tmp, d.link); err != nil {
		os.Remove(tmp)
		m.Close()
		s.Close()
		return nil, nil, err
	}
	d.mu.Lock()
	d.master, d.slave = m, s
	d.lines = adapters.ModemDTR | adapters.ModemRTS // as a port's open raises them
	d.plugs++
	d.mu.Unlock()
	return m, s, nil
}

// unplug removes the link first, so that fdcom never reopens a stale
// name, then closes the master, which hangs the slave up.
func (d *demoDevice) unplug() {
	d.mu.Lock()
	m, s := d.master, d.slave
	d.master, d.slave = nil, nil
	d.mu.Unlock()
	if m == nil {
		return
	}
	os.Remove(d.link)
	m.Close()
	s.Close()
}

func (d *demoDevice) run(m, s *fdstream.Stream) {
	defer d.wg.Done()
	for {
		replug, unplugged := d.serve(m, s)
		d.unplug()
		if !unplugged {
			return // d.ctx is done
		}
		t := time.NewTimer(replug)
		select {
		case <-d.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		var err error
		if m, s, err = d.plug(); err != nil {
			d.mu.Lock()
			d.err = err
			d.mu.Unlock()
			return
		}
	}
}

// serve is one plug's life: it greets, then answers lines until AT+UNPLUG
// (unplugged is true, replug says when to come back) or until d.ctx is
// done or the pty fails.
func (d *demoDevice) serve(m, s *fdstream.Stream) (replug time.Duration, unplugged bool) {
	greeting := "[demo device] plugged in: type AT, ATI, AT+LINES? or AT+UNPLUG, then Enter\r\n"
	if _, err := m.WriteContext(d.ctx, []byte(greeting)); err != nil {
		return 0, false
	}
	var lr lineReader
	buf := make([]byte, 512)
	var out []byte
	for {
		n, err := m.ReadContext(d.ctx, buf)
		if err != nil {
			return 0, false
		}
		var reply demoReply
		out = lr.feed(buf[:n], out[:0], func(line string) ([]byte, bool) {
			reply = demoAnswer(line, func() string { return d.describe(m) })
			return []byte(reply.text), reply.unplug
		})
		if _, err := m.WriteContext(d.ctx, out); err != nil {
			return 0, false
		}
		if reply.unplug {
			d.letConsoleRead(s)
			return reply.replug, true
		}
	}
}

// letConsoleRead waits, up to two seconds, until fdcom has read what the
// device said: a tty that hangs up throws away the input its reader has
// not taken yet, and the device wants its OK seen, as a device that
// resets after answering waits for its UART to drain. InQueue on the
// slave counts the bytes fdcom has not read; bytes the kernel is still
// moving from the master to that queue are not counted, hence the 100ms
// floor. If the console is slower than that, the rest is lost, as it
// would be with a real unplug.
func (d *demoDevice) letConsoleRead(s *fdstream.Stream) {
	floor := time.NewTimer(100 * time.Millisecond)
	defer floor.Stop()
	select {
	case <-d.ctx.Done():
		return
	case <-floor.C:
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	limit := time.NewTimer(2 * time.Second)
	defer limit.Stop()
	for {
		if n, err := adapters.InQueue(s); err != nil || n == 0 {
			return
		}
		select {
		case <-d.ctx.Done():
			return
		case <-limit.C:
			return
		case <-tick.C:
		}
	}
}

// describe is the device's view of its line: the simulated modem lines,
// and the settings read from its own Stream.
func (d *demoDevice) describe(m *fdstream.Stream) string {
	d.mu.Lock()
	lines := d.lines
	d.mu.Unlock()
	settings := "cannot read its settings"
	if c, err := adapters.GetSerial(m); err == nil {
		settings = c.String()
	}
	return describeLines(lines) + "; " + settings
}

// describeLines says "DTR on, RTS off".
func describeLines(l adapters.ModemLines) string {
	onOff := func(b bool) string {
		if b {
			return "on"
		}
		return "off"
	}
	return "DTR " + onOff(l&adapters.ModemDTR != 0) + ", RTS " + onOff(l&adapters.ModemRTS != 0)
}

// modemLines returns the simulated DTR and RTS.
func (d *demoDevice) modemLines() adapters.ModemLines {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.lines
}

// setLines changes the simulated lines, as fdcom's SetModem would have
// changed real ones, and has the device announce what it now sees. It
// does not block.
func (d *demoDevice) setLines(on, off adapters.ModemLines) adapters.ModemLines {
	d.mu.Lock()
	d.lines = d.lines&^off | on
	l := d.lines
	d.mu.Unlock()
	d.note(noteLines)
	return l
}

// settingsChanged tells the device that fdcom changed the line settings:
// it reads them from its own Stream and announces them. It does not block.
func (d *demoDevice) settingsChanged() { d.note(noteSettings) }

func (d *demoDevice) note(n demoNote) {
	select {
	case d.notes <- n:
	default: // a demo device may miss a note when flooded with them
	}
}

// announce writes the device's notes, apart from serve so that a hook
// never waits for the pty.
func (d *demoDevice) announce() {
	defer d.wg.Done()
	for {
		var n demoNote
		select {
		case <-d.ctx.Done():
			return
		case n = <-d.notes:
		}
		d.mu.Lock()
		m, lines := d.master, d.lines
		d.mu.Unlock()
		if m == nil {
			continue // unplugged
		}
		var text string
		switch n {
		case noteLines:
			text = "[demo device] " + describeLines(lines) + "\r\n"
		case noteSettings:
			c, err := adapters.GetSerial(m)
			if err != nil {
				text = "[demo device] cannot read its line settings: " + err.Error() + "\r\n"
			} else {
				text = "[demo device] line now " + c.String() + ", read from its pty\r\n"
			}
		}
		m.WriteContext(d.ctx, []byte(text)) // fails only once unplugged or stopped
	}
}

// portName is the pty the link points at now, "" while unplugged.
func (d *demoDevice) portName() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.slave == nil {
		return ""
	}
	return d.slave.Name()
}

// demoReply is the device's answer to one line.
type demoReply struct {
	text   string        // CR LF after each line of it
	unplug bool          // AT+UNPLUG: hang up once text is out
	replug time.Duration // and come back after this
}

// demoAnswer is the device's answer to line: OK to an AT command, the
// line echoed otherwise. status describes the device's line for AT+LINES?.
func demoAnswer(line string, status func() string) demoReply {
	cmd := strings.ToUpper(strings.TrimSpace(line))
	switch {
	case cmd == "":
		return demoReply{}
	case !strings.HasPrefix(cmd, "AT"):
		return demoReply{text: "echo: " + line + "\r\n"}
	case cmd == "ATI":
		return demoReply{text: "fdcom demo device, a pty served by fdstream\r\nOK\r\n"}
	case cmd == "AT+LINES?":
		return demoReply{text: "+LINES: " + status() + "\r\nOK\r\n"}
	case cmd == "AT+UNPLUG" || strings.HasPrefix(cmd, "AT+UNPLUG="):
		replug := demoDefaultReplug
		if arg, ok := strings.CutPrefix(cmd, "AT+UNPLUG="); ok {
			n, err := strconv.Atoi(arg)
			if err != nil || n < 0 || n > 3600 {
				return demoReply{text: "ERROR: AT+UNPLUG=N wants N seconds, 0 to 3600\r\n"}
			}
			replug = time.Duration(n) * time.Second
		}
		return demoReply{
			text:   fmt.Sprintf("OK\r\n[demo device] unplugging now, back in %v\r\n", replug),
			unplug: true,
			replug: replug,
		}
	}
	return demoReply{text: "OK\r\n"}
}

// lineReader is the device's input side: it echoes what it receives, as
// a modem does (ATE1), takes CR, LF or CR LF as the end of a line (a raw
// terminal sends CR for Enter), and erases with DEL or BS; other control
// bytes are echoed as ^X and not kept.
type lineReader struct {
	line    []byte
	afterCR bool // an LF now belongs to the CR before it
	tooLong bool
}

// feed appends to out the echo of p and, at each line's end, what answer
// returns for the line. It stops after a line whose answer says stop, and
// drops the rest of p. It returns out.
func (r *lineReader) feed(p, out []byte, answer func(line string) (text []byte, stop bool)) []byte {
	for _, b := range p {
		afterCR := r.afterCR
		r.afterCR = false
		switch {
		case b == '\n' && afterCR:
		case b == '\r' || b == '\n':
			r.afterCR = b == '\r'
			out = append(out, '\r', '\n')
			line, tooLong := string(r.line), r.tooLong
			r.line, r.tooLong = r.line[:0], false
			if tooLong {
				out = append(out, fmt.Sprintf("ERROR: line longer than %d bytes\r\n", demoMaxLine)...)
				continue
			}
			text, stop := answer(line)
			out = append(out, text...)
			if stop {
				return out
			}
		case b == 0x7f || b == 0x08:
			if len(r.line) > 0 && !r.tooLong {
				r.line = r.line[:len(r.line)-1]
				out = append(out, '\b', ' ', '\b')
			}
		case b < 0x20 && b != '\t':
			// Other control bytes are echoed in caret notation, so that
			// C-a C-a shows as ^A, and not kept.
			out = append(out, '^', b|0x40)
		case len(r.line) == demoMaxLine:
			r.tooLong = true
		default:
			r.line = append(r.line, b)
			out = append(out, b)
		}
	}
	return out
}
