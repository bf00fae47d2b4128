package adapters

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// serialInQueueReq counts the bytes waiting to be read.
const serialInQueueReq = unix.TIOCINQ

// serialHangUpErrnos: after a hang-up Linux gives the terminal's open files
// hung_up_tty_fops, whose write and ioctl return EIO.
var serialHangUpErrnos = []error{unix.EIO}

// serialRS485 is struct serial_rs485 (include/uapi/linux/serial.h): 32
// bytes, the same on every architecture. The padding also holds the
// addresses of the 9-bit address mode (Linux 6.0), which are kept.
type serialRS485 struct {
	Flags              uint32
	DelayRTSBeforeSend uint32 // ms
	DelayRTSAfterSend  uint32 // ms
	Padding            [5]uint32
}

// The serial_rs485 flags RS485Config names.
const (
	serialRS485Enabled      = 1 << 0
	serialRS485RTSOnSend    = 1 << 1
	serialRS485RTSAfterSend = 1 << 2
	serialRS485RXDuringTX   = 1 << 4
	serialRS485TerminateBus = 1 << 5
)

var serialRS485Flags = [...]struct {
	flag uint32
	get  func(*RS485Config) *bool
}{
	{serialRS485Enabled, func(c *RS485Config) *bool { return &c.Enabled }},
	{serialRS485RTSOnSend, func(c *RS485Config) *bool { return &c.RTSOnSend }},
	{serialRS485RTSAfterSend, func(c *RS485Config) *bool { return &c.RTSAfterSend }},
	{serialRS485RXDuringTX, func(c *RS485Config) *bool { return &c.RXDuringTX }},
	{serialRS485TerminateBus, func(c *RS485Config) *bool { return &c.TerminateBus }},
}

func serialGetRS485Raw(fd int) (serialRS485, error) {
	var r serialRS485
	err := ttyIoctl(fd, unix.TIOCGRS485, unsafe.Pointer(&r), unsafe.Sizeof(r))
	return r, err
}

func serialGetRS485(fd int) (RS485Config, error) {
	r, err := serialGetRS485Raw(fd)
	if err != nil {
		return RS485Config{}, err
	}
	var c RS485Config
	for _, f := range serialRS485Flags {
		*f.get(&c) = r.Flags&f.flag != 0
	}
	c.DelayRTSBeforeSend = time.Duration(r.DelayRTSBeforeSend) * time.Millisecond
	c.DelayRTSAfterSend = time.Duration(r.DelayRTSAfterSend) * time.Millisecond
	return c, nil
}

// serialSetRS485 applies c, whose delays are checked, over the driver's
// current configuration.
func serialSetRS485(fd int, c RS485Config) error {
	r, err := serialGetRS485Raw(fd)
	if err != nil {
		return err
	}
	for _, f := range serialRS485Flags {
		r.Flags &^= f.flag
		if *f.get(&c) {
			r.Flags |= f.flag
		}
	}
	r.DelayRTSBeforeSend = uint32(c.DelayRTSBeforeSend / time.Millisecond)
	r.DelayRTSAfterSend = uint32(c.DelayRTSAfterSend / time.Millisecond)
	return ttyIoctl(fd, unix.TIOCSRS485, unsafe.Pointer(&r), unsafe.Sizeof(r))
}

// serialStruct is struct serial_struct (include/uapi/linux/serial.h). Go
// lays these field types out as C does: 72 bytes on 64-bit platforms, 60
// on 32-bit ones.
type serialStruct struct {
	Type          int32
	Line          int32
	Port          uint32
	IRQ           int32
	Flags         int32
	XmitFifoSize  int32
	CustomDivisor int32
	BaudBase      int32
	CloseDelay    uint16
	IOType        byte
	ReservedChar  [1]byte
	Hub6          int32
	ClosingWait   uint16
	ClosingWait2  uint16
	IOMemBase     uintptr // unsigned char *
	IOMemRegShift uint16
	PortHigh      uint32
	IOMapBase     uintptr // unsigned long
}

// serialLowLatencyFlag is ASYNC_LOW_LATENCY (1 << ASYNCB_LOW_LATENCY),
// which an unprivileged process may change (it is in ASYNC_USR_MASK).
const serialLowLatencyFlag = 1 << 13

func serialGetStruct(fd int) (serialStruct, error) {
	var ss serialStruct
	err := ttyIoctl(fd, unix.TIOCGSERIAL, unsafe.Pointer(&ss), unsafe.Sizeof(ss))
	return ss, err
}

func serialLowLatency(fd int) (bool, error) {
	ss, err := serialGetStruct(fd)
	return ss.Flags&serialLowLatencyFlag != 0, err
}

func serialSetLowLatency(fd int, on bool) error {
	ss, err := serialGetStruct(fd)
	if err != nil {
		return err
	}
	ss.Flags &^= serialLowLatencyFlag
	if on {
		ss.Flags |= serialLowLatencyFlag
	}
	return ttyIoctl(fd, unix.TIOCSSERIAL, unsafe.Pointer(&ss), unsafe.Sizeof(ss))
}
