package launch

import (
	"bufio"
	"bytes"
	"io"
	"unicode/utf8"
)

// MaxLine is the longest line, without its newline, that run passes on.
// The peer reads run's stderr with a bufio.Scanner of default size, which
// gives up on a line of 64 KiB or more (newline included) and then stops
// reading, so a chaincode that keeps writing would block on a full pipe.
const MaxLine = bufio.MaxScanTokenSize - 1

// lineWriter passes what it is given on to out as whole lines, one Write
// per line, cutting lines longer than max (at a UTF-8 character boundary
// when the text is UTF-8). If out fails, later output is discarded rather
// than blocking the chaincode.
type lineWriter struct {
	out     io.Writer
	max     int
	pending []byte
	line    []byte
	err     error // first error from out; output is discarded after it
}

func newLineWriter(out io.Writer, max int) *lineWriter {
	return &lineWriter{out: out, max: max}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.pending = append(w.pending, p...)
	start := 0
	for {
		rest := w.pending[start:]
		// A newline right after max bytes still ends a line of max bytes.
		if i := bytes.IndexByte(rest[:min(len(rest), w.max+1)], '\n'); i >= 0 {
			w.emit(rest[:i])
			start += i + 1
			continue
		}
		if len(rest) > w.max {
			n := cutPoint(rest, w.max)
			w.emit(rest[:n])
			start += n
			continue
		}
		break
	}
	w.pending = append(w.pending[:0], w.pending[start:]...)
	return len(p), nil
}

// Flush passes on a last line that has no newline.
func (w *lineWriter) Flush() {
	if len(w.pending) > 0 {
		w.emit(w.pending)
		w.pending = w.pending[:0]
	}
}

func (w *lineWriter) emit(line []byte) {
	if w.err != nil {
		return
	}
	w.line = append(append(w.line[:0], line...), '\n')
	_, w.err = w.out.Write(w.line)
}

// cutPoint returns where to cut b, at most max bytes in: before the
// character that straddles max, if any.
func cutPoint(b []byte, max int) int {
	n := max
	for n > max-utf8.UTFMax+1 && n > 1 && !utf8.RuneStart(b[n]) {
		n--
	}
	return n
}
