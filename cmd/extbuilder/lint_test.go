package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// makePackage runs extbuilder package on a connection.json and returns the
// package path and its ID.
func makePackage(t *testing.T, connJSON string) (string, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "cc.tgz")
	code, stdout, stderr := runCmd(packageCmd, "--type", "ccaas", "--label", "cc_1", "--connection", connectionFile(t, connJSON), "-o", out)
	if code != 0 {
		t.Fatalf("package: exit %d: %s", code, stderr)
	}
	return out, strings.TrimSpace(stdout)
}

// handMade writes a package whose outer archive has the given names, as
// hand-rolled tar commands make them.
func handMade(t *testing.T, names ...string) string {
	t.Helper()
	var code bytes.Buffer
	zw := gzip.NewWriter(&code)
	tw := tar.NewWriter(zw)
	conn := []byte(`{"address":"cc:9999"}`)
	must(t, tw.WriteHeader(&tar.Header{Name: "connection.json", Mode: 0o644, Size: int64(len(conn))}))
	_, err := tw.Write(conn)
	must(t, err)
	must(t, tw.Close())
	must(t, zw.Close())
	bodies := map[string][]byte{"metadata.json": []byte(`{"type":"ccaas","label":"cc_1"}`), "code.tar.gz": code.Bytes()}

	var pkg bytes.Buffer
	zw = gzip.NewWriter(&pkg)
	tw = tar.NewWriter(zw)
	for _, n := range names {
		if strings.HasSuffix(n, "/") {
			must(t, tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeDir, Mode: 0o755}))
			continue
		}
		body := bodies[strings.TrimPrefix(n, "./")]
		must(t, tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(body))}))
		_, err := tw.Write(body)
		must(t, err)
	}
	must(t, tw.Close())
	must(t, zw.Close())
	file := filepath.Join(t.TempDir(), "hand.tgz")
	must(t, os.WriteFile(file, pkg.Bytes(), 0o644))
	return file
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestLintPassesWhatPackageMakes(t *testing.T) {
	file, id := makePackage(t, `{"address": "{{.peername}}-cc:9999"}`)
	for _, args := range [][]string{
		{file},
		{file, "--config", `{"peername":"peer0org1"}`}, // flags after the package
		{"--config", `{"peername":"peer0org1"}`, file}, // and before it
	} {
		code, stdout, stderr := runCmd(lintCmd, args...)
		if code != 0 || stdout != "" {
			t.Errorf("%q: exit %d, findings %q", args, code, stdout)
		}
		checkOneLine(t, stderr, "extbuilder lint: "+file+": no problems found; package ID "+id)
	}
}

func TestLintReportsEveryFindingAndFails(t *testing.T) {
	code, stdout, stderr := runCmd(lintCmd, handMade(t, "./", "./metadata.json", "./code.tar.gz", "README"))
	if code != 1 {
		t.Errorf("exit %d, expected 1", code)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	want := []string{
		`error: hand.tgz: holds the folder entry "./"`,
		`error: hand.tgz: holds "./metadata.json": expected the name metadata.json, exactly`,
		`error: hand.tgz: holds "./code.tar.gz": expected the name code.tar.gz, exactly`,
		`error: hand.tgz: holds the extra file "README"`,
		`error: hand.tgz: has no metadata.json at its top`,
		`error: hand.tgz: has no code.tar.gz at its top`,
	}
	if len(lines) != len(want) {
		t.Fatalf("findings:\n%s\nexpected %d lines", stdout, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d = %q, expected it to start with %q", i+1, lines[i], w)
		}
	}
	checkOneLine(t, stderr, "extbuilder lint: ")
	if !strings.Contains(stderr, "6 errors, 0 warnings: the package would fail") {
		t.Errorf("summary %q", stderr)
	}
}

func TestLintExpandsTemplatesOnlyWithConfig(t *testing.T) {
	file, _ := makePackage(t, `{"address": "{{.peername}}-cc:9999"}`)
	code, stdout, _ := runCmd(lintCmd, file, "--config", `{"org":"org1"}`)
	if code != 1 || !strings.HasPrefix(stdout, `error: connection.json: address: template key "peername" is not in CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG`) {
		t.Errorf("exit %d, findings %q", code, stdout)
	}
	// An empty --config is a peer without the variable: the template fails.
	code, stdout, _ = runCmd(lintCmd, "--config=", file)
	if code != 1 || !strings.Contains(stdout, "uses a template but CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG is not set") {
		t.Errorf("--config='': exit %d, findings %q", code, stdout)
	}
}

func TestLintWarningsDoNotFail(t *testing.T) {
	file, id := makePackage(t, `{"address": "cc:9999", "tls_required": "false"}`)
	code, stdout, stderr := runCmd(lintCmd, file)
	if code != 0 || !strings.HasPrefix(stdout, "warning: connection.json: tls_required:") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("exit %d, findings %q", code, stdout)
	}
	checkOneLine(t, stderr, "extbuilder lint: "+file+": 1 warning, no errors; package ID "+id)
}

func TestLintUnreadableFileAndUsage(t *testing.T) {
	code, stdout, stderr := runCmd(lintCmd, filepath.Join(t.TempDir(), "none.tgz"))
	if code != 1 || stdout != "" {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
	checkOneLine(t, stderr, "extbuilder lint: ")
	if !strings.Contains(stderr, "none.tgz: file not found") {
		t.Errorf("stderr %q", stderr)
	}
	code, _, stderr = runCmd(lintCmd)
	if code != 2 {
		t.Errorf("no arguments: exit %d", code)
	}
	checkOneLine(t, stderr, "extbuilder lint: expected 1 argument, found 0; usage: extbuilder lint PACKAGE.tgz")
}
