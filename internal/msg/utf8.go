package msg

import "unicode/utf8"

// InvalidUTF8At returns the offset of the first byte of data that is not
// part of a valid UTF-8 character, or -1 when data is all valid UTF-8.
func InvalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
