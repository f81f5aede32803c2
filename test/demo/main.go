// Command demo is `make demo`: it packs the bundled sample packages (with
// certificates generated on the spot), installs each with the built
// builders exactly as a peer would (test/peersim), and prints what the peer
// will read afterwards and what it will do with it. It is not called by a
// peer, so it prints on stdout.
//
// To add a sample: put metadata.json and src/ under packages/<name>/
// (placeholders as in test/samples) and add an entry to demos.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"embed"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/extbuilder/extbuilder/test/peersim"
	"github.com/extbuilder/extbuilder/test/samples"
)

//go:embed all:packages
var bundled embed.FS

// configVariable holds the values of connection.json templates.
const configVariable = "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG"

// demo is one bundled sample package and the peer configuration it is
// installed with.
type demo struct {
	dir   string // under packages/
	title string
	// env is what the peer has in its environment beyond PATH and TMPDIR;
	// the builder propagates configVariable, as the README's core.yaml does.
	env []string
}

var demos = []demo{
	{
		dir:   "asset-transfer-mtls",
		title: "chaincode as a service with mutual TLS, address templated per peer",
		env:   []string{configVariable + `={"peername":"peer0org1"}`},
	},
}

func main() {
	bin := flag.String("bin", "bin", "folder holding the built detect, build and release")
	flag.Parse()
	if err := run(*bin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(bin string, out io.Writer) error {
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
		if err := install(d, builderDir, filepath.Join(work, d.dir), out); err != nil {
			fmt.Fprintf(out, "FAILED: %v\n", err)
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d sample packages failed", failed, len(demos))
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
	for _, p := range []string{"detect", "build", "release", "run"} {
		target := filepath.Join(abs, p)
		if _, err := os.Stat(target); err != nil {
			if p == "detect" || p == "build" {
				return "", fmt.Errorf("%s: %w (run `make build` first)", target, err)
			}
			continue // release and run are optional to a peer
		}
		if err := os.Symlink(target, filepath.Join(dir, "bin", p)); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func install(d demo, builderDir, work string, out io.Writer) error {
	tree, err := fs.Sub(bundled, "packages/"+d.dir)
	if err != nil {
		return err
	}
	pki := samples.NewPKI()
	pkg, err := samples.Pack(tree, pki.Values())
	if err != nil {
		return err
	}
	tmp, peerFS := filepath.Join(work, "tmp"), filepath.Join(work, "peer")
	for _, dir := range []string{tmp, peerFS} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	peer := &peersim.Peer{
		Builders:       []peersim.Builder{{Name: "extbuilder", Path: builderDir, PropagateEnvironment: []string{configVariable}}},
		Env:            append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=" + tmp}, d.env...),
		FileSystemPath: peerFS,
	}
	redact := samples.NewRedactor(pki).Path(tmp, "$TMPDIR").Path(peerFS, "$PEER_FS").Now(time.Now())

	fmt.Fprintf(out, "=== %s: %s\n", d.dir, d.title)
	fmt.Fprintf(out, "package file  %s.tgz, %d bytes (metadata.json type %q, code.tar.gz)\n", pkg.Label, len(pkg.Tgz), pkg.Type)
	fmt.Fprintf(out, "package ID    %s\n", pkg.ID)
	fmt.Fprintf(out, "peer env      %s (propagateEnvironment: %s)\n\n", strings.Join(d.env, " "), configVariable)

	fmt.Fprintln(out, "peer lifecycle chaincode install, as the peer runs it:")
	res, installErr := peer.Install(pkg)
	for _, st := range res.Steps {
		fmt.Fprintf(out, "  bin/%-7s exit %d\n", st.Program, st.ExitCode)
		for _, line := range st.Stderr {
			fmt.Fprintf(out, "      %s\n", redact.RedactString(line))
		}
	}
	if installErr != nil {
		return fmt.Errorf("install: %s", redact.RedactString(installErr.Error()))
	}
	if !res.Claimed() {
		return fmt.Errorf("no builder claimed the package; a peer would try its Docker build")
	}
	fmt.Fprintf(out, "  build cache %s\n\n", redact.RedactString(res.CacheDir))

	files, err := peersim.Snapshot(res.CachedRelease)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "release folder (what the peer reads at every launch):")
	for _, f := range files {
		fmt.Fprintf(out, "  %s %s\n", f.Mode, f.Path)
	}
	return describeLaunch(res, pki, redact, out)
}

// describeLaunch says what the peer will do with the release folder.
func describeLaunch(res *peersim.Result, pki *samples.PKI, redact *samples.Redactor, out io.Writer) error {
	indexes, err := peersim.CouchDBIndexes(res.CachedRelease)
	if err != nil {
		return err
	}
	info, err := peersim.ReadConnection(res.CachedRelease)
	if err != nil {
		return fmt.Errorf("the peer would refuse %s: %v", peersim.ConnectionPath, err)
	}
	if info == nil {
		fmt.Fprintf(out, "\nno %s: the peer will start the chaincode itself with bin/run BUILD_OUTPUT_DIR RUN_METADATA_DIR\n", peersim.ConnectionPath)
	} else {
		data, err := os.ReadFile(filepath.Join(res.CachedRelease, peersim.ConnectionPath))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "\n%s (PEM bodies redacted):\n%s\n", peersim.ConnectionPath, indent(redact.RedactString(string(data))))
		fmt.Fprintln(out, "\nwhat the peer will do:")
		if err := describeService(info, pki, out); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "  CouchDB indexes deployed on chaincode definition: %s\n", indexList(indexes))
	return nil
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
	pair := pki.ServerCA.Server(info.ServerName())
	server := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{pair.Cert.Raw}, PrivateKey: pair.Key}},
		MinVersion:   tls.VersionTLS12,
	}
	if info.ClientAuth {
		server.ClientAuth = tls.RequireAndVerifyClientCert
		server.ClientCAs = x509.NewCertPool()
		server.ClientCAs.AddCert(pki.ClientCA.Cert)
	}
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

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ")
}
