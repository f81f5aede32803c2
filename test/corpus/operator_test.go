//go:build linux

package corpus

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestOperatorToolHidesKeys: extbuilder package, id and lint quote labels,
// types and entry names from the operator and from packages; a key hidden in
// any of them is described, never shown, on stderr and on stdout alike.
func TestOperatorToolHidesKeys(t *testing.T) {
	tool := filepath.Join(t.TempDir(), "extbuilder")
	build := exec.Command("go", "build", "-o", tool, "./cmd/extbuilder")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/extbuilder: %v\n%s", err, out)
	}
	dir := t.TempDir()
	// A body with a '/' is not a valid label: one made only of letters,
	// digits and '+' would be a label the peer accepts, and the package ID
	// (label:hash) is what id and package print by design.
	key, body := pki.Client.KeyPEM, keyBody(pki.Client.KeyPEM)+"/"
	connFile := filepath.Join(dir, "connection.json")
	if err := os.WriteFile(connFile, []byte(plainConn), 0o644); err != nil {
		t.Fatal(err)
	}
	pkg := func(name, metadataJSON string, code []file, extra ...string) string {
		p := filepath.Join(dir, name)
		outer := []file{{name: "metadata.json", body: metadataJSON}, {name: "code.tar.gz", body: tarGz(t, code)}}
		for _, n := range extra {
			outer = append(outer, file{name: n, body: "x"})
		}
		if err := os.WriteFile(p, []byte(tarGz(t, outer)), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	src := []file{{name: "connection.json", body: plainConn}}
	labelKey := pkg("label-key.tgz", js(map[string]string{"type": "ccaas", "label": key}), src)
	labelBody := pkg("label-body.tgz", js(map[string]string{"type": "ccaas", "label": body}), src)
	typeKey := pkg("type-key.tgz", js(map[string]string{"type": key, "label": "corpus_1"}), src)
	outerName := pkg("outer-name.tgz", validMetadata, src, key)
	codeName := pkg("code-name.tgz", validMetadata, append(src, file{name: "tls/" + body + ".pem", body: "x", mode: 0o200}))

	for _, c := range []struct {
		name string
		args []string
		want string // in the line that names the problem
		warn bool   // the peer tolerates it: a warning, exit 0
	}{
		{"package --label with a key", []string{"package", "--type", "ccaas", "--label", key, "--connection", connFile, "-o", filepath.Join(dir, "out.tgz")}, "label", false},
		{"package --label with a key body", []string{"package", "--type", "ccaas", "--label", body, "--connection", connFile, "-o", filepath.Join(dir, "out.tgz")}, "label", false},
		{"package --type with a key", []string{"package", "--type", key, "--label", "corpus_1", "--connection", connFile}, "--type", false},
		{"package with a key as argument", []string{"package", "--type", "ccaas", "--label", "corpus_1", "--connection", connFile, "--", key}, "unexpected argument", false},
		{"package with a key where a flag goes", []string{"package", "--type", "ccaas", "--label", "corpus_1", "--connection", connFile, key}, "usage:", false},
		{"id of a package whose label is a key", []string{"id", labelKey}, "label", false},
		{"id of a package whose label is a key body", []string{"id", labelBody}, "label", false},
		{"id of a package with a key as an entry name", []string{"id", outerName}, "extra file", true},
		{"lint of a package whose label is a key", []string{"lint", labelKey}, "label", false},
		{"lint of a package whose type is a key", []string{"lint", typeKey}, "type", false},
		{"lint of a package with a key as an entry name", []string{"lint", outerName}, "extra file", false},
		{"lint of a package with a key body in a file name", []string{"lint", codeName}, "mode 0200", true},
		{"a key as the command", []string{key}, "unknown command", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(tool, c.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			out := stdout.String() + stderr.String()
			if leak := keyMaterial(out); leak != "" {
				t.Errorf("output shows %s: %.600q", leak, safe(out))
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("output does not mention %q: %.600q", c.want, safe(out))
			}
			if !strings.Contains(out, "not shown") {
				t.Errorf("output does not say a value was not shown: %.600q", safe(out))
			}
			if err == nil && !c.warn {
				t.Errorf("exit 0 on bad input: %.600q", safe(out))
			}
		})
	}
}

// tarGz is files as a gzip-compressed tar, in order, mode 0644 unless set.
func tarGz(t *testing.T, files []file) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		mode := int64(f.mode)
		if mode == 0 {
			mode = 0o644
		}
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: mode, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
