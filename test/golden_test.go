//go:build unix

package test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const goldenDir = "testdata/golden"

// checkGolden compares got with testdata/golden/<name>.txt, or rewrites the
// file with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(goldenDir, name+".txt")
	if pemHeader.MatchString(got) {
		t.Fatalf("%s: refusing to compare or write output that still holds a PEM block: a redaction failed", path)
	}
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v; `go test ./test -update` writes it", err)
		return
	}
	if string(want) != got {
		t.Errorf("%s differs (- golden, + now); review, then `go test ./test -update` rewrites it:\n%s",
			path, lineDiff(string(want), got))
	}
}

// lineDiff is a small longest-common-subsequence diff, enough for goldens.
func lineDiff(a, b string) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	// lcs[i][j] is the LCS length of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			fmt.Fprintf(&out, "-%4d %s\n", i+1, x[i])
			i++
		default:
			fmt.Fprintf(&out, "+%4d %s\n", j+1, y[j])
			j++
		}
	}
	return out.String()
}

var (
	pemHeader     = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]+-----`)
	privateKeyPEM = regexp.MustCompile(`PRIVATE KEY-----`)
)

// TestNoKeyMaterialCommitted scans every golden file (the install goldens
// and the bad-input corpus's, corpus/testdata) and every sample tree:
// certificates and keys are generated at test time, so a PEM header in a
// committed file means a redaction failed or a secret was committed.
func TestNoKeyMaterialCommitted(t *testing.T) {
	scanned := 0
	for _, root := range []string{goldenDir, "testdata/packages", "demo", "corpus/testdata"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			scanned++
			if privateKeyPEM.Match(data) {
				t.Errorf("%s holds a PRIVATE KEY header", path)
			} else if pemHeader.Match(data) {
				t.Errorf("%s holds a PEM block (%s); goldens and samples must hold placeholders only", path, pemHeader.Find(data))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if scanned == 0 {
		t.Fatal("no files scanned")
	}
}
