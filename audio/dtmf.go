package audio

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalidDigit is returned for a character that is not a DTMF digit
// (0-9, *, #, A-D).
var ErrInvalidDigit = errors.New("audio: invalid DTMF digit")

// DTMF frequencies (ITU-T Q.23): the low (row) group and the high
// (column) group.
var (
	dtmfRows = [4]float64{697, 770, 852, 941}
	dtmfCols = [4]float64{1209, 1336, 1477, 1633}
)

// dtmfKeys lays out the keypad: dtmfKeys[row][col].
var dtmfKeys = [4][4]rune{
	{'1', '2', '3', 'A'},
	{'4', '5', '6', 'B'},
	{'7', '8', '9', 'C'},
	{'*', '0', '#', 'D'},
}

// DTMFFrequencies returns the low-group (row) and high-group (column)
// frequencies in Hz of a DTMF digit (0-9, *, #, A-D; lower-case a-d are
// accepted). ok is false for other characters.
func DTMFFrequencies(digit rune) (low, high float64, ok bool) {
	if digit >= 'a' && digit <= 'd' {
		digit -= 'a' - 'A'
	}
	for r := range dtmfKeys {
		for c, k := range dtmfKeys[r] {
			if k == digit {
				return dtmfRows[r], dtmfCols[c], true
			}
		}
	}
	return 0, 0, false
}

// NewDTMFTone returns a Source playing the dual tone of digit for
// duration, then io.EOF. amplitude is the peak level of the sum of the
// two tones as a fraction of full scale (0 to 1), split equally between
// them. It fails with ErrInvalidDigit for a character that is not a DTMF
// digit.
func NewDTMFTone(digit rune, duration time.Duration, amplitude float64) (*Tone, error) {
	low, high, ok := DTMFFrequencies(digit)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrInvalidDigit, digit)
	}
	return NewToneFor(duration, amplitude, low, high), nil
}
