// Package golden compares test output with golden files, shows the
// difference line by line, and rewrites the files on request. It refuses any
// output holding a PEM block: a golden must never keep key material.
package golden

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// PEMHeader matches the first line of any PEM block.
var PEMHeader = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]+-----`)

// Check compares got with <dir>/<name>.txt, or writes that file when update
// is set. rewrite is the command that rewrites the goldens, for messages.
func Check(t testing.TB, dir, name, got string, update bool, rewrite string) {
	t.Helper()
	path := filepath.Join(dir, name+".txt")
	if PEMHeader.MatchString(got) {
		t.Fatalf("%s: refusing to compare or write output that still holds a PEM block: a redaction failed", path)
	}
	if update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v; `%s` writes it", err, rewrite)
		return
	}
	if string(want) != got {
		t.Errorf("%s differs (- golden, + now); review, then `%s` rewrites it:\n%s", path, rewrite, Diff(string(want), got))
	}
}

// Diff is a small longest-common-subsequence diff, enough for goldens.
func Diff(a, b string) string {
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
