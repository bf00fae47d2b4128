package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/fdstream/fdstream"
	"github.com/fdstream/fdstream/adapters"
)

// env is the process's outside world; tests give their own files.
type env struct {
	stdin, stdout, stderr *os.File
}

const (
	exitOK     = 0
	exitFailed = 1 // the session failed: hang-up without --reconnect, I/O error
	exitUsage  = 2 // bad command line, or a port that cannot be opened or set up
)

// breakLength is how long C-\ holds the line in break, picocom's default.
const breakLength = 250 * time.Millisecond

// reconnectEvery is how often --reconnect looks for the port.
const reconnectEvery = 250 * time.Millisecond

// testPanic makes a goroutine panic, to test that the terminal is restored
// then: only the tests set it (see main_linux_test.go).
var testPanic string

func run(args []string, e env) int {
	cfg, err := parseArgs(args)
	if err != nil {
		fmt.Fprintf(e.stderr, "fdcom: %v\n", err)
		return exitUsage
	}
	switch {
	case cfg.help:
		fmt.Fprint(e.stdout, usageText)
		return exitOK
	case cfg.list:
		return listPorts(e)
	}
	return runSession(cfg, e)
}

// quitMode says what happens to the port when fdcom leaves it.
type quitMode int

const (
	quitReset quitMode = iota // restore the settings it had before fdcom (C-x)
	quitKeep                  // leave settings and lines as they are (C-q)
	quitGone                  // it hung up or failed: just close it
)

// session is one run of the console. Its controller (loop, in the
// goroutine that called runSession) owns every field not marked
// otherwise; the goroutines talk to it through events.
type session struct {
	cfg   config
	e     env
	stdio *adapters.Conn // stdin and stdout, on descriptions of our own
	nl    string         // "\r\n" while the terminal is raw
	log   *os.File
	demo  *demoDevice

	// What to open again after a hang-up: path, or (when serial is set)
	// the port of the USB adapter with that serial number and interface.
	path   string
	serial string
	iface  int
	line   adapters.SerialConfig // as asked, and the baud as C-u/C-d left it

	conn    *connection // nil while waiting for a reconnect
	pending []writeItem // typed, waiting for the port's writer
	dropped bool        // said that typing is dropped while disconnected
	lastErr string      // the last reconnect error shown
	ctx     context.Context
	cancel  context.CancelFunc
	events  chan any        // from the goroutines below
	panics  chan panicEvent // never blocks a panicking goroutine
	wg      sync.WaitGroup  // the keyboard reader

	lineStart atomic.Bool // the terminal's cursor is at a line's start
	logFailed atomic.Bool // the log file failed once: stop logging
}

// connection is one open port and its reader and writer goroutines.
type connection struct {
	port   *fdstream.Stream
	real   string             // the device node behind the path: /dev/pts/3
	orig   *adapters.TTYState // the port's settings before fdcom, for C-x
	ctx    context.Context    // ends the reader and the writer
	cancel context.CancelFunc
	writes chan writeItem
	wg     sync.WaitGroup
}

// writeItem is bytes for the port, or a break, in the order typed.
type writeItem struct {
	data []byte
	brk  bool
}

type (
	keysEvent   struct{ acts []action }
	stdinEnded  struct{ err error }
	stdoutEnded struct{ err error }
	portEnded   struct {
		c    *connection
		err  error
		hung bool
	}
	statusEvent struct {
		c   *connection
		msg string
	}
	panicEvent struct {
		where string
		val   any
		stack []byte
	}
)

func runSession(cfg config, e env) (code int) {
	s := &session{cfg: cfg, e: e, nl: "\n", line: cfg.line, events: make(chan any), panics: make(chan panicEvent, 4)}
	s.lineStart.Store(true)
	fail := func(err error) int {
		fmt.Fprintf(e.stderr, "fdcom: %v\n", err)
		return exitUsage
	}
	if cfg.logPath != "" {
		f, err := os.OpenFile(cfg.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fail(fmt.Errorf("log file: %w", err))
		}
		s.log = f
		defer f.Close()
	}
	if cfg.demo {
		d, err := startDemo()
		if err != nil {
			return fail(err)
		}
		defer d.stop()
		s.demo = d
	}

	// Find the port and open it.
	var usb *adapters.SerialPort // the port's USB identity, if known
	switch {
	case cfg.demo:
		s.path = s.demo.link
	case cfg.serial != "":
		ports, err := adapters.FindSerialPorts(cfg.serial)
		if err != nil {
			return fail(err)
		}
		p := pickPort(ports, -1)
		s.path, s.serial, s.iface = p.Path, cfg.serial, p.USB.Interface
		usb = &p
	default:
		s.path = cfg.port
		if p, ok := findUSBPort(s.path); ok {
			usb = &p
			if cfg.reconnect {
				s.serial, s.iface = p.USB.SerialNumber, p.USB.Interface
			}
		}
	}
	c, got, err := s.open(s.path)
	if err != nil {
		return fail(err)
	}
	where := s.label(c)
	switch {
	case cfg.demo:
		where = fmt.Sprintf("%s (%s, the demo device)", s.path, c.real)
	case usb != nil:
		where = describePort(*usb)
	}
	stdio, err := openStdio(e)
	if err != nil {
		s.closePort(c, quitReset)
		return fail(err)
	}
	s.stdio = stdio
	defer stdio.Close()

	// From here on the terminal is raw; whatever ends the session, the
	// deferred calls restore it (a panic in this goroutine included; one in
	// another goroutine arrives as a panicEvent).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	restore, raw, err := makeRaw(e.stdin)
	if err != nil {
		s.closePort(c, quitReset)
		return fail(fmt.Errorf("terminal: %w", err))
	}
	defer restore()
	if raw {
		s.nl = "\r\n"
	}

	s.ctx, s.cancel = context.WithCancel(context.Background())
	defer s.cancel()
	start := fmt.Sprintf("%s %s", where, got)
	if asked := s.line.String(); asked != got.String() {
		start += fmt.Sprintf(" (asked for %s: the driver keeps %s)", asked, got)
	}
	if cfg.reconnect && s.serial != "" {
		start += "; reconnects by USB serial number " + s.serial
	} else if cfg.reconnect {
		start += "; reconnects by path"
	}
	start += fmt.Sprintf("; %s C-h help, %[1]s C-x quit", keyName(cfg.escape))
	if !cfg.quiet {
		fmt.Fprintf(e.stderr, "fdcom: %s%s", start, s.nl)
	}
	s.start(c)
	s.wg.Add(1)
	go s.keys()

	code, mode, final := s.loop(sigs)
	s.cancel()
	var notes []string
	if s.conn != nil {
		if err := s.closePort(s.conn, mode); err != nil {
			notes = append(notes, err.Error())
		}
	}
	s.wg.Wait()
	stdio.Close()
	if s.demo != nil {
		s.demo.stop()
	}
	restore()
	for _, n := range notes {
		fmt.Fprintf(e.stderr, "fdcom: %s\n", n)
	}
	if final != "" {
		fmt.Fprintf(e.stderr, "fdcom: %s\n", final)
	}
	return code
}

// loop is the controller: it runs until the session ends, and returns the
// exit status, what to do with the port and a last message for stderr.
func (s *session) loop(sigs <-chan os.Signal) (int, quitMode, string) {
	var tick *time.Ticker
	var tickC <-chan time.Time
	defer func() {
		if tick != nil {
			tick.Stop()
		}
	}()
	for {
		var writes chan<- writeItem
		var next writeItem
		if s.conn != nil && len(s.pending) > 0 {
			writes, next = s.conn.writes, s.pending[0]
		}
		select {
		case writes <- next:
			s.pending[0] = writeItem{}
			s.pending = s.pending[1:]

		case sig := <-sigs:
			return 128 + int(sig.(syscall.Signal)), quitReset, fmt.Sprintf("%v: terminal restored, port closed", sig)

		case p := <-s.panics:
			return exitFailed, quitGone, fmt.Sprintf("internal error in the %s: panic: %v\n%s", p.where, p.val, p.stack)

		case <-tickC:
			if s.tryReconnect() {
				tick.Stop()
				tick, tickC = nil, nil
			}

		case ev := <-s.events:
			switch ev := ev.(type) {
			case keysEvent:
				for _, a := range ev.acts {
					if done, mode := s.do(a); done {
						return exitOK, mode, ""
					}
				}
			case stdinEnded:
				if ev.err == io.EOF {
					return exitOK, quitReset, "end of input: port closed"
				}
				return exitFailed, quitReset, fmt.Sprintf("keyboard: %v", ev.err)
			case stdoutEnded:
				return exitFailed, quitReset, fmt.Sprintf("terminal: %v", ev.err)
			case statusEvent:
				if ev.c == s.conn {
					s.say(ev.msg)
				}
			case portEnded:
				if ev.c != s.conn {
					break // an event from a connection already torn down
				}
				s.closePort(s.conn, quitGone)
				s.conn = nil
				s.pending = nil
				what := fmt.Sprintf("%s: %v", s.path, ev.err)
				if ev.hung || ev.err == io.EOF {
					what = s.path + " hung up (the device is gone: unplugged?)"
				}
				if !s.cfg.reconnect {
					return exitFailed, quitGone, what + "; with --reconnect fdcom waits for it to come back"
				}
				s.say(what)
				s.say(fmt.Sprintf("waiting for %s to come back; %s C-x quits", s.reconnectTarget(), keyName(s.cfg.escape)))
				s.dropped, s.lastErr = false, ""
				tick = time.NewTicker(reconnectEvery)
				tickC = tick.C
			}
		}
	}
}

// do carries out one typed action. It reports whether the session is to
// end, and how.
func (s *session) do(a action) (bool, quitMode) {
	switch a.cmd {
	case cmdQuit:
		return true, quitReset
	case cmdQuitNoReset:
		return true, quitKeep
	case cmdHelp:
		s.say(helpText(s.cfg.escape))
		return false, 0
	case cmdUnknown:
		s.say(fmt.Sprintf("%s %s is no command; %[1]s C-h for help", keyName(s.cfg.escape), keyName(a.key)))
		return false, 0
	}
	if s.conn == nil {
		if a.cmd != cmdData || !s.dropped {
			s.say("not connected: what you type is dropped until the port is back")
			s.dropped = true
		}
		return false, 0
	}
	switch a.cmd {
	case cmdData:
		s.pending = append(s.pending, writeItem{data: a.data})
	case cmdBreak:
		s.pending = append(s.pending, writeItem{brk: true})
	case cmdToggleDTR:
		s.toggle(adapters.ModemDTR)
	case cmdToggleRTS:
		s.toggle(adapters.ModemRTS)
	case cmdBaudUp:
		s.stepBaud(baudUp)
	case cmdBaudDown:
		s.stepBaud(baudDown)
	case cmdShow:
		s.show()
	}
	return false, 0
}

// toggle flips one of the output lines. On the demo's pty, which has no
// modem lines, the ioctl fails with ENOTTY; fdcom then flips the demo
// device's simulated line, and says so.
func (s *session) toggle(line adapters.ModemLines) {
	port := s.conn.port
	cur, err := adapters.GetModem(port)
	if err != nil && s.demo != nil && errors.Is(err, unix.ENOTTY) {
		on, off := flip(s.demo.modemLines(), line)
		now := s.demo.setLines(on, off)
		s.info(fmt.Sprintf("%v %s (simulated by the demo device: a pty has no modem lines)", line, onOff(now&line != 0)))
		return
	}
	if err != nil {
		s.say(fmt.Sprintf("%v not changed: %v", line, err))
		return
	}
	on, off := flip(cur, line)
	if err := adapters.SetModem(port, on, off); err != nil {
		s.say(fmt.Sprintf("%v not changed: %v", line, err))
		return
	}
	s.info(fmt.Sprintf("%v %s", line, onOff(on != 0)))
}

func flip(cur, line adapters.ModemLines) (on, off adapters.ModemLines) {
	if cur&line != 0 {
		return 0, line
	}
	return line, 0
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// stepBaud moves the port's speed one standard step, and reports the
// speed the driver then reports.
func (s *session) stepBaud(step func(int) int) {
	port := s.conn.port
	cur, err := adapters.Baud(port)
	if err != nil {
		s.say(fmt.Sprintf("baud not changed: %v", err))
		return
	}
	want := step(cur)
	if want == cur {
		s.info(fmt.Sprintf("baud %d: no further step that way", cur))
		return
	}
	if err := adapters.SetBaud(port, want); err != nil {
		s.say(fmt.Sprintf("baud %d refused: %v", want, err))
		return
	}
	got, err := adapters.Baud(port)
	switch {
	case err != nil:
		s.say(fmt.Sprintf("baud %d set, but reading it back failed: %v", want, err))
	case got != want:
		s.info(fmt.Sprintf("baud %d asked, the driver gave %d", want, got))
	default:
		s.info(fmt.Sprintf("baud %d", got))
	}
	if err == nil {
		s.line.Baud = got
	}
	if s.demo != nil {
		s.demo.settingsChanged()
	}
}

// show says how the port is set up (C-v).
func (s *session) show() {
	port := s.conn.port
	var b strings.Builder
	settings, err := adapters.GetSerial(port)
	if err != nil {
		fmt.Fprintf(&b, "%s: %v\n", s.path, err)
	} else {
		fmt.Fprintf(&b, "%s: %s\n", s.label(s.conn), settings)
	}
	lines, err := adapters.GetModem(port)
	switch {
	case err != nil && s.demo != nil && errors.Is(err, unix.ENOTTY):
		fmt.Fprintf(&b, "modem lines: %s (simulated by the demo device: a pty has none)\n", describeLines(s.demo.modemLines()))
	case err != nil:
		fmt.Fprintf(&b, "modem lines: %v\n", err)
	default:
		fmt.Fprintf(&b, "modem lines: %v\n", lines)
	}
	logTo := "off"
	if s.log != nil {
		logTo = s.cfg.logPath
	}
	fmt.Fprintf(&b, "escape %s, hex %s, log %s, reconnect %s", keyName(s.cfg.escape), onOff(s.cfg.hex), logTo, onOff(s.cfg.reconnect))
	s.say(b.String())
}

func helpText(esc byte) string {
	k := keyName(esc)
	return fmt.Sprintf(`commands: %[1]s, then
  C-x quit          C-q quit, leaving the port as it is
  C-t toggle DTR    C-g toggle RTS    C-\ send a break
  C-u baud up       C-d baud down     C-v show the settings
  %-17s C-h this help`, k, k+" send "+k)
}

// say writes msg on the status line (stderr), a line of its own even if
// the port's output stopped mid-line, each of its lines after "*** ".
func (s *session) say(msg string) {
	var b []byte
	if !s.lineStart.Load() {
		b = append(b, s.nl...)
	}
	for _, l := range strings.Split(msg, "\n") {
		b = append(b, "*** "...)
		b = append(b, l...)
		b = append(b, s.nl...)
	}
	s.e.stderr.Write(b)
	s.lineStart.Store(true)
}

// info is say for confirmations, which -q silences.
func (s *session) info(msg string) {
	if !s.cfg.quiet {
		s.say(msg)
	}
}

// open opens path as the port and sets it up; it returns the connection,
// not yet started, and the settings in effect. Errors name the port and
// what failed.
func (s *session) open(path string) (*connection, adapters.SerialConfig, error) {
	port, err := fdstream.Open(path, os.O_RDWR)
	if err != nil {
		return nil, adapters.SerialConfig{}, err
	}
	orig, err := adapters.GetState(port)
	if err != nil {
		port.Close()
		if errors.Is(err, unix.ENOTTY) {
			return nil, adapters.SerialConfig{}, fmt.Errorf("%s is not a terminal (%w)", path, err)
		}
		return nil, adapters.SerialConfig{}, err
	}
	if hung, err := adapters.HungUp(port); err == nil && hung {
		port.Close()
		return nil, adapters.SerialConfig{}, fmt.Errorf("%s is hung up", path)
	}
	if err := adapters.SetSerial(port, s.line); err != nil {
		port.Close()
		return nil, adapters.SerialConfig{}, fmt.Errorf("%s: set %s: %w", path, s.line, err)
	}
	got, err := adapters.GetSerial(port)
	if err != nil {
		adapters.Restore(port, orig)
		port.Close()
		return nil, adapters.SerialConfig{}, err
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		real = path // the link changed meanwhile: only for messages
	}
	c := &connection{port: port, real: real, orig: orig, writes: make(chan writeItem)}
	return c, got, nil
}

// start runs c's reader and writer and makes it the session's port.
func (s *session) start(c *connection) {
	c.ctx, c.cancel = context.WithCancel(context.Background())
	s.conn = c
	c.wg.Add(2)
	go s.reader(c)
	go s.writer(c)
}

// closePort stops c's goroutines, then leaves the port as mode says and
// closes it. The error is about the leaving, and names the port.
func (s *session) closePort(c *connection, mode quitMode) error {
	if c.cancel != nil {
		c.cancel()
		c.wg.Wait()
	}
	var err error
	switch mode {
	case quitReset:
		err = adapters.Restore(c.port, c.orig)
	case quitKeep:
		err = keepLinesOnClose(c.port)
	}
	c.port.Close()
	return err
}

// keepLinesOnClose clears HUPCL, which would otherwise drop DTR and RTS
// when the port's last descriptor closes (picocom's C-q does the same).
// The rest of the termios is written back as it was: TCSETS keeps a
// custom speed (BOTHER), whose number the kernel holds apart.
func keepLinesOnClose(port *fdstream.Stream) error {
	rc, err := port.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	err = rc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			ierr = err
			return
		}
		if t.Cflag&unix.HUPCL != 0 {
			t.Cflag &^= unix.HUPCL
			ierr = unix.IoctlSetTermios(int(fd), unix.TCSETS, t)
		}
	})
	if err == nil {
		err = ierr
	}
	if err != nil {
		return &os.PathError{Op: "clear HUPCL", Path: port.Name(), Err: err}
	}
	return nil
}

// tryReconnect looks for the port once; it reports whether it is back.
func (s *session) tryReconnect() bool {
	path := s.path
	if s.serial != "" {
		ports, err := adapters.FindSerialPorts(s.serial)
		if err != nil {
			return false
		}
		path = pickPort(ports, s.iface).Path
	}
	c, got, err := s.open(path)
	if err != nil {
		if msg := err.Error(); !errors.Is(err, fs.ErrNotExist) && msg != s.lastErr {
			s.say("not back yet: " + msg)
			s.lastErr = msg
		}
		return false
	}
	s.path = path
	s.start(c)
	s.say(fmt.Sprintf("reconnected: %s %s", s.label(c), got))
	if s.demo != nil {
		s.demo.settingsChanged()
	}
	return true
}

// label names c's port: its path, and the node behind it if that differs.
func (s *session) label(c *connection) string {
	if c.real == s.path {
		return s.path
	}
	return s.path + " (" + c.real + ")"
}

func (s *session) reconnectTarget() string {
	if s.serial != "" {
		return fmt.Sprintf("the USB adapter with serial number %s", s.serial)
	}
	return s.path
}

// send hands ev to the controller, unless done ends first.
func (s *session) send(done <-chan struct{}, ev any) bool {
	select {
	case s.events <- ev:
		return true
	case <-done:
		return false
	}
}

// recoverTo turns a panic in one of the session's goroutines into an
// event, so that the controller restores the terminal before exiting.
func (s *session) recoverTo(where string) {
	if v := recover(); v != nil {
		select {
		case s.panics <- panicEvent{where: where, val: v, stack: debug.Stack()}:
		default:
		}
	}
}

// keys reads the keyboard: bytes for the port and escape commands.
func (s *session) keys() {
	defer s.wg.Done()
	defer s.recoverTo("keyboard reader")
	esc := escaper{esc: s.cfg.escape}
	buf := make([]byte, 1024)
	for {
		n, err := s.stdio.ReadContext(s.ctx, buf)
		if n > 0 {
			if testPanic == "keys" {
				panic("fdcom test: the keyboard reader panics (FDCOM_TEST_PANIC)")
			}
			acts := esc.feed(buf[:n], nil)
			for i := range acts {
				acts[i].data = bytes.Clone(acts[i].data)
			}
			if !s.send(s.ctx.Done(), keysEvent{acts}) {
				return
			}
		}
		if err != nil {
			if s.ctx.Err() == nil {
				s.send(s.ctx.Done(), stdinEnded{err})
			}
			return
		}
	}
}

// reader copies what the port sends to the terminal, and to the log.
func (s *session) reader(c *connection) {
	defer c.wg.Done()
	defer s.recoverTo("port reader")
	buf := make([]byte, 4096)
	var hex hexDumper
	var dump []byte
	for {
		n, err := c.port.ReadContext(c.ctx, buf)
		if n > 0 {
			if testPanic == "reader" {
				panic("fdcom test: the port reader panics (FDCOM_TEST_PANIC)")
			}
			p := buf[:n]
			if s.log != nil && !s.logFailed.Load() {
				if _, err := s.log.Write(p); err != nil {
					s.logFailed.Store(true)
					s.send(c.ctx.Done(), statusEvent{c, fmt.Sprintf("log file: %v; logging stopped", err)})
				}
			}
			out, atStart := p, p[len(p)-1] == '\n'
			if s.cfg.hex {
				dump = hex.dump(p, dump[:0])
				out, atStart = dump, hex.atLineStart()
			}
			if len(out) > 0 {
				if _, err := s.stdio.WriteContext(c.ctx, out); err != nil {
					if c.ctx.Err() == nil {
						s.send(c.ctx.Done(), stdoutEnded{err})
					}
					return
				}
			}
			s.lineStart.Store(atStart)
		}
		if err != nil {
			if c.ctx.Err() != nil {
				return
			}
			hung := false
			if err == io.EOF {
				hung, _ = adapters.HungUp(c.port)
			}
			s.send(c.ctx.Done(), portEnded{c: c, err: err, hung: hung})
			return
		}
	}
}

// writer sends what was typed to the port, and breaks, in order.
func (s *session) writer(c *connection) {
	defer c.wg.Done()
	defer s.recoverTo("port writer")
	for {
		var it writeItem
		select {
		case <-c.ctx.Done():
			return
		case it = <-c.writes:
		}
		if it.brk {
			err := adapters.SendBreak(c.ctx, c.port, breakLength)
			msg := fmt.Sprintf("break sent (%v)", breakLength)
			if s.demo != nil {
				msg += "; a pty carries no break, so the demo device sees none"
			}
			if err != nil {
				msg = fmt.Sprintf("break: %v", err)
			}
			if c.ctx.Err() != nil {
				return
			}
			if err == nil && s.cfg.quiet {
				continue
			}
			s.send(c.ctx.Done(), statusEvent{c, msg})
			continue
		}
		if _, err := c.port.WriteContext(c.ctx, it.data); err != nil {
			if c.ctx.Err() == nil {
				s.send(c.ctx.Done(), portEnded{c: c, err: err, hung: adapters.IsHangUp(err)})
			}
			return
		}
	}
}

// openStdio is the Stdio adapter for the process's own stdin and stdout,
// and the same over a test's files: private descriptions, so that the
// shell's stay as they were.
func openStdio(e env) (*adapters.Conn, error) {
	if e.stdin == os.Stdin && e.stdout == os.Stdout {
		return adapters.Stdio()
	}
	r, err := fdstream.FromFile(e.stdin)
	if err != nil {
		return nil, err
	}
	w, err := fdstream.FromFile(e.stdout)
	if err != nil {
		r.Close()
		return nil, err
	}
	return adapters.NewConnPair(r, w), nil
}

// makeRaw puts f's terminal in raw mode, if it is one, and returns how to
// restore it; calling restore more than once is harmless.
func makeRaw(f *os.File) (restore func(), raw bool, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, false, err
	}
	var st *term.State
	var rerr error
	if err := rc.Control(func(fd uintptr) {
		if term.IsTerminal(int(fd)) {
			st, rerr = term.MakeRaw(int(fd))
		}
	}); err != nil {
		return nil, false, err
	}
	if rerr != nil {
		return nil, false, rerr
	}
	if st == nil {
		return func() {}, false, nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			rc.Control(func(fd uintptr) { term.Restore(int(fd), st) })
		})
	}, true, nil
}
