package launch

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
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
	assert.Equal(t, []string{"hello\n", "world\n\n"}, out.calls, "a partial line waits for its end")
	w.Flush()
	assert.Equal(t, []string{"hello\n", "world\n\n", "last\n"}, out.calls)
	w.Flush()
	assert.Len(t, out.calls, 3, "nothing left to flush")
}

func TestLineWriterBatchesTheCompleteLinesOfARead(t *testing.T) {
	out := &writes{}
	w := newLineWriter(out, MaxLine)
	line := strings.Repeat("x", 99) + "\n"
	chunk := strings.Repeat(line, 600) + "partial" // 60 KB: one read of a full pipe
	feed(w, chunk)
	require.Len(t, out.calls, 1, "600 lines, one write")
	assert.Equal(t, strings.Repeat(line, 600), out.calls[0])
	feed(w, " line\n")
	assert.Equal(t, "partial line\n", out.calls[1])
}

// chunks reads out its chunks one Read at a time, then returns err.
type chunks struct {
	parts []string
	err   error
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.parts) == 0 {
		return 0, c.err
	}
	n := copy(p, c.parts[0])
	c.parts[0] = c.parts[0][n:]
	if c.parts[0] == "" {
		c.parts = c.parts[1:]
	}
	return n, nil
}

func TestForwardPassesTheLastLinesWhenTheOutputEnds(t *testing.T) {
	for _, end := range []error{io.EOF, os.ErrDeadlineExceeded} {
		out := &writes{}
		forward(&chunks{parts: []string{"one\ntw", "o\nthree"}, err: end}, out)
		assert.Equal(t, []string{"one\n", "two\n", "three\n"}, out.calls, "after %v", end)
	}
}

// TestLineWriterKeepsEveryByteInWholeLines feeds random lines in random
// chunks and checks the guarantees: every Write is whole lines, no line is
// longer than max, cuts fall between UTF-8 characters, and the lines put
// back together are the input.
func TestLineWriterKeepsEveryByteInWholeLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 208 {
		// Small windows, then run's own: lines up to three times max.
		max, lines := 300, 40
		if round >= 200 {
			max, lines = MaxLine, 8
		}
		var in strings.Builder
		for range rng.IntN(lines) {
			n := rng.IntN(3 * max)
			for in.Len() < n {
				in.WriteString([]string{"a", "é", "€", "𝄞", "\n"}[rng.IntN(5)])
			}
			in.WriteString("\n")
		}
		text := in.String()
		out := &writes{}
		w := newLineWriter(out, max)
		for rest := text; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(2*max))
			feed(w, rest[:n])
			rest = rest[n:]
		}
		w.Flush()
		var got strings.Builder
		for _, c := range out.calls {
			require.True(t, strings.HasSuffix(c, "\n"), "round %d: a write ends inside a line: %q", round, c)
			got.WriteString(c)
		}
		var rebuilt strings.Builder
		for _, line := range strings.SplitAfter(got.String(), "\n") {
			require.LessOrEqual(t, len(strings.TrimSuffix(line, "\n")), max, "round %d", round)
			require.True(t, utf8.ValidString(line), "round %d: cut inside a character: %q", round, line)
			rebuilt.WriteString(line)
		}
		// The output is the input with newlines added, each after a piece
		// that a cut ended (within a character's length of max).
		o, lineLen := rebuilt.String(), 0
		for i := 0; i < len(text); o = o[1:] {
			switch {
			case len(o) == 0:
				t.Fatalf("round %d: output ends early", round)
			case o[0] == text[i]:
				i++
				lineLen++
				if o[0] == '\n' {
					lineLen = 0
				}
				continue
			case o[0] != '\n':
				t.Fatalf("round %d: output differs from the input at input byte %d", round, i)
			case lineLen <= max-utf8.UTFMax:
				t.Fatalf("round %d: newline added after %d bytes, before max", round, lineLen)
			}
			lineLen = 0
		}
		assert.Empty(t, o, "round %d: output longer than the input", round)
	}
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
