//go:build unix

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/extbuilder/extbuilder/internal/bindir"
)

// TestDemo runs what `make demo` runs, against freshly built programs, so
// the demo cannot rot unnoticed.
func TestDemo(t *testing.T) {
	bin := t.TempDir()
	root := filepath.Join("..", "..")
	if err := bindir.Build(root, bin); err != nil {
		t.Fatalf("building the builders: %v", err)
	}
	tools := t.TempDir()
	build := exec.Command("go", "build", "-trimpath", "-o", tools+string(filepath.Separator), "./cmd/extbuilder")
	build.Dir = root
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the operator tool: %v\n%s", err, out)
	}
	var out bytes.Buffer
	if err := run(bin, tools, &out); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	t.Logf("demo output:\n%s", out.String())
	// Long command lines are continued with a backslash; look at them whole.
	text := strings.ReplaceAll(out.String(), " \\\n      ", " ")
	sections := map[string]string{}
	for _, d := range demos {
		start := strings.Index(text, "=== "+d.name+":")
		if start < 0 {
			t.Fatalf("no section for %s", d.name)
		}
		sections[d.name] = text[start:]
		if end := strings.Index(text[start+1:], "\n=== "); end >= 0 {
			sections[d.name] = text[start : start+1+end]
		}
	}

	for _, d := range demos {
		sec := sections[d.name]
		// The package is made by the operator's command, and its ID is printed.
		cmd := regexp.MustCompile(`\$ \$TOOLS/extbuilder package --type ` + d.typ + ` --label ` + regexp.QuoteMeta(d.label) + ` `)
		if !cmd.MatchString(sec) {
			t.Errorf("%s: the extbuilder package command is not shown:\n%s", d.name, sec)
		}
		if !regexp.MustCompile(`\n  ` + regexp.QuoteMeta(d.label) + `:[0-9a-f]{64}\n  checked: `).MatchString(sec) {
			t.Errorf("%s: the package ID extbuilder package printed is not shown, or not checked", d.name)
		}
	}

	service := sections["asset-transfer-mtls"]
	for _, want := range []string{
		"--connection $WORK/connection.json --indexes $WORK/couchdb",
		`"client_key": "<KEY client>\n"`,
		"checked: a TLS handshake with a stand-in chaincode server on 127.0.0.1",
	} {
		if !strings.Contains(service, want) {
			t.Errorf("service section lacks %q", want)
		}
	}

	binary := sections["fakecc"]
	for _, want := range []string{
		"--executable $WORK/fakecc",
		"no chaincode/server/connection.json, so the peer starts the chaincode itself",
		"-rw-r--r-- entrypoint, ",
		"-rwxr-xr-x tree/fakecc",
		"chaincode.json, mode 0600:",
		"connected: the chaincode dialed 127.0.0.1:",
		"client_key    <private key, PEM>",
		"run: chaincode was stopped by SIGTERM, passed on by run (exit status 143)",
		"run exited with status 143 = 128+SIGTERM within the peer's 5s",
	} {
		if !strings.Contains(binary, want) {
			t.Errorf("binary section lacks %q", want)
		}
	}
	if strings.Contains(text, "-----BEGIN") || strings.Contains(text, "PRIVATE KEY") {
		t.Error("the demo printed PEM material")
	}
	if strings.Contains(text, filepath.Join(os.TempDir(), "extbuilder-demo-")) || strings.Contains(text, bin) || strings.Contains(text, tools) {
		t.Error("the demo printed a temporary path instead of its short name")
	}
}
