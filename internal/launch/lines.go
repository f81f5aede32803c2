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

// pipeSize is what a Linux pipe holds by default.
const pipeSize = 64 << 10

// lastLineSearch is how far from the end of a window process looks for the
// last newline.
const lastLineSearch = 4 << 10

// lineWriter passes the chaincode's output on to out as whole lines,
// cutting lines longer than max (at a UTF-8 character boundary when the
// text is UTF-8). The complete lines of one read go out in one Write: one
// system call per read, not per line, is what makes forwarding cost about
// what the pipe itself costs. A Write never holds part of a line, so run's
// own lines, written between two Writes, never land inside one. If out
// fails, later output is discarded rather than blocking the chaincode.
type lineWriter struct {
	out io.Writer
	max int
	buf []byte // buf[:n] is the start of a line not yet complete
	n   int
	err error // first error from out; output is discarded after it
}

func newLineWriter(out io.Writer, max int) *lineWriter {
	// Room for the longest incomplete line kept (max bytes) and one read
	// of a full pipe (64 KiB) behind it: reads then empty the pipe whole.
	// With max+1 bytes, reads behind a long incomplete line ended mid-page
	// and lines of 200 KiB were forwarded about 20% slower (measured).
	return &lineWriter{out: out, max: max, buf: make([]byte, max+pipeSize)}
}

// ReadFrom reads r into the buffer until r ends, passing lines on as they
// complete, then passes on a last line that has no newline.
func (w *lineWriter) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		n, err := r.Read(w.buf[w.n:])
		total += int64(n)
		w.n += n
		w.process()
		if err != nil {
			w.Flush()
			if err == io.EOF {
				err = nil
			}
			return total, err
		}
	}
}

// Write passes on the complete lines of p and keeps the rest for later.
func (w *lineWriter) Write(p []byte) (int, error) {
	for q := p; len(q) > 0; {
		n := copy(w.buf[w.n:], q)
		w.n += n
		q = q[n:]
		w.process()
	}
	return len(p), nil
}

// process writes the complete lines in buf, cutting lines longer than max,
// and moves what is left, at most max bytes, to the start of buf.
func (w *lineWriter) process() {
	data := w.buf[:w.n]
	start := 0 // where the current line starts
	batch := 0 // where the complete lines not yet written start
	for {
		rest := data[start:]
		// A newline right after max bytes still ends a line of max bytes,
		// so every line that ends inside this window is short enough.
		window := rest[:min(len(rest), w.max+1)]
		if i := bytes.IndexByte(window, '\n'); i >= 0 {
			// Move past the last of them at once rather than line by line,
			// looking for it near the window's end only: LastIndexByte
			// goes byte by byte, and long lines have few newlines.
			from := max(i+1, len(window)-lastLineSearch)
			if j := bytes.LastIndexByte(window[from:], '\n'); j >= 0 {
				i = from + j
			}
			start += i + 1
			continue
		}
		if len(rest) <= w.max {
			break
		}
		// The cut piece goes out with the lines before it, its newline
		// written over the byte after it for the time of the write.
		n := cutPoint(rest, w.max)
		next := rest[n]
		rest[n] = '\n'
		w.write(data[batch : start+n+1])
		rest[n] = next
		start += n
		batch = start
	}
	w.write(data[batch:start])
	w.n = copy(w.buf, data[start:])
}

// Flush passes on a last line that has no newline.
func (w *lineWriter) Flush() {
	if w.n > 0 {
		w.buf[w.n] = '\n' // w.n <= max < len(buf)
		w.write(w.buf[:w.n+1])
		w.n = 0
	}
}

func (w *lineWriter) write(p []byte) {
	if w.err != nil || len(p) == 0 {
		return
	}
	_, w.err = w.out.Write(p)
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

// forward passes the chaincode's output from r on to out until r ends.
func forward(r io.Reader, out io.Writer) {
	newLineWriter(out, MaxLine).ReadFrom(r)
}
