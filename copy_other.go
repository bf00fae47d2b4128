//go:build !linux

package fdstream

// splice: there is no splice(2) here; copies between Streams take the
// buffered loop.
func (c *copier) splice() (done bool, pending []byte, err error) {
	return false, nil, nil
}
