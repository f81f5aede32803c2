//go:build unix

package test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/extbuilder/extbuilder/test/golden"
)

const goldenDir = "testdata/golden"

// checkGolden compares got with testdata/golden/<name>.txt, or rewrites the
// file with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, goldenDir, name, got, *update, "go test ./test -update")
}

var privateKeyPEM = regexp.MustCompile(`PRIVATE KEY-----`)

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
			} else if golden.PEMHeader.Match(data) {
				t.Errorf("%s holds a PEM block (%s); goldens and samples must hold placeholders only", path, golden.PEMHeader.Find(data))
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
