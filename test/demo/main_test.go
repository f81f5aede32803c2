//go:build unix

package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDemo runs what `make demo` runs, against freshly built programs, so
// the demo cannot rot unnoticed.
func TestDemo(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", bin+string(filepath.Separator), "./cmd/detect", "./cmd/build", "./cmd/release")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the builders: %v\n%s", err, out)
	}
	var out bytes.Buffer
	if err := run(bin, &out); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	text := out.String()
	for _, d := range demos {
		if !strings.Contains(text, "=== "+d.dir+":") {
			t.Errorf("no section for %s", d.dir)
		}
	}
	if !regexp.MustCompile(`package ID    asset-transfer-mtls_1\.0:[0-9a-f]{64}\n`).MatchString(text) {
		t.Error("the package ID is not printed")
	}
	if !strings.Contains(text, `"client_key": "<KEY client>\n"`) {
		t.Error("the connection.json shown does not carry the redacted client key")
	}
	if strings.Contains(text, "-----BEGIN") {
		t.Error("the demo printed PEM material")
	}
}
