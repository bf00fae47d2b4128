package adapters_test

import (
	"fmt"
	"testing"

	"github.com/fdstream/fdstream/adapters"
)

// Parity, StopBits, FlushMode and SerialConfig print as people write
// them ("8N1"), not as numbers; unknown values say what they are.
func TestSerialStrings(t *testing.T) {
	tests := []struct {
		v    fmt.Stringer
		want string
	}{
		{adapters.ParityNone, "none"},
		{adapters.ParityOdd, "odd"},
		{adapters.ParityEven, "even"},
		{adapters.ParityMark, "mark"},
		{adapters.ParitySpace, "space"},
		{adapters.Parity(-1), "Parity(-1)"},
		{adapters.Parity(9), "Parity(9)"},
		{adapters.StopBits1, "1"},
		{adapters.StopBits2, "2"},
		{adapters.StopBits(0), "StopBits(0)"},
		{adapters.StopBits(3), "StopBits(3)"},
		{adapters.FlushInput, "input"},
		{adapters.FlushOutput, "output"},
		{adapters.FlushBoth, "both"},
		{adapters.FlushMode(0), "FlushMode(0)"},
		{adapters.SerialConfig{Baud: 115200, DataBits: 8, RTSCTS: true}, "115200 8N1 rtscts"},
		{adapters.SerialConfig{Baud: 9600, DataBits: 7, Parity: adapters.ParityEven, StopBits: adapters.StopBits2}, "9600 7E2"},
		{adapters.SerialConfig{Baud: 250000, DataBits: 5, Parity: adapters.ParityOdd, StopBits: adapters.StopBits1}, "250000 5O1"},
		{adapters.SerialConfig{Baud: 300, Parity: adapters.ParityMark}, "300 8M1"},
		{adapters.SerialConfig{Baud: 300, Parity: adapters.ParitySpace}, "300 8S1"},
		{adapters.SerialConfig{}, "0 8N1"},
		{adapters.SerialConfig{Baud: 1200, DataBits: 9, Parity: 9, StopBits: 3}, "1200 9??"},
	}
	for _, tt := range tests {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.v, got, tt.want)
		}
		// fmt uses it, for %v and %+v alike.
		if got := fmt.Sprintf("%v|%+v", tt.v, tt.v); got != tt.want+"|"+tt.want {
			t.Errorf("fmt of %#v = %q", tt.v, got)
		}
	}
}
