// Command demo is `make demo`: for each sample it writes the operator's
// inputs (certificates generated on the spot), makes the package with
// `extbuilder package`, installs it with the built builders exactly as a
// peer would (test/peersim), and shows what the peer does afterwards: dial
// a chaincode server (service mode), or launch the chaincode through
// bin/run and stop it again (binary mode). It is not called by a peer, so
// it prints on stdout.
//
// To add a sample: put its inputs under inputs/<name>/ (connection.json
// with placeholders as in test/samples, couchdb/ laid out like
// META-INF/statedb/couchdb) and add an entry to demos.
package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/hex"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/extbuilder/extbuilder/internal/bindir"
	"github.com/extbuilder/extbuilder/internal/testpki"
	"github.com/extbuilder/extbuilder/test/peersim"
	"github.com/extbuilder/extbuilder/test/samples"
)

//go:embed all:inputs
var bundled embed.FS

// configVariable holds the values of connection.json templates.
const configVariable = "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG"

// demo is one sample: what the operator packs and the peer configuration
// it is installed with.
type demo struct {
	name  string // folder under inputs/
	title string
	typ   string // extbuilder package --type
	label string
	// chaincode is, for --type binary, the Go package built (CGO_ENABLED=0)
	// as the executable.
	chaincode string
	// env is what the peer has in its environment beyond PATH and TMPDIR;
	// the builder propagates every name in it (and configVariable, as the
	// README's core.yaml does). $WORK stands for the sample's work folder.
	env []string
}

var demos = []demo{
	{
		name:  "asset-transfer-mtls",
		title: "chaincode as a service with mutual TLS, address templated per peer",
		typ:   "ccaas",
		label: "asset-transfer-mtls_1.0",
		env:   []string{configVariable + `={"peername":"peer0org1"}`},
	},
	{
		name:  "fakecc",
		title: "prebuilt chaincode executable (run's test chaincode), started by the peer with bin/run",
		typ:   "binary",
		label: "fakecc_1.0",
		// The stand-in chaincode of run's tests: it reads its settings
		// as the Go shim does and dials the peer over TLS.
		chaincode: "github.com/extbuilder/extbuilder/cmd/run/testdata/fakecc",
		// Its own settings: block with no SIGTERM handler, as a Go
		// chaincode does by default. It records what it was given on
		// stderr: the sandbox lets it write nowhere else.
		env: []string{"FAKECC_MODE=wait"},
	},
}

func main() {
	bin := flag.String("bin", "bin", "folder holding the built detect, build, release and run")
	tools := flag.String("tools", "tools", "folder holding the built extbuilder")
	flag.Parse()
	if err := run(*bin, *tools, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(bin, tools string, out io.Writer) error {
	tool := filepath.Join(tools, "extbuilder")
	if _, err := os.Stat(tool); err != nil {
		return fmt.Errorf("%w (run `make build` first)", err)
	}
	work, err := os.MkdirTemp("", "extbuilder-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	builderDir, err := builderFolder(bin, work)
	if err != nil {
		return err
	}
	failed := 0
	for i, d := range demos {
		if i > 0 {
			fmt.Fprintln(out)
		}
		s, err := newSession(d, tool, builderDir, filepath.Join(work, d.name), out)
		if err == nil {
			err = s.show()
		}
		if err != nil {
			fmt.Fprintf(out, "FAILED: %v\n", err)
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d samples failed", failed, len(demos))
	}
	return nil
}

// builderFolder makes <work>/extbuilder/bin with links to the programs in
// bin, so the builder folder has the bin/ layout a peer expects whatever
// -bin is called.
func builderFolder(bin, work string) (string, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(work, "extbuilder")
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return "", err
	}
	for _, p := range bindir.Names {
		target := filepath.Join(abs, p)
		if _, err := os.Stat(target); err != nil {
			return "", fmt.Errorf("%w (run `make build` first)", err)
		}
		if err := os.Symlink(target, filepath.Join(dir, "bin", p)); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// session is one sample being shown.
type session struct {
	demo
	tool   string // extbuilder
	work   string // $WORK: the operator's inputs and the package file
	tmp    string // the peer's TMPDIR
	peerFS string // peer.fileSystemPath
	peer   *peersim.Peer
	pki    *samples.PKI
	redact *samples.Redactor
	out    io.Writer
}

func newSession(d demo, tool, builderDir, work string, out io.Writer) (*session, error) {
	s := &session{demo: d, tool: tool, work: work, out: out,
		tmp: filepath.Join(work, "tmp"), peerFS: filepath.Join(work, "peer"), pki: samples.NewPKI()}
	for _, dir := range []string{s.tmp, s.peerFS} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	s.env = make([]string, len(d.env))
	for i, kv := range d.env {
		s.env[i] = strings.ReplaceAll(kv, "$WORK", work)
	}
	propagate := []string{configVariable}
	for _, kv := range s.env {
		if name, _, _ := strings.Cut(kv, "="); name != configVariable {
			propagate = append(propagate, name)
		}
	}
	s.peer = &peersim.Peer{
		Builders:       []peersim.Builder{{Name: "extbuilder", Path: builderDir, PropagateEnvironment: propagate}},
		Env:            append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=" + s.tmp}, s.env...),
		FileSystemPath: s.peerFS,
	}
	s.redact = samples.NewRedactor(s.pki).Path(s.tmp, "$TMPDIR").Path(s.peerFS, "$PEER_FS").Path(work, "$WORK").Now(time.Now())
	if dir := filepath.Dir(tool); filepath.IsAbs(dir) {
		s.redact.Path(dir, "$TOOLS") // -tools given as an absolute path, as the test does
	}
	return s, nil
}

func (s *session) show() error {
	fmt.Fprintf(s.out, "=== %s: %s\n", s.name, s.title)
	fmt.Fprintln(s.out, "the operator packages it (on any machine, before install):")
	tgz, id, err := s.makePackage()
	if err != nil {
		return err
	}
	pkg, err := peersim.ParsePackage(tgz)
	if err != nil {
		return fmt.Errorf("the peer would refuse the package: %v", err)
	}
	sum := sha256.Sum256(tgz)
	if want := s.label + ":" + hex.EncodeToString(sum[:]); id != want || pkg.ID != want {
		return fmt.Errorf("extbuilder package printed %s; the peer computes %s from the file", id, pkg.ID)
	}
	fmt.Fprintf(s.out, "  checked: that is %s:sha256 of the %s file, the ID the peer will give it\n", s.label, byteCount(len(tgz)))
	fmt.Fprintf(s.out, "peer env  %s\n          (propagateEnvironment: %s)\n\n",
		s.redact.RedactString(strings.Join(s.env, " ")), strings.Join(s.peer.Builders[0].PropagateEnvironment, ", "))

	fmt.Fprintln(s.out, "peer lifecycle chaincode install, as the peer runs it:")
	res, installErr := s.peer.Install(pkg)
	for _, st := range res.Steps {
		fmt.Fprintf(s.out, "  bin/%-7s exit %d\n", st.Program, st.ExitCode)
		for _, line := range st.Stderr {
			fmt.Fprintf(s.out, "      %s\n", s.redact.RedactString(line))
		}
	}
	if installErr != nil {
		return fmt.Errorf("install: %s", s.redact.RedactString(installErr.Error()))
	}
	if !res.Claimed() {
		return fmt.Errorf("no builder claimed the package; a peer would try its Docker build")
	}
	fmt.Fprintf(s.out, "  build cache $CACHE = %s\n", s.redact.RedactString(res.CacheDir))
	s.redact.Path(res.CacheDir, "$CACHE")

	files, err := peersim.Snapshot(res.CachedRelease)
	if err != nil {
		return err
	}
	var tree []string
	for _, f := range files {
		if !f.Mode.IsDir() {
			tree = append(tree, fmt.Sprintf("%s %s", f.Mode, f.Path))
		}
	}
	fmt.Fprintf(s.out, "  release folder, what the peer reads at every launch:\n    %s\n", strings.Join(tree, "\n    "))
	indexes, err := peersim.CouchDBIndexes(res.CachedRelease)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "  CouchDB indexes deployed on chaincode definition: %s\n", indexList(indexes))

	info, err := peersim.ReadConnection(res.CachedRelease)
	if err != nil {
		return fmt.Errorf("the peer would refuse %s: %v", peersim.ConnectionPath, err)
	}
	if info == nil {
		fmt.Fprintf(s.out, "\nno %s, so the peer starts the chaincode itself, with bin/run:\n", peersim.ConnectionPath)
		return s.launch(res)
	}
	data, err := os.ReadFile(filepath.Join(res.CachedRelease, peersim.ConnectionPath))
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "\n%s (PEM bodies redacted):\n%s\n", peersim.ConnectionPath, indent(s.redact.RedactString(string(data))))
	fmt.Fprintln(s.out, "\nwhat the peer will do:")
	return describeService(info, s.pki, s.out)
}

// makePackage writes the operator's inputs into $WORK, builds the
// executable of a binary sample, and runs `extbuilder package` on them.
// It returns the package file's bytes and the ID the command printed.
func (s *session) makePackage() ([]byte, string, error) {
	if err := s.writeInputs(); err != nil {
		return nil, "", err
	}
	args := []string{"package", "--type", s.typ, "--label", s.label}
	if _, err := os.Stat(filepath.Join(s.work, "connection.json")); err == nil {
		args = append(args, "--connection", filepath.Join(s.work, "connection.json"))
	}
	if _, err := os.Stat(filepath.Join(s.work, "couchdb")); err == nil {
		args = append(args, "--indexes", filepath.Join(s.work, "couchdb"))
	}
	if s.chaincode != "" {
		exe := filepath.Join(s.work, path.Base(s.chaincode))
		build := exec.Command("go", "build", "-trimpath", "-o", exe, s.chaincode)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		fmt.Fprintf(s.out, "  $ %s\n", s.redact.RedactString(shellLine(append([]string{"CGO_ENABLED=0"}, build.Args...))))
		if out, err := build.CombinedOutput(); err != nil {
			return nil, "", fmt.Errorf("go build %s: %v\n%s", s.chaincode, err, out)
		}
		args = append(args, "--executable", exe)
	}
	file := filepath.Join(s.work, s.label+".tgz")
	args = append(args, "-o", file)

	cmd := exec.Command(s.tool, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	fmt.Fprintf(s.out, "  $ %s\n", s.redact.RedactString(shellLine(cmd.Args)))
	err := cmd.Run()
	for _, line := range lines(stderr.String()) {
		fmt.Fprintf(s.out, "  %s\n", s.redact.RedactString(line))
	}
	if err != nil {
		return nil, "", fmt.Errorf("extbuilder package: %v", err)
	}
	id := strings.TrimSpace(stdout.String())
	fmt.Fprintf(s.out, "  %s\n", id)
	tgz, err := os.ReadFile(file)
	return tgz, id, err
}

// writeInputs copies inputs/<name>/ into $WORK with the placeholders
// filled in; a file holding a private key is written 0600.
func (s *session) writeInputs() error {
	tree, err := fs.Sub(bundled, "inputs/"+s.name)
	if err != nil {
		return err
	}
	return fs.WalkDir(tree, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := filepath.Join(s.work, filepath.FromSlash(name))
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := fs.ReadFile(tree, name)
		if err != nil {
			return err
		}
		if data, err = samples.Fill(name, data, s.pki.Values()); err != nil {
			return fmt.Errorf("inputs/%s/%s: %w", s.name, name, err)
		}
		mode := os.FileMode(0o644)
		if bytes.Contains(data, []byte("PRIVATE KEY")) {
			mode = 0o600
		}
		return os.WriteFile(target, data, mode)
	})
}

func describeService(info *peersim.ServerInfo, pki *samples.PKI, out io.Writer) error {
	fmt.Fprintf(out, "  dial %s, giving up after %s\n", info.Address, info.DialTimeout)
	if !info.TLS {
		fmt.Fprintln(out, "  without TLS")
		return nil
	}
	root, _ := parseCert(info.RootCert)
	fmt.Fprintf(out, "  TLS: accept a server certificate issued by %q and naming %q\n", root, info.ServerName())
	if info.ServerNameV2() != info.ServerName() {
		fmt.Fprintf(out, "       (a v2.x peer ignores domain and checks %q)\n", info.ServerNameV2())
	}
	if info.ClientAuth {
		subject, notAfter := parseCert(info.ClientCert)
		fmt.Fprintf(out, "  present the client certificate %q (valid until %s) with client_key\n", subject, notAfter)
	}
	client, err := info.ClientTLSConfig()
	if err != nil {
		return fmt.Errorf("the peer could not set up TLS: %v", err)
	}
	var clientCA *testpki.CA
	if info.ClientAuth {
		clientCA = pki.ClientCA
	}
	server := pki.ServerCA.Server(info.ServerName()).ServerTLS(clientCA)
	if err := peersim.Handshake(client, server); err != nil {
		return fmt.Errorf("TLS handshake with a stand-in chaincode server failed: %v", err)
	}
	fmt.Fprintln(out, "  checked: a TLS handshake with a stand-in chaincode server on 127.0.0.1, using only")
	fmt.Fprintln(out, "  connection.json on the peer side, succeeds")
	return nil
}

// parseCert names the first certificate of a PEM text, or says why not.
func parseCert(pemText []byte) (subject, notAfter string) {
	for rest := pemText; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return "unparsable certificate", "?"
		}
		if c, err := x509.ParseCertificate(block.Bytes); err == nil {
			return c.Subject.CommonName, c.NotAfter.UTC().Format("2006-01-02")
		}
	}
}

func indexList(indexes map[string]map[string][]byte) string {
	var names []string
	for coll, files := range indexes {
		for name := range files {
			if coll == "" {
				names = append(names, "statedb/couchdb/indexes/"+name)
			} else {
				names = append(names, "statedb/couchdb/collections/"+coll+"/indexes/"+name)
			}
		}
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// shellLine shows a command as one would type it, continued on a new line
// before a flag once a line grows long.
func shellLine(args []string) string {
	const width = 88
	var b strings.Builder
	lineStart := 0
	for i, a := range args {
		if i > 0 {
			if strings.HasPrefix(a, "-") && b.Len()-lineStart+1+len(a) > width {
				b.WriteString(" \\\n      ")
				lineStart = b.Len() - 6
			} else {
				b.WriteByte(' ')
			}
		}
		if strings.ContainsAny(a, " \"'{}$") {
			a = "'" + a + "'"
		}
		b.WriteString(a)
	}
	return b.String()
}

func byteCount(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d-byte", n)
}

func lines(s string) []string {
	if s = strings.TrimRight(s, "\n"); s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ")
}
