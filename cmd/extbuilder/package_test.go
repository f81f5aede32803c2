package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCmd runs one subcommand with captured output.
func runCmd(run func(args []string, stdout, stderr *bytes.Buffer) int, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func packageCmd(args []string, stdout, stderr *bytes.Buffer) int {
	return runPackage(args, stdout, stderr)
}
func idCmd(args []string, stdout, stderr *bytes.Buffer) int   { return runID(args, stdout, stderr) }
func lintCmd(args []string, stdout, stderr *bytes.Buffer) int { return runLint(args, stdout, stderr) }

// connectionFile writes a connection.json in a fresh folder and returns its path.
func connectionFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "connection.json")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkOneLine fails unless stderr is exactly one line starting with prefix.
func checkOneLine(t *testing.T, stderr, prefix string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, prefix) {
		t.Errorf("stderr = %q, expected one line starting with %q", stderr, prefix)
	}
}

func TestPackagePrintsTheIDOfTheFileItWrote(t *testing.T) {
	conn := connectionFile(t, `{"address": "{{.peername}}-cc:9999", "dial_timeout": "10s"}`)
	out := filepath.Join(t.TempDir(), "mycc.tgz")
	code, stdout, stderr := runCmd(packageCmd, "--type", "ccaas", "--label", "mycc_1.0", "--connection", conn, "-o", out)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if want := "mycc_1.0:" + hex.EncodeToString(sum[:]) + "\n"; stdout != want {
		t.Errorf("stdout = %q, expected label:sha256 of the file, %q", stdout, want)
	}
	// The same inputs again give the same file, so the ID can be computed
	// before install, in CI, as often as needed.
	out2 := filepath.Join(t.TempDir(), "again.tgz")
	if _, again, _ := runCmd(packageCmd, "--type", "ccaas", "--label", "mycc_1.0", "--connection", conn, "-o", out2); again != stdout {
		t.Errorf("packaging again printed %q, first time %q", again, stdout)
	}
	_, idOut, _ := runCmd(idCmd, out)
	if idOut != stdout {
		t.Errorf("extbuilder id printed %q, package printed %q", idOut, stdout)
	}
}

func TestPackageDefaultOutputIsLabelDotTgz(t *testing.T) {
	conn := connectionFile(t, `{"address": "cc:9999"}`)
	t.Chdir(t.TempDir())
	if code, _, stderr := runCmd(packageCmd, "--type", "external", "--label", "cc_2", "--connection", conn); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := os.Stat("cc_2.tgz"); err != nil {
		t.Errorf("no cc_2.tgz: %v", err)
	}
}

func TestPackageWarnsOnStderr(t *testing.T) {
	conn := connectionFile(t, `{"address": "cc:9999", "tls_required": "false"}`)
	code, stdout, stderr := runCmd(packageCmd, "--type", "ccaas", "--label", "x", "--connection", conn, "-o", filepath.Join(t.TempDir(), "x.tgz"))
	if code != 0 || !strings.HasPrefix(stdout, "x:") {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	checkOneLine(t, stderr, `extbuilder package: warning: `+conn+`: tls_required: the string "false"`)
}

func TestPackageUsageErrors(t *testing.T) {
	conn := connectionFile(t, `{"address": "cc:9999"}`)
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--type and --label are required"},
		{[]string{"--type", "ccaas", "--connection", conn}, "--type and --label are required"},
		{[]string{"--type", "golang", "--label", "x"}, `--type: expected one of ccaas, external, binary, k8s, found "golang"`},
		{[]string{"--type", "ccaas", "--label", "x"}, "--type ccaas needs --connection connection.json"},
		{[]string{"--type", "ccaas", "--label", "x", "--connection", conn, "--executable", "/bin/sh"}, "--executable and --dir are for --type binary"},
		{[]string{"--type", "binary", "--label", "x"}, "--type binary needs --executable FILE, or --dir DIR with --entry PATH"},
		{[]string{"--type", "binary", "--label", "x", "--executable", "/bin/sh", "--connection", conn}, "--connection is for --type ccaas or external"},
		{[]string{"--type", "binary", "--label", "x", "--executable", "/bin/sh", "--dir", "app"}, "--type binary needs --executable FILE, or --dir DIR with --entry PATH"},
		{[]string{"--type", "binary", "--label", "x", "--dir", "app"}, "--dir and --entry go together"},
		{[]string{"--type", "binary", "--label", "x", "--executable", "/bin/sh", "--entry", "sh"}, "--dir and --entry go together"},
		{[]string{"--type", "ccaas", "--label", "x", "--connection", conn, "stray"}, `unexpected argument "stray"`},
		{[]string{"--type", "k8s", "--label", "x"}, "--type k8s needs --image NAME@sha256:DIGEST"},
		{[]string{"--type", "k8s", "--label", "x", "--image", "a/b@sha256:1", "--connection", conn}, "--connection, --executable and --dir are not packed for --type k8s"},
		{[]string{"--type", "ccaas", "--label", "x", "--connection", conn, "--image", "a/b@sha256:1"}, "--image is for --type k8s"},
		{[]string{"--type", "binary", "--label", "x", "--executable", "/bin/sh", "--image", "a/b@sha256:1"}, "--image is for --type k8s"},
		{[]string{"--typo", "ccaas"}, "flag provided but not defined: -typo"},
	} {
		code, stdout, stderr := runCmd(packageCmd, c.args...)
		if code != 2 || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q; expected exit 2 and nothing on stdout", c.args, code, stdout)
		}
		checkOneLine(t, stderr, "extbuilder package: "+c.want)
		if !strings.Contains(stderr, "usage: extbuilder package --type") {
			t.Errorf("%q: no usage in %q", c.args, stderr)
		}
	}
}

func TestPackageRefusesBadInputWithoutOutput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.tgz")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--type", "ccaas", "--label", "x", "--connection", connectionFile(t, `{"address": "cc"}`)}, `connection.json: address: expected host:port, found "cc"`},
		{[]string{"--type", "ccaas", "--label", "my cc", "--connection", connectionFile(t, `{"address": "cc:1"}`)}, `metadata.json: label: expected ASCII letters`},
		{[]string{"--type", "binary", "--label", "x", "--executable", filepath.Join(dir, "none")}, "none: file not found"},
		{[]string{"--type", "binary", "--label", "x", "--dir", dir, "--entry", "../start"}, dir + `: entry point: expected a path inside the package, found "../start"`},
		{[]string{"--type", "k8s", "--label", "x", "--image", "ghcr.io/org/asset:1.0"}, `image: expected NAME@sha256:DIGEST, found "ghcr.io/org/asset:1.0" without a digest`},
	} {
		code, stdout, stderr := runCmd(packageCmd, append(c.args, "-o", out)...)
		if code != 1 || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q; expected exit 1 and nothing on stdout", c.args, code, stdout)
		}
		checkOneLine(t, stderr, "extbuilder package: ")
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%q: stderr %q does not contain %q", c.args, stderr, c.want)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("%q: left %d files behind", c.args, len(left))
		}
	}
}

// TestSubcommandHelp: help that was asked for goes to stdout, exit 0, with
// an Options section only for a command that has options.
func TestSubcommandHelp(t *testing.T) {
	for name, run := range map[string]func([]string, *bytes.Buffer, *bytes.Buffer) int{"package": packageCmd, "id": idCmd, "lint": lintCmd} {
		code, stdout, stderr := runCmd(run, "--help")
		if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "usage: extbuilder "+name) {
			t.Errorf("%s --help: exit %d, stdout %q, stderr %q", name, code, stdout, stderr)
		}
		if hasOptions := name != "id"; strings.Contains(stdout, "Options:") != hasOptions {
			t.Errorf("%s --help: Options section present %v, want %v: %q", name, !hasOptions, hasOptions, stdout)
		}
		if strings.HasSuffix(strings.TrimSpace(stdout), "Options:") {
			t.Errorf("%s --help ends with an empty Options heading", name)
		}
	}
}

// TestDispatch: the top level follows the same convention as every
// command.
func TestDispatch(t *testing.T) {
	for _, c := range []struct {
		args   []string
		code   int
		stdout string // prefix
		stderr string
	}{
		{[]string{"--help"}, 0, "usage: extbuilder COMMAND [ARGS]\n", ""},
		{[]string{"help"}, 0, "usage: extbuilder COMMAND [ARGS]\n", ""},
		{[]string{"--version"}, 0, "extbuilder dev\n", ""},
		{nil, 2, "", "extbuilder: expected a command (core-yaml, id, lint, package); run 'extbuilder --help'\n"},
		{[]string{"bogus"}, 2, "", "extbuilder: unknown command \"bogus\"; expected one of core-yaml, id, lint, package; run 'extbuilder --help'\n"},
		{[]string{"--bogus"}, 2, "", "extbuilder: unknown command \"--bogus\"; expected one of core-yaml, id, lint, package; run 'extbuilder --help'\n"},
	} {
		var stdout, stderr bytes.Buffer
		code := dispatch(c.args, &stdout, &stderr)
		if code != c.code || !strings.HasPrefix(stdout.String(), c.stdout) || (c.stdout == "") != (stdout.Len() == 0) || stderr.String() != c.stderr {
			t.Errorf("extbuilder %q: exit %d, stdout %q, stderr %q; want exit %d, stdout starting %q, stderr %q",
				c.args, code, stdout.String(), stderr.String(), c.code, c.stdout, c.stderr)
		}
	}
}

func TestPackageDirPacksTheWholeProgram(t *testing.T) {
	app := filepath.Join(t.TempDir(), "app")
	for name, body := range map[string]string{"bin/start": "#!/bin/sh\nexec ./lib/server \"$@\"\n", "lib/server": "#!/bin/sh\n", "etc/config.json": "{}"} {
		p := filepath.Join(app, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "app.tgz")
	code, stdout, stderr := runCmd(packageCmd, "--type", "binary", "--label", "app_1.0", "--dir", app, "--entry", "bin/start", "-o", out)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if want := "app_1.0:" + hex.EncodeToString(sum[:]) + "\n"; stdout != want {
		t.Errorf("stdout = %q, expected %q", stdout, want)
	}
	// lint, with build's checks, finds nothing to say about it.
	code, lintOut, lintErr := runCmd(lintCmd, out)
	if code != 0 || lintOut != "" || !strings.Contains(lintErr, "no problems found; package ID "+strings.TrimSpace(stdout)) {
		t.Errorf("lint: exit %d, stdout %q, stderr %q", code, lintOut, lintErr)
	}
}

func TestPackageKubernetesThenLint(t *testing.T) {
	const image = "ghcr.io/org/asset@sha256:802c336235cc1e7347e2da36c73fa2e4b6437cfc6f52872674d1e23f23bba63b"
	out := filepath.Join(t.TempDir(), "asset.tgz")
	code, stdout, stderr := runCmd(packageCmd, "--type", "k8s", "--label", "asset_1.0", "--image", image, "-o", out)
	if code != 0 || !strings.HasPrefix(stdout, "asset_1.0:") || stderr != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	id := strings.TrimSpace(stdout)
	code, findings, stderr := runCmd(lintCmd, out)
	if code != 0 || findings != "" {
		t.Errorf("lint: exit %d, findings %q", code, findings)
	}
	checkOneLine(t, stderr, "extbuilder lint: "+out+": no problems found; package ID "+id)
}
