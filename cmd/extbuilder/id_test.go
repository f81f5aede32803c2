package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIDOfAHandMadePackage(t *testing.T) {
	// A package the peer accepts, though lint would not: the extra file
	// costs a warning, and the ID is still the peer's.
	file := handMade(t, "metadata.json", "code.tar.gz", "README")
	data, err := os.ReadFile(file)
	must(t, err)
	sum := sha256.Sum256(data)
	code, stdout, stderr := runCmd(idCmd, file)
	if want := "cc_1:" + hex.EncodeToString(sum[:]) + "\n"; code != 0 || stdout != want {
		t.Errorf("exit %d, stdout %q; expected %q", code, stdout, want)
	}
	checkOneLine(t, stderr, `extbuilder id: warning: hand.tgz: holds the extra file "README"`)
}

func TestIDRefusesWhatThePeerRefuses(t *testing.T) {
	notGzip := filepath.Join(t.TempDir(), "plain.tgz")
	must(t, os.WriteFile(notGzip, []byte("not a package"), 0o644))
	for file, want := range map[string]string{
		handMade(t, "./metadata.json", "./code.tar.gz"): `holds "./metadata.json"`,
		handMade(t, "metadata.json"):                    "has no code.tar.gz",
		notGzip:                                         "expected a gzip-compressed tar",
	} {
		code, stdout, stderr := runCmd(idCmd, file)
		if code != 1 || stdout != "" {
			t.Errorf("%s: exit %d, stdout %q", file, code, stdout)
		}
		checkOneLine(t, stderr, "extbuilder id: ")
		if !strings.Contains(stderr, want) {
			t.Errorf("%s: stderr %q does not contain %q", file, stderr, want)
		}
	}
	if code, _, stderr := runCmd(idCmd, "a.tgz", "b.tgz"); code != 2 {
		t.Errorf("two arguments: exit %d, %s", code, stderr)
	}
}
