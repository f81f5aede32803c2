package launch

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writes records each Write, so the tests see that every line is one Write.
type writes struct{ calls []string }

func (w *writes) Write(p []byte) (int, error) {
	w.calls = append(w.calls, string(p))
	return len(p), nil
}

func feed(w *lineWriter, chunks ...string) {
	for _, c := range chunks {
		n, err := w.Write([]byte(c))
		if n != len(c) || err != nil {
			panic("short write")
		}
	}
}

func TestLineWriterPassesWholeLines(t *testing.T) {
	out := &writes{}
	w := newLineWriter(out, 10)
	feed(w, "hel", "lo\nwor", "ld\n\nlast")
	assert.Equal(t, []string{"hello\n", "world\n", "\n"}, out.calls, "a partial line waits for its end")
	w.Flush()
	assert.Equal(t, []string{"hello\n", "world\n", "\n", "last\n"}, out.calls)
	w.Flush()
	assert.Len(t, out.calls, 4, "nothing left to flush")
}

func TestLineWriterCutsLongLines(t *testing.T) {
	out := &writes{}
	w := newLineWriter(out, 4)
	feed(w, "abcd\n") // exactly max: not cut
	feed(w, "efghij") // cut once max is exceeded, before the newline is seen
	assert.Equal(t, []string{"abcd\n", "efgh\n"}, out.calls)
	feed(w, "\n")
	assert.Equal(t, []string{"abcd\n", "efgh\n", "ij\n"}, out.calls)
	feed(w, "0123456789abc\n")
	assert.Equal(t, []string{"abcd\n", "efgh\n", "ij\n", "0123\n", "4567\n", "89ab\n", "c\n"}, out.calls)
}

func TestLineWriterCutsBetweenCharacters(t *testing.T) {
	out := &writes{}
	w := newLineWriter(out, 5)
	feed(w, "abcd€xyz\n") // "€" is 3 bytes at offsets 4 to 6
	assert.Equal(t, []string{"abcd\n", "€xy\n", "z\n"}, out.calls)
	for _, c := range out.calls {
		assert.True(t, utf8.ValidString(c), c)
	}
}

func TestLineWriterKeepsThePeersReaderGoing(t *testing.T) {
	var out bytes.Buffer
	w := newLineWriter(&out, MaxLine)
	exact := strings.Repeat("e", MaxLine)
	long := strings.Repeat("é", 100*1024) // 200 KiB of two-byte characters
	feed(w, exact+"\n", long+"\n", "end\n")

	sc := bufio.NewScanner(&out) // the peer's reader, default size
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	require.NoError(t, sc.Err())
	require.Greater(t, len(lines), 4)
	assert.Equal(t, exact, lines[0], "a line of MaxLine bytes passes whole")
	assert.Equal(t, long, strings.Join(lines[1:len(lines)-1], ""))
	for _, l := range lines {
		assert.True(t, utf8.ValidString(l))
	}
	assert.Equal(t, "end", lines[len(lines)-1])
}

type failing struct{ n int }

func (f *failing) Write(p []byte) (int, error) {
	f.n++
	return 0, errors.New("broken pipe")
}

func TestLineWriterDiscardsAfterAnError(t *testing.T) {
	out := &failing{}
	w := newLineWriter(out, 10)
	n, err := w.Write([]byte("a\nb\nc\n"))
	assert.Equal(t, 6, n)
	assert.NoError(t, err, "the chaincode's output keeps being drained")
	assert.Equal(t, 1, out.n, "no retries on a broken writer")
}
