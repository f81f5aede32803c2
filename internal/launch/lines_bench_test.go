package launch

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
)

// BenchmarkForward measures log forwarding the way run does it: the
// chaincode writes into a pipe (in 128 KiB writes, as cat does), forward
// reads it and writes whole lines into a second pipe, which a reader
// drains. "raw" is the floor: the same bytes copied from pipe to pipe with
// no line handling, which is what cat into the peer's pipe costs. The
// budget (make bench, docs/performance.md) is forwarding at half the raw
// throughput or better for 100-byte lines.
func BenchmarkForward(b *testing.B) {
	for _, c := range []struct {
		name string
		line int // bytes per line, newline included
	}{
		{"100B", 100},
		{"1KiB", 1024},
		{"200KiB", 200 * 1024}, // cut into pieces below MaxLine
	} {
		block := linesBlock(c.line, 1<<20)
		b.Run("lines-"+c.name, func(b *testing.B) {
			benchPipes(b, block, func(r io.Reader, w io.Writer) { forward(r, &serialized{w: w}) })
		})
		b.Run("raw-"+c.name, func(b *testing.B) { benchPipes(b, block, rawCopy) })
	}
}

// linesBlock returns about size bytes of lines of n bytes each.
func linesBlock(n, size int) []byte {
	line := []byte(strings.Repeat("x", n-1) + "\n")
	var buf bytes.Buffer
	for buf.Len() < size {
		buf.Write(line)
	}
	return buf.Bytes()
}

func rawCopy(r io.Reader, w io.Writer) {
	buf := make([]byte, 64*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			w.Write(buf[:n])
		}
		if err != nil {
			return
		}
	}
}

// benchPipes feeds block b.N times through copy from one pipe into another.
func benchPipes(b *testing.B, block []byte, copy func(io.Reader, io.Writer)) {
	srcR, srcW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	dstR, dstW, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(block)))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the chaincode
		defer wg.Done()
		defer srcW.Close()
		for range b.N {
			for p := block; len(p) > 0; {
				n := min(len(p), 128*1024)
				if _, err := srcW.Write(p[:n]); err != nil {
					return
				}
				p = p[n:]
			}
		}
	}()
	var got int64
	go func() { // the peer
		defer wg.Done()
		got, _ = io.CopyBuffer(io.Discard, onlyReader{dstR}, make([]byte, 64*1024))
	}()
	b.ResetTimer()
	copy(srcR, dstW)
	dstW.Close()
	wg.Wait()
	b.StopTimer()
	srcR.Close()
	dstR.Close()
	if want := int64(b.N * len(block)); got < want {
		b.Fatalf("forwarded %d bytes, expected at least %d", got, want)
	}
}

// onlyReader hides the pipe's WriteTo, so the drain reads as the peer does.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
