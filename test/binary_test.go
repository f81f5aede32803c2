//go:build linux

package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/extbuilder/extbuilder/internal/bindir"
	"github.com/extbuilder/extbuilder/internal/testpki"
	"github.com/extbuilder/extbuilder/test/peersim"
	"github.com/extbuilder/extbuilder/test/samples"
)

// Binary packages: installed by peersim like the service-mode samples (same
// goldens, same step checks), then launched from the build cache through
// bin/run the way the peer launches a chaincode that has no connection.json.

// binaryCase is a package built in the test, since a binary package holds
// an executable: the golden ones hold scripts and hand-made ELF headers,
// whose bytes do not change with the Go version.
type binaryCase struct {
	name     string
	metadata string
	code     []peersim.Entry
	failing  string // "" or "build"
	skip     string // why the case cannot run on this machine, if it cannot
}

const startScript = "#!/bin/sh\n# a wrapper starts the real program with exec, so that it gets run's signals\nexec ./bin/server \"$@\"\n"

const index = `{"index":{"fields":["docType","owner"]},"ddoc":"indexOwnerDoc","name":"indexOwner","type":"json"}`

// foreignArch is an architecture the goldens can name whatever the host.
const foreignArch = "riscv64"

// elfHeader is the 64-byte header of a little-endian 64-bit ELF executable
// for the given e_machine: all that build's architecture check reads.
func elfHeader(machine uint16) []byte {
	h := make([]byte, 64)
	copy(h, "\x7fELF\x02\x01\x01") // 64-bit, little-endian, version 1, OS/ABI 0
	h[16] = 2                      // ET_EXEC
	h[18], h[19] = byte(machine), byte(machine>>8)
	return h
}

func binaryCases() []binaryCase {
	const emRISCV = 243
	skipForeign := ""
	if runtime.GOARCH == foreignArch {
		skipForeign = "the host is " + foreignArch
	}
	return []binaryCase{
		{name: "binary-script", metadata: `{"type":"binary","label":"asset_1.0","path":"bin/start.sh"}`,
			code: []peersim.Entry{
				{Name: "META-INF/statedb/couchdb/indexes/indexOwner.json", Body: []byte(index)},
				{Name: "bin/server", Mode: 0o755, Body: []byte("#!/bin/sh\nexec sleep 600\n")},
				{Name: "bin/start.sh", Mode: 0o644, Body: []byte(startScript)},
			}},
		{name: "binary-default-path", metadata: `{"type":"BINARY","label":"asset_1.0"}`,
			code: []peersim.Entry{{Name: "chaincode", Mode: 0o700, Body: []byte("#!/bin/sh\nexit 0\n")}}},
		{name: "binary-missing-executable", failing: "build", metadata: `{"type":"binary","label":"asset_1.0","path":"bin/asset"}`,
			code: []peersim.Entry{{Name: "bin/other", Mode: 0o755, Body: []byte("#!/bin/sh\n")}}},
		{name: "binary-path-escapes", failing: "build", metadata: `{"type":"binary","label":"asset_1.0","path":"../../bin/sh"}`,
			code: []peersim.Entry{{Name: "chaincode", Mode: 0o755, Body: []byte("#!/bin/sh\n")}}},
		{name: "binary-path-is-a-folder", failing: "build", metadata: `{"type":"binary","label":"asset_1.0","path":"bin"}`,
			code: []peersim.Entry{{Name: "bin/asset", Mode: 0o755, Body: []byte("#!/bin/sh\n")}}},
		{name: "binary-not-executable", failing: "build", metadata: `{"type":"binary","label":"asset_1.0","path":"asset.jar"}`,
			code: []peersim.Entry{{Name: "asset.jar", Body: []byte("PK\x03\x04 a Java archive")}}},
		{name: "binary-tree-foreign-elf", skip: skipForeign,
			metadata: `{"type":"binary","label":"asset_1.0","path":"bin/start"}`,
			code: []peersim.Entry{
				{Name: "bin/start", Mode: 0o755, Body: []byte("#!/bin/sh\nexec ./bin/server\n")},
				{Name: "bin/server", Mode: 0o755, Body: []byte("#!/bin/sh\nexec sleep 600\n")},
				{Name: "node_modules/addon/build/addon.node", Mode: 0o755, Body: elfHeader(emRISCV)},
			}},
		{name: "binary-missing-interpreter", failing: "build", metadata: `{"type":"binary","label":"asset_1.0","path":"index.js"}`,
			code: []peersim.Entry{{Name: "index.js", Mode: 0o755, Body: []byte("#!/usr/bin/env extbuilder-no-such-runtime\nconsole.log('hi')\n")}}},
		{name: "binary-wrong-architecture", failing: "build", skip: skipForeign,
			metadata: `{"type":"binary","label":"asset_1.0","path":"asset"}`,
			code:     []peersim.Entry{{Name: "asset", Mode: 0o755, Body: elfHeader(emRISCV)}}},
	}
}

// installBinary installs a package with the built builders, as install
// does for the samples under testdata/packages.
func installBinary(t *testing.T, name, metadata string, code []peersim.Entry, propagate []string, extraEnv ...string) *installed {
	t.Helper()
	tgz, err := peersim.TarGz(code)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := peersim.NewPackage([]byte(metadata), tgz)
	if err != nil {
		t.Fatal(err)
	}
	return installPackage(t, pkg, propagate, extraEnv...)
}

// installPackage installs pkg with the built builders on a fresh peer
// whose builder propagates the variables named in propagate.
func installPackage(t *testing.T, pkg *peersim.Package, propagate []string, extraEnv ...string) *installed {
	t.Helper()
	root := t.TempDir()
	tmp, peerFS := filepath.Join(root, "tmp"), filepath.Join(root, "peer")
	for _, d := range []string{tmp, peerFS} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	env := append([]string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"TMPDIR=" + tmp,
		"HOME=/root",                          // not propagated
		"CORE_PEER_ID=peer0.org1.example.com", // not propagated
	}, extraEnv...)
	peer := &peersim.Peer{
		Builders:       []peersim.Builder{{Name: "extbuilder", Path: builderDir, PropagateEnvironment: propagate}},
		Env:            env,
		FileSystemPath: peerFS,
		KeepScratch:    true,
	}
	res, err := peer.Install(pkg)
	if res.ScratchDir == "" {
		t.Fatalf("install did not get as far as the builders: %v", err)
	}
	pki := samples.NewPKI()
	redact := samples.NewRedactor(pki).
		Path(res.ScratchDir, "$SCRATCH").
		Path(peerFS, "$PEER_FS").
		Path(tmp, "$TMPDIR").
		Path(strings.TrimPrefix(pkg.ID, pkg.Label+":"), "<sha256>").
		Path(runtime.GOARCH, "$GOARCH") // the builder's own architecture
	return &installed{peer: peer, pkg: pkg, pki: pki, res: res, err: err, redact: redact, env: env}
}

func TestBinaryPackages(t *testing.T) {
	for _, c := range binaryCases() {
		t.Run(c.name, func(t *testing.T) {
			if c.skip != "" {
				t.Skip(c.skip)
			}
			t.Parallel()
			in := installBinary(t, c.name, c.metadata, c.code, []string{configVariable})
			ic := installCase{name: c.name, failing: c.failing}
			checkSteps(t, ic, in)
			// The package comes from binaryCases, not from testdata/packages;
			// $GOARCH stands for the builder's own architecture.
			golden := strings.Replace(describeInstall(t, ic, in),
				"testdata/packages/"+c.name, "binaryCases (binary_test.go)", 1)
			checkGolden(t, c.name, golden)

			if c.failing != "" {
				if left, _ := os.ReadDir(in.res.BldDir); len(left) > 0 {
					t.Errorf("a failed build left bld/%s behind", left[0].Name())
				}
				return
			}
			// The peer calls run exactly when release holds no connection.json.
			info, err := peersim.ReadConnection(in.res.CachedRelease)
			if err != nil || info != nil {
				t.Errorf("release/ holds a connection.json (%v, %v): the peer would dial instead of calling run", info, err)
			}
			entry, err := os.ReadFile(filepath.Join(in.res.CachedBld, "entrypoint"))
			if err != nil {
				t.Fatalf("bld/entrypoint: %v", err)
			}
			exe, err := os.Stat(filepath.Join(in.res.CachedBld, "tree", strings.TrimSuffix(string(entry), "\n")))
			if err != nil || exe.Mode().Perm()&0o100 == 0 {
				t.Errorf("the entry point %q: want it executable in the build cache, got %v, %v", entry, exe, err)
			}
		})
	}
}

var (
	launchBinsOnce sync.Once
	launchBinsErr  error
	fakeccPath     string
)

// buildLaunchBinaries builds the stand-in chaincode of run's tests (cmd/run).
func buildLaunchBinaries(t *testing.T) {
	t.Helper()
	launchBinsOnce.Do(func() {
		fakeccPath = filepath.Join(filepath.Dir(builderDir), "fakecc")
		launchBinsErr = bindir.GoBuild("..", fakeccPath, []string{"./cmd/run/testdata/fakecc"})
	})
	if launchBinsErr != nil {
		t.Fatal(launchBinsErr)
	}
}

// fakeccRecord is the part of cmd/run/testdata/fakecc's record used here.
type fakeccRecord struct {
	Pid        int
	Args       []string
	Cwd        string
	Env        []string
	Dial       string
	Base64Same bool
}

// TestBinaryPackageLaunchedFromTheBuildCache goes the whole way: install a
// binary package, then launch it as the peer does (bin/run on the cached
// bld/, a fresh RUN_METADATA_DIR holding chaincode.json, the pruned
// environment), with a TLS endpoint in the peer's role, then stop it. Two
// packages: a single executable, and a tree whose #!/bin/sh entry point
// reads a data file of its own and execs a sibling program in a subfolder,
// both by paths relative to the installed tree.
func TestBinaryPackageLaunchedFromTheBuildCache(t *testing.T) {
	buildLaunchBinaries(t)
	exe, err := os.ReadFile(fakeccPath)
	if err != nil {
		t.Fatal(err)
	}
	const wrapper = "#!/bin/sh\n# reads its settings from the tree, then execs the real program\n" +
		"IFS= read -r greeting < etc/greeting.txt || exit 3\nexport FAKECC_GREETING=\"$greeting\"\nexec ./lib/fakecc \"$@\"\n"
	cases := []struct {
		name, metadata string
		code           []peersim.Entry
		argv0          string // "" for the entry point's absolute path
		env            string // a variable the chaincode must have, beyond the peer's
	}{
		{name: "executable", metadata: `{"type":"binary","label":"asset_1.0","path":"bin/asset"}`,
			code: []peersim.Entry{{Name: "bin/asset", Mode: 0o755, Body: exe}}},
		{name: "wrapper", metadata: `{"type":"binary","label":"asset_1.0","path":"bin/start"}`,
			code: []peersim.Entry{
				{Name: "bin/start", Mode: 0o755, Body: []byte(wrapper)},
				{Name: "etc/greeting.txt", Mode: 0o644, Body: []byte("hello from the tree\n")},
				{Name: "lib/fakecc", Mode: 0o755, Body: exe},
			},
			argv0: "./lib/fakecc", env: "FAKECC_GREETING=hello from the tree"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// What the chaincode needs from the peer's environment goes through
			// propagateEnvironment, like everything else.
			propagate := []string{configVariable, "FAKECC_MODE"}
			in := installBinary(t, "binary-launch", c.metadata, c.code, propagate, "FAKECC_MODE=graceful")
			checkSteps(t, installCase{name: "binary-launch"}, in)
			if in.res.CachedBld == "" {
				t.Fatal("nothing in the build cache")
			}
			launchFakecc(t, in, func(rec fakeccRecord) {
				tree := filepath.Join(in.res.CachedBld, "tree")
				if rec.Cwd != tree {
					t.Errorf("the chaincode ran in %s, want the installed tree %s", rec.Cwd, tree)
				}
				argv0 := c.argv0
				if argv0 == "" {
					argv0 = filepath.Join(tree, "bin/asset")
				}
				if len(rec.Args) != 2 || rec.Args[0] != argv0 {
					t.Errorf("chaincode arguments %q, want %s first", rec.Args, argv0)
				}
				if c.env != "" && !slices.Contains(rec.Env, c.env) {
					t.Errorf("chaincode environment lacks %s", c.env)
				}
			})
		})
	}
}

// launchFakecc launches the installed fakecc package through bin/run with a
// mutual TLS endpoint in the peer's role, checks what every launch must
// give the chaincode, calls more with the record, then stops it as the
// peer does.
func launchFakecc(t *testing.T, in *installed, more func(fakeccRecord)) {
	t.Helper()
	run, addr, seen := launchTLS(t, in)

	// fakecc records what it saw on stderr, which run passes on.
	var rec fakeccRecord
	if data := waitStderr(t, run, "fakecc-record "); json.Unmarshal([]byte(data), &rec) != nil {
		t.Fatalf("malformed record %q", data)
	}
	t.Cleanup(func() { syscall.Kill(rec.Pid, syscall.SIGKILL) })

	if rec.Dial != "ok" {
		t.Errorf("the chaincode could not reach the peer: %s", rec.Dial)
	}
	if !rec.Base64Same {
		t.Error("the base64 key and certificate files do not decode to the PEM files")
	}
	if got := <-seen; got != in.pkg.ID {
		t.Errorf("the peer saw chaincode %q, want the package ID %q", got, in.pkg.ID)
	}
	env := strings.Join(rec.Env, "\n")
	for _, want := range []string{"CORE_CHAINCODE_ID_NAME=" + in.pkg.ID, "CORE_PEER_ADDRESS=" + addr, "CORE_PEER_TLS_ENABLED=true", "CORE_PEER_LOCALMSPID=Org1MSP"} {
		if !strings.Contains(env, want+"\n") && !strings.HasSuffix(env, want) {
			t.Errorf("chaincode environment lacks %s", want)
		}
	}
	if strings.Contains(env, "CORE_PEER_ID=") || strings.Contains(env, "HOME=/root") {
		t.Error("the chaincode got a variable the peer does not propagate")
	}
	// The sandbox's scratch folder is its TMPDIR and HOME.
	scratch := filepath.Join(run.RunMetadataDir, "chaincode-tmp")
	for _, v := range []string{"TMPDIR=", "HOME="} {
		if !strings.Contains(env+"\n", v+scratch+"\n") {
			t.Errorf("chaincode environment lacks %s%s", v, scratch)
		}
	}
	if len(rec.Args) != 2 || rec.Args[1] != "-peer.address="+addr {
		t.Errorf("chaincode arguments %q", rec.Args)
	}
	more(rec)

	// The peer stops a chaincode with SIGTERM to run.
	if killed := run.Stop(peersim.StopGrace); killed {
		t.Fatal("run did not stop within the peer's grace period")
	}
	out := run.Stderr()
	if code := run.ExitCode(); code != 0 {
		t.Errorf("run exited %d, want the chaincode's 0; stderr %q", code, out)
	}
	if len(out) == 0 || out[len(out)-1] != "run: chaincode exited with status 0 after run passed on SIGTERM" {
		t.Errorf("run's last line: %q", out)
	}
}

// waitStderr waits for a line of run's stderr starting with prefix and
// returns the rest of it.
func waitStderr(t *testing.T, run *peersim.Launched, prefix string) string {
	t.Helper()
	end := time.Now().Add(15 * time.Second)
	for time.Now().Before(end) {
		for _, line := range run.Stderr() {
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				return rest
			}
		}
		select {
		case <-run.Done():
			t.Fatalf("run ended without a %q line: %q", prefix, run.Stderr())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %q line within 15s: %q", prefix, run.Stderr())
	return ""
}

// launchTLS launches in through bin/run as the peer does, with a mutual TLS
// endpoint in the peer's role: a certificate from the CA it hands the
// chaincode as root_cert, and a client certificate from the same CA. It
// returns the launch (killed at cleanup), the endpoint's address and its
// first ID line.
func launchTLS(t *testing.T, in *installed) (run *peersim.Launched, addr string, seen <-chan string) {
	t.Helper()
	ca := testpki.NewCA("peer chaincode CA")
	client := ca.Client(in.pkg.ID)
	addr, seen = peerEndpoint(t, ca)
	run, err := in.peer.Launch(in.res, peersim.ChaincodeJSON{
		ChaincodeID: in.pkg.ID, PeerAddress: addr,
		ClientCert: client.CertPEM, ClientKey: client.KeyPEM, RootCert: ca.CertPEM, MSPID: "Org1MSP",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(run.Kill)
	return run, addr, seen
}

// peerEndpoint is the peer's chaincode endpoint (peersim.ListenChaincode),
// closed when the test ends.
func peerEndpoint(t *testing.T, ca *testpki.CA) (string, <-chan string) {
	t.Helper()
	e, err := peersim.ListenChaincode(ca)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e.Addr, e.IDs
}
