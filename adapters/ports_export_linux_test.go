package adapters

// ListSerialPortsIn is ListSerialPorts reading sysfs under sysRoot and
// device nodes under devRoot, for tests that feed it a fake tree.
func ListSerialPortsIn(sysRoot, devRoot string) ([]SerialPort, error) {
	return listSerialPorts(sysRoot, devRoot)
}

// FindSerialPortsIn is FindSerialPorts over a fake tree.
func FindSerialPortsIn(sysRoot, devRoot, serialNumber string) ([]SerialPort, error) {
	return findSerialPorts(sysRoot, devRoot, serialNumber)
}
