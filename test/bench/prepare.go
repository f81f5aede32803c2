//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/extbuilder/extbuilder/internal/bindir"
	"github.com/extbuilder/extbuilder/test/peersim"
	"github.com/extbuilder/extbuilder/test/samples"
)

// ldflags is set from -ldflags: `make bench` passes `make build`'s LDFLAGS,
// so that what is measured is what is shipped. The rest of `make build`'s
// flags (CGO_ENABLED=0 -trimpath) are fixed here.
var ldflags = "-s -w -X github.com/extbuilder/extbuilder/internal/cli.Version=bench"

// references are the programs under test/bench/reference, built like the
// builder's: the no-op that every timing is a ratio to, and floors, the
// least any Go program doing a job can cost on this machine.
var references = []string{"noop", "os", "gjson", "x509", "hello", "spawn", "relay"}

// buildBinaries lays out bin as `make build` does and builds the
// references into refs (refs/<name>).
func buildBinaries(root, bin, refs string) error {
	if err := bindir.Build(root, bin, "-ldflags", ldflags); err != nil {
		return err
	}
	for _, p := range bindir.Names {
		if err := rewrite(filepath.Join(bin, p)); err != nil {
			return err
		}
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", refs+string(filepath.Separator), "./test/bench/reference/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the reference programs: %v: %s", err, strings.TrimSpace(string(msg)))
	}
	for _, r := range references {
		if err := rewrite(filepath.Join(refs, r)); err != nil {
			return err
		}
	}
	return nil
}

// rewrite writes the binary at path again with plain writes. The Go linker
// writes its output through mmap, and on this kind of machine a binary
// fresh from the linker starts measurably slower (more page faults) than
// the same bytes written by cp, tar or a container image layer, which is
// how binaries reach a peer. Rewriting puts every binary, the no-op
// included, in the state a peer would run it from.
func rewrite(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	tmp := path + ".rewrite"
	if err := os.WriteFile(tmp, data, 0o755); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

const configVariable = "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG"

// workload is one package, installed once by peersim (which leaves its
// folders in place), then built and released again for every timed run.
type workload struct {
	name string
	what string
	res  *peersim.Result
	env  []string // what the peer gives the builder programs
}

// installer installs packages with the built programs, as a peer whose
// builder propagates the template configuration.
type installer struct {
	peer    *peersim.Peer
	builder *peersim.Builder
}

func newInstaller(builderDir, scratch string) (*installer, error) {
	tmp, fsPath := filepath.Join(scratch, "tmp"), filepath.Join(scratch, "peer")
	for _, d := range []string{tmp, fsPath} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	b := peersim.Builder{Name: "extbuilder", Path: builderDir, PropagateEnvironment: []string{configVariable}}
	return &installer{
		builder: &b,
		peer: &peersim.Peer{
			Builders: []peersim.Builder{b},
			Env: []string{
				"PATH=/usr/local/bin:/usr/bin:/bin",
				"TMPDIR=" + tmp,
				"HOME=/root", // not propagated
				configVariable + `={"peername":"peer0org1"}`,
			},
			FileSystemPath: fsPath,
			KeepScratch:    true,
		},
	}, nil
}

func (in *installer) install(name string, pkg *peersim.Package) (*workload, error) {
	res, err := in.peer.Install(pkg)
	if err != nil {
		return nil, fmt.Errorf("%s: install failed: %v", name, err)
	}
	if res.Builder == "" || res.Cached {
		return nil, fmt.Errorf("%s: the builder did not claim the package", name)
	}
	return &workload{name: name, res: res, env: in.peer.PrunedEnv(in.builder)}, nil
}

// sample packs a sample tree from the test suite with fresh certificates.
func samplePackage(root, tree string) (*peersim.Package, error) {
	return samples.Pack(os.DirFS(filepath.Join(root, "test", "testdata", "packages", tree)), samples.NewPKI().Values())
}

const indexDef = `{"index":{"fields":["docType","owner"]},"ddoc":"indexOwnerDoc","name":"indexOwner","type":"json"}`

// indexesPackage is a service package carrying n CouchDB index files.
func indexesPackage(n int) (*peersim.Package, error) {
	entries := []peersim.Entry{{Name: "connection.json", Body: []byte(`{"address":"marbles-cc:9999","dial_timeout":"10s"}`)}}
	for i := 0; i < n; i++ {
		entries = append(entries, peersim.Entry{
			Name: fmt.Sprintf("META-INF/statedb/couchdb/indexes/index%04d.json", i),
			Body: []byte(strings.Replace(indexDef, "indexOwner", fmt.Sprintf("index%04d", i), 2)),
		})
	}
	code, err := peersim.TarGz(entries)
	if err != nil {
		return nil, err
	}
	return peersim.NewPackage([]byte(fmt.Sprintf(`{"type":"ccaas","label":"indexes-%d","path":""}`, n)), code)
}

// binaryPackage is a binary package whose executable is the no-op ELF
// padded to size bytes (a valid executable for this machine either way).
func binaryPackage(noop string, size int, label string) (*peersim.Package, error) {
	exe, err := os.ReadFile(noop)
	if err != nil {
		return nil, err
	}
	if size > len(exe) {
		exe = append(exe, make([]byte, size-len(exe))...)
	}
	code, err := peersim.TarGz([]peersim.Entry{{Name: "bin/chaincode", Mode: 0o755, Body: exe}})
	if err != nil {
		return nil, err
	}
	return peersim.NewPackage([]byte(`{"type":"binary","label":"`+label+`","path":"bin/chaincode"}`), code)
}

// chaincodeJSON is what the peer writes for a launch with TLS on.
func chaincodeJSON(id string) ([]byte, error) {
	pki := samples.NewPKI()
	return json.Marshal(map[string]string{
		"chaincode_id": id,
		"peer_address": "127.0.0.1:7052",
		"client_cert":  pki.Client.CertPEM,
		"client_key":   pki.Client.KeyPEM,
		"root_cert":    pki.ServerCA.CertPEM,
		"mspid":        "Org1MSP",
	})
}

// moduleRoot finds the folder holding go.mod from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module github.com/extbuilder/extbuilder")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run the bench from inside the extbuilder module (make bench)")
		}
		dir = parent
	}
}
