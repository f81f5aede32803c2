//go:build unix

package test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/extbuilder/extbuilder/internal/testpki"
	"github.com/extbuilder/extbuilder/test/golden"
	"github.com/extbuilder/extbuilder/test/peersim"
	"github.com/extbuilder/extbuilder/test/samples"
)

// configVariable is how Fabric's ccaas_builder (and extbuilder) get the
// values of connection.json templates.
const configVariable = "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG"

// installCase is one sample package under testdata/packages/<name>, with
// what the peer would do once it is installed.
type installCase struct {
	name string
	// propagate is the builder's propagateEnvironment; nil means the
	// documented setting, [CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG].
	propagate []string
	config    string // CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG in the peer's environment; "" = unset
	// forceBuild runs build even when detect declines (a peer would not),
	// to show that build refuses the package by itself too.
	forceBuild bool

	// failing is the program that must fail ("detect" or "build"), or ""
	// when the install must succeed with want.
	failing string
	want    peerView
	// peerReadsSource says the peer itself could use the package's
	// connection.json as written: the released one must then give the peer
	// the same effective values.
	peerReadsSource bool
}

// peerView is what a peer must make of the released connection.json,
// written from the sample's source, not from the builders' output.
type peerView struct {
	address      string
	dialTimeout  time.Duration
	tls          bool
	clientAuth   bool
	serverName   string // the TLS name the chaincode server's certificate carries
	serverNameV2 string // the name a v2.x peer checks instead, when it differs
	indexes      int    // CouchDB index files the peer must find in release/
}

var installCases = []installCase{
	{name: "docs-example", want: peerView{address: "your.chaincode.host.com:9999", dialTimeout: 10 * time.Second,
		tls: true, clientAuth: true, serverName: "your.chaincode.host.com"}},
	{name: "ccaas-plain", want: peerView{address: "asset-transfer-basic.org1.example.com:9999", dialTimeout: 10 * time.Second}},
	{name: "templated-address", config: `{"peername":"peer0org1"}`,
		want: peerView{address: "peer0org1-cc:9999", dialTimeout: 10 * time.Second}},
	{name: "tls-file-refs", want: peerView{address: "localhost:7052", dialTimeout: peersim.DefaultDialTimeout,
		tls: true, clientAuth: true, serverName: "localhost"}},
	{name: "tls-server-auth-only", want: peerView{address: "localhost:9443", dialTimeout: 5 * time.Second,
		tls: true, serverName: "localhost"}},
	{name: "domain-kept", want: peerView{address: "127.0.0.1:9443", dialTimeout: 5 * time.Second,
		tls: true, clientAuth: true, serverName: "cc.org1.example.com", serverNameV2: "127.0.0.1"}},
	{name: "domain-without-client-auth", want: peerView{address: "localhost:9443", dialTimeout: 5 * time.Second,
		tls: true, serverName: "localhost"}},
	{name: "couchdb-meta-inf", want: peerView{address: "asset-transfer-ledger-queries:9999", dialTimeout: 10 * time.Second, indexes: 2}},
	{name: "couchdb-docs-layout", want: peerView{address: "marbles-cc:9999", dialTimeout: 10 * time.Second, indexes: 2}},
	// Subfolders of indexes/ and a definition without .json: the peer
	// deploys them (getIndexInfo, core/ledger/kvledger/txmgmt/privacyenabledstate).
	{name: "couchdb-subfolders", want: peerView{address: "asset-cc:9999", dialTimeout: 10 * time.Second, indexes: 4}},

	// The peer decodes connection.json with encoding/json into
	// externalbuilder.ChaincodeServerUserData: field names match ignoring
	// case, null leaves a field absent, and ChaincodeServerInfo turns a zero
	// dial_timeout into 3s. Accepted, written canonically, with warnings.
	{name: "field-names-any-case", peerReadsSource: true, want: peerView{address: "localhost:9443", dialTimeout: peersim.DefaultDialTimeout,
		tls: true, serverName: "localhost"}},

	// The peer (persistence.ChaincodePackageParser) and ccaas_builder's
	// detect read metadata.json with encoding/json: "Type" is type.
	{name: "metadata-type-any-case", want: peerView{address: "asset-cc:9999", dialTimeout: 10 * time.Second}},

	// What the peer's certificate pool (x509.CertPool.AppendCertsFromPEM in
	// comm.SecureOptions.TLSConfig) and key pair loading (tls.X509KeyPair in
	// comm.SecureOptions.ClientCertificate) skip: a block with PEM headers,
	// text outside blocks, openssl's EC PARAMETERS. Left out, with warnings.
	{name: "pem-the-peer-skips", want: peerView{address: "localhost:7052", dialTimeout: 5 * time.Second,
		tls: true, clientAuth: true, serverName: "localhost"}},

	// comm.ClientConfig.Dial hands the address to grpc.DialContext: a
	// dns:/// target goes to gRPC's DNS resolver (the TLS name is its host),
	// passthrough:/// is what DialContext does with host:port anyway, and
	// Go's dialer resolves a port name.
	{name: "address-dns-scheme", want: peerView{address: "dns:///localhost:9443", dialTimeout: 5 * time.Second,
		tls: true, serverName: "localhost"}},
	{name: "address-port-name", want: peerView{address: "asset-cc.org1.example.com:443", dialTimeout: 5 * time.Second}},

	{name: "missing-connection-json", failing: "build"},
	// gRPC's unix resolver would dial a socket on the peer's own host.
	{name: "address-unix-socket", failing: "build"},
	// The only root certificate has PEM headers: the pool skips it and the
	// peer fails "error adding root certificate".
	{name: "root-cert-headers-only", failing: "build"},
	// Two spellings of type: the peer would read the last ("golang").
	{name: "metadata-type-twice", failing: "detect", forceBuild: true},
	// Two spellings of tls_required: the peer would keep the last (false).
	{name: "field-given-twice", failing: "build"},
	// externalbuilder.Duration.UnmarshalJSON fails on null: "invalid duration".
	{name: "null-dial-timeout", failing: "build"},
	{name: "malformed-json", failing: "build"},
	{name: "address-without-port", failing: "build"},
	{name: "unparsable-root-cert", failing: "build"},
	{name: "key-cert-mismatch", failing: "build"},
	{name: "expired-client-cert", failing: "build"},
	{name: "unknown-field", failing: "build"},
	{name: "numeric-dial-timeout", failing: "build"},
	{name: "missing-template-key", config: `{"org":"org1"}`, failing: "build"},
	{name: "malformed-template-config", config: `{"peername": "peer0org1"`, failing: "build"},
	{name: "template-config-not-propagated", config: `{"peername":"peer0org1"}`, propagate: []string{}, failing: "build"},
	{name: "invalid-index-json", failing: "build"},
	{name: "oversized-connection-json", failing: "build"},
	{name: "type-not-ours", failing: "detect", forceBuild: true},
}

// TestEveryPackageHasACase keeps the table and testdata/packages in step.
func TestEveryPackageHasACase(t *testing.T) {
	dirs, err := os.ReadDir("testdata/packages")
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, c := range installCases {
		known[c.name] = true
	}
	for _, d := range dirs {
		if !known[d.Name()] {
			t.Errorf("testdata/packages/%s has no entry in installCases", d.Name())
		}
		delete(known, d.Name())
	}
	for name := range known {
		t.Errorf("installCases has %s, which testdata/packages lacks", name)
	}
}

// installed is one case after its install.
type installed struct {
	peer   *peersim.Peer
	pkg    *peersim.Package
	pki    *samples.PKI
	res    *peersim.Result
	err    error
	redact *samples.Redactor
	env    []string // the peer's environment
}

// install packs the case's tree with fresh certificates and installs it
// with the built builders, as a peer with the case's configuration would.
func install(t *testing.T, c installCase) *installed {
	t.Helper()
	pki := samples.NewPKI()
	pkg, err := samples.Pack(os.DirFS(filepath.Join("testdata", "packages", c.name)), pki.Values())
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	tmp, peerFS := filepath.Join(root, "tmp"), filepath.Join(root, "peer")
	for _, d := range []string{tmp, peerFS} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"TMPDIR=" + tmp,
		"HOME=/root",                              // not propagated
		"FABRIC_CFG_PATH=/etc/hyperledger/fabric", // not propagated
		"CORE_PEER_ID=peer0.org1.example.com",     // not propagated
	}
	if c.config != "" {
		env = append(env, configVariable+"="+c.config)
	}
	propagate := c.propagate
	if propagate == nil {
		propagate = []string{configVariable}
	}
	peer := &peersim.Peer{
		Builders:       []peersim.Builder{{Name: "extbuilder", Path: builderDir, PropagateEnvironment: propagate}},
		Env:            env,
		FileSystemPath: peerFS,
		KeepScratch:    true, // under t.TempDir, removed with it
		ForceBuild:     c.forceBuild,
	}
	res, err := peer.Install(pkg)
	if res.ScratchDir == "" {
		t.Fatalf("install did not get as far as the builders: %v", err)
	}
	hash := strings.TrimPrefix(pkg.ID, pkg.Label+":")
	redact := samples.NewRedactor(pki).
		Path(res.ScratchDir, "$SCRATCH").
		Path(peerFS, "$PEER_FS").
		Path(tmp, "$TMPDIR").
		Path(hash, "<sha256>").
		Now(time.Now())
	return &installed{pkg: pkg, pki: pki, res: res, err: err, redact: redact, env: env}
}

func TestInstall(t *testing.T) {
	for _, c := range installCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := install(t, c)
			checkSteps(t, c, in)
			checkGolden(t, c.name, describeInstall(t, c, in))
			if c.failing != "" {
				return
			}
			info := checkPeerView(t, c, in)
			if c.peerReadsSource {
				checkSameAsSource(t, in, info)
			}
			checkIndexes(t, c, in)
			if c.want.tls {
				checkTLSRoundTrip(t, c, in, info)
			}
		})
	}
}

// checkSteps asserts what must hold whatever the goldens say: which
// programs ran and how they ended, one error line on failure, nothing on
// stdout, no key material in any message, and no output left by a failure.
func checkSteps(t *testing.T, c installCase, in *installed) {
	t.Helper()
	res := in.res
	var ran []string
	for _, st := range res.Steps {
		ran = append(ran, fmt.Sprintf("%s=%d", st.Program, st.ExitCode))
		if len(st.Stdout) > 0 {
			t.Errorf("%s wrote %d bytes to stdout, which the peer throws away", st.Program, len(st.Stdout))
		}
		if st.StderrOverflow {
			t.Errorf("%s wrote a stderr line over 64 KiB; the peer stops reading there", st.Program)
		}
		for _, line := range st.Stderr {
			if !strings.HasPrefix(line, st.Program+": ") {
				t.Errorf("%s stderr line without the program name: %q", st.Program, line)
			}
			if leak := keyMaterialIn(line, in.pki); leak != "" {
				t.Errorf("%s stderr line holds %s", st.Program, leak)
			}
		}
		if st.ExitCode != 0 {
			var errorsPrinted int
			for _, line := range st.Stderr {
				if !strings.HasPrefix(line, st.Program+": warning: ") {
					errorsPrinted++
				}
			}
			if errorsPrinted != 1 {
				t.Errorf("%s failed with %d error lines, want exactly one: %q", st.Program, errorsPrinted, st.Stderr)
			}
		}
	}
	var want []string
	switch c.failing {
	case "":
		want = []string{"detect=0", "build=0", "release=0"}
	case "detect":
		want = []string{"detect=1", "build=1"}
	case "build":
		want = []string{"detect=0", "build=1"}
	}
	if !reflect.DeepEqual(ran, want) {
		t.Errorf("programs run with exit codes %v, want %v", ran, want)
	}
	switch {
	case c.failing == "" && in.err != nil:
		t.Errorf("install failed: %v", in.err)
	case c.failing == "" && res.CachedRelease == "":
		t.Error("nothing was stored in the build cache")
	case c.failing == "build" && in.err == nil:
		t.Error("install succeeded, want a failed build")
	case c.failing == "detect" && res.Claimed():
		t.Errorf("builder %q claimed a package of another type", res.Builder)
	}
	if c.failing != "" {
		for _, f := range []string{filepath.Join(res.BldDir, "connection.json"), filepath.Join(res.ReleaseDir, peersim.ConnectionPath)} {
			if _, err := os.Lstat(f); err == nil {
				t.Errorf("a failed install left %s behind", in.redact.RedactString(f))
			}
		}
	}
}

// keyMaterialIn names the secret a message leaks, if any: a PEM block, or
// a piece of a private key's base64 body that covers the secret scalar
// (the first 48 characters are the same for every P-256 PKCS#8 key).
func keyMaterialIn(s string, pki *samples.PKI) string {
	if golden.PEMHeader.MatchString(s) {
		return "a PEM block"
	}
	for name, v := range pki.Values() {
		if !strings.HasSuffix(name, "_key") {
			continue
		}
		lines := strings.Split(strings.TrimSpace(v), "\n")
		body := strings.Join(lines[1:len(lines)-1], "")
		if strings.Contains(s, body[48:88]) {
			return "the private key " + name
		}
	}
	return ""
}

// describeInstall renders a case for its golden file.
func describeInstall(t *testing.T, c installCase, in *installed) string {
	t.Helper()
	var b strings.Builder
	r := in.redact.RedactString
	fmt.Fprintf(&b, "# %s: testdata/packages/%s installed by peersim as a peer would.\n", c.name, c.name)
	fmt.Fprintf(&b, "# Regenerate with `go test ./test -update`; certificates and keys are generated per run\n")
	fmt.Fprintf(&b, "# and shown as <CERTIFICATE name> or <KEY name>, temporary paths as $SCRATCH, $TMPDIR, $PEER_FS.\n\n")
	fmt.Fprintf(&b, "package ID: %s (type %q)\n", r(in.pkg.ID), in.pkg.Type)
	if len(in.res.Steps) > 0 {
		fmt.Fprintf(&b, "environment: %s\n", r(strings.Join(in.res.Steps[0].Env, " ")))
	}
	if c.forceBuild {
		b.WriteString("(build is run although detect declined, which a peer never does)\n")
	}
	b.WriteString("\n")
	for _, st := range in.res.Steps {
		fmt.Fprintf(&b, "%s %s: exit %d\n", st.Program, r(strings.Join(st.Args, " ")), st.ExitCode)
		for _, line := range st.Stderr {
			fmt.Fprintf(&b, "    %s\n", r(line))
		}
	}
	switch {
	case in.err != nil:
		fmt.Fprintf(&b, "install: failed: %s\n", r(in.err.Error()))
	case !in.res.Claimed():
		b.WriteString("install: no external builder claimed the package (the peer would try its Docker build)\n")
	default:
		fmt.Fprintf(&b, "install: ok, build cache %s\n", r(in.res.CacheDir))
	}
	bld, release, where := in.res.CachedBld, in.res.CachedRelease, "build cache"
	if bld == "" {
		bld, release, where = in.res.BldDir, in.res.ReleaseDir, "left in the peer's temporary folder"
	}
	for _, tree := range []struct{ name, dir string }{{"bld", bld}, {"release", release}} {
		files, err := peersim.Snapshot(tree.dir)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "\n== %s/ (%s)\n", tree.name, where)
		b.WriteString(peersim.FormatTree(files, in.redact.Redact))
	}
	return b.String()
}

// checkPeerView decodes the released connection.json with the peer's rules
// and compares what the peer would do with what the sample asked for.
func checkPeerView(t *testing.T, c installCase, in *installed) *peersim.ServerInfo {
	t.Helper()
	info, err := peersim.ReadConnection(in.res.CachedRelease)
	if err != nil {
		t.Fatalf("the peer would fail to launch the chaincode: %v", err)
	}
	if info == nil {
		t.Fatalf("release has no %s: the peer would call bin/run instead of dialling", peersim.ConnectionPath)
	}
	w := c.want
	if info.Address != w.address || info.DialTimeout != w.dialTimeout || info.TLS != w.tls || info.ClientAuth != w.clientAuth {
		t.Errorf("peer would dial %s within %s, tls=%v client auth=%v; want %s within %s, tls=%v client auth=%v",
			info.Address, info.DialTimeout, info.TLS, info.ClientAuth, w.address, w.dialTimeout, w.tls, w.clientAuth)
	}
	if !w.tls {
		return info
	}
	if got := info.ServerName(); got != w.serverName {
		t.Errorf("a v3 peer would check the server name %q, want %q", got, w.serverName)
	}
	if bytesOf(info.RootCert) != in.pki.ServerCA.CertPEM {
		t.Error("root_cert is not the CA certificate of the chaincode server's TLS certificate")
	}
	if w.clientAuth && (bytesOf(info.ClientCert) != in.pki.Client.CertPEM || bytesOf(info.ClientKey) != in.pki.Client.KeyPEM) {
		t.Error("client_cert and client_key are not the sample's client pair")
	}
	return info
}

func bytesOf(b []byte) string { return string(b) }

// checkSameAsSource decodes the package's own connection.json as the peer
// would and compares it with what the peer makes of the released one.
func checkSameAsSource(t *testing.T, in *installed, released *peersim.ServerInfo) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(in.res.SourceDir, "connection.json"))
	if err != nil {
		t.Fatal(err)
	}
	source, err := peersim.DecodeConnection(data)
	if err != nil {
		t.Fatalf("the peer cannot use the source connection.json: %v", err)
	}
	if !reflect.DeepEqual(source, released) {
		t.Errorf("the peer would make %+v of the source connection.json, %+v of the released one", source, released)
	}
}

// checkTLSRoundTrip stands up the chaincode server's side of TLS on
// 127.0.0.1 and dials it with only what the released connection.json says.
func checkTLSRoundTrip(t *testing.T, c installCase, in *installed, info *peersim.ServerInfo) {
	t.Helper()
	server := serverTLS(in.pki, c.want.serverName, c.want.clientAuth)
	client, err := info.ClientTLSConfig()
	if err != nil {
		t.Fatalf("the peer could not build its TLS client: %v", err)
	}
	if err := peersim.Handshake(client, server); err != nil {
		t.Errorf("handshake with the chaincode server failed: %v", err)
	}

	wrongRoot := client.Clone()
	wrongRoot.RootCAs = x509.NewCertPool()
	wrongRoot.RootCAs.AddCert(testpki.NewCA("some other CA").Cert)
	if err := peersim.Handshake(wrongRoot, server); err == nil {
		t.Error("handshake succeeded with a root_cert that did not sign the server certificate")
	}

	if c.want.clientAuth {
		anonymous := client.Clone()
		anonymous.Certificates = nil
		if err := peersim.Handshake(anonymous, server); err == nil {
			t.Error("the server accepted a client without certificate: the successful handshake proved nothing about client_cert")
		}
	}
	if c.want.serverNameV2 != "" {
		v2 := client.Clone()
		v2.ServerName = info.ServerNameV2()
		if v2.ServerName != c.want.serverNameV2 {
			t.Errorf("a v2 peer would check %q, want %q", v2.ServerName, c.want.serverNameV2)
		}
		if err := peersim.Handshake(v2, server); err == nil {
			t.Error("a v2 peer (which ignores domain) would have accepted the server certificate too; the case does not show that domain matters")
		}
	}
}

// serverTLS is the chaincode server's TLS configuration: a certificate
// issued by root_cert's CA for name, and client certificates from the
// peer's client CA required when clientAuth is set.
func serverTLS(pki *samples.PKI, name string, clientAuth bool) *tls.Config {
	var clientCA *testpki.CA
	if clientAuth {
		clientCA = pki.ClientCA
	}
	return pki.ServerCA.Server(name).ServerTLS(clientCA)
}

// checkIndexes compares the CouchDB indexes the peer would deploy from the
// release folder with those the package source holds (in META-INF/ or in
// the docs' metadata/ layout).
func checkIndexes(t *testing.T, c installCase, in *installed) {
	t.Helper()
	got, err := peersim.CouchDBIndexes(in.res.CachedRelease)
	if err != nil {
		t.Fatal(err)
	}
	want, err := sourceIndexes(filepath.Join("testdata", "packages", c.name, "src"))
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, files := range want {
		count += len(files)
	}
	if count != c.want.indexes {
		t.Fatalf("the sample holds %d index files, the case expects %d", count, c.want.indexes)
	}
	if names(got) != names(want) {
		t.Errorf("the peer would deploy the indexes %s, the package has %s", names(got), names(want))
	}
	for coll, files := range want {
		for name, data := range files {
			if !sameJSON(got[coll][name], data) {
				t.Errorf("index %s/%s: released contents differ from the package's", coll, name)
			}
		}
	}
}

// sourceIndexes lists the index definitions of a package source by
// collection, from both layouts, as the peer would select them from
// META-INF/ (see peersim.CouchDBIndexes): any file below an indexes/ folder,
// subfolders included, that holds a JSON object (anything else the peer
// would pass to CouchDB, which refuses it).
func sourceIndexes(src string) (map[string]map[string][]byte, error) {
	out := map[string]map[string][]byte{}
	for _, base := range []string{"META-INF/statedb/couchdb", "metadata/statedb/couchdb"} {
		root := filepath.Join(src, filepath.FromSlash(base))
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if os.IsNotExist(err) {
				return filepath.SkipDir
			}
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			parts := strings.Split(filepath.ToSlash(rel), "/")
			coll, name := "", ""
			switch {
			case len(parts) >= 2 && parts[0] == "indexes":
				name = path.Join(parts[1:]...)
			case len(parts) >= 4 && parts[0] == "collections" && parts[2] == "indexes":
				coll, name = parts[1], path.Join(parts[3:]...)
			default:
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			var def map[string]any
			if json.Unmarshal(data, &def) != nil {
				return nil
			}
			if out[coll] == nil {
				out[coll] = map[string][]byte{}
			}
			out[coll][name] = data
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func names(m map[string]map[string][]byte) string {
	var all []string
	for coll, files := range m {
		for name := range files {
			if coll == "" {
				all = append(all, path.Join("indexes", name))
			} else {
				all = append(all, path.Join("collections", coll, "indexes", name))
			}
		}
	}
	sort.Strings(all)
	return strings.Join(all, " ")
}

func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}
