//go:build unix

package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/extbuilder/extbuilder/internal/testpki"
	"github.com/extbuilder/extbuilder/test/peersim"
)

// concurrentInstalls is how many different packages one peer installs at
// the same time in TestConcurrentInstalls.
const concurrentInstalls = 32

// concurrentPackage is one package of the concurrency test and what the
// peer must find once it is installed.
type concurrentPackage struct {
	pkg        *peersim.Package
	config     string // this install's CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG
	address    string // "" for a binary package: no connection.json
	rootCert   string // the package's own CA, when it uses TLS
	indexes    int
	executable []byte // binary packages: what bld/tree/bin/chaincode must hold
}

// newConcurrentPackage makes package i: plain, templated, mutual-TLS or
// binary in turn, every one with its own address, label and certificates,
// so that any crossed wire between two installs shows.
func newConcurrentPackage(t *testing.T, i int) concurrentPackage {
	t.Helper()
	label := fmt.Sprintf("concurrent-%02d_1.0", i)
	host := fmt.Sprintf("cc%02d.org1.example.com", i)
	port := 9000 + i
	idx := []peersim.Entry{}
	for j := 0; j <= i%3; j++ {
		idx = append(idx, peersim.Entry{
			Name: fmt.Sprintf("META-INF/statedb/couchdb/indexes/index%02d-%d.json", i, j),
			Body: []byte(strings.Replace(index, "indexOwner", fmt.Sprintf("index%02d_%d", i, j), 2)),
		})
	}
	c := concurrentPackage{indexes: len(idx)}
	var entries []peersim.Entry
	metaType := "ccaas"
	switch i % 4 {
	case 0:
		c.address = fmt.Sprintf("%s:%d", host, port)
		entries = append(entries, peersim.Entry{Name: "connection.json", Body: []byte(fmt.Sprintf(`{"address":%q,"dial_timeout":"10s"}`, c.address))})
	case 1:
		c.config = fmt.Sprintf(`{"peername":"peer%02d","port":%d}`, i, port)
		c.address = fmt.Sprintf("peer%02d-cc:%d", i, port)
		entries = append(entries, peersim.Entry{Name: "connection.json", Body: []byte(`{"address":"{{.peername}}-cc:{{.port}}"}`)})
	case 2:
		ca := testpki.NewCA(fmt.Sprintf("server CA %02d", i))
		client := testpki.NewCA(fmt.Sprintf("client CA %02d", i)).Client(host)
		c.address, c.rootCert = fmt.Sprintf("%s:%d", host, port), ca.CertPEM
		doc, err := json.Marshal(map[string]any{
			"address": c.address, "tls_required": true, "client_auth_required": true,
			"root_cert": ca.CertPEM, "client_cert": client.CertPEM, "client_key": client.KeyPEM,
		})
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, peersim.Entry{Name: "connection.json", Body: doc})
	case 3:
		metaType = "binary"
		c.executable = []byte(fmt.Sprintf("#!/bin/sh\n# package %02d\nexec sleep 600\n", i))
		entries = append(entries, peersim.Entry{Name: "bin/chaincode", Mode: 0o755, Body: c.executable})
	}
	code, err := peersim.TarGz(append(entries, idx...))
	if err != nil {
		t.Fatal(err)
	}
	md := fmt.Sprintf(`{"type":%q,"label":%q,"path":"bin/chaincode"}`, metaType, label)
	if c.pkg, err = peersim.NewPackage([]byte(md), code); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestConcurrentInstalls installs 32 different packages on one peer at the
// same time (detect, build and release of each in its own fabric-<id>
// folders, one shared TMPDIR and build cache) and checks that each ends up
// with exactly its own connection.json, indexes and executable.
func TestConcurrentInstalls(t *testing.T) {
	root := t.TempDir()
	tmp, peerFS := filepath.Join(root, "tmp"), filepath.Join(root, "peer")
	for _, d := range []string{tmp, peerFS} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pkgs := make([]concurrentPackage, concurrentInstalls)
	for i := range pkgs {
		pkgs[i] = newConcurrentPackage(t, i)
	}

	results := make([]*peersim.Result, len(pkgs))
	errs := make([]error, len(pkgs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range pkgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=" + tmp}
			if pkgs[i].config != "" {
				env = append(env, configVariable+"="+pkgs[i].config)
			}
			peer := &peersim.Peer{
				Builders:       []peersim.Builder{{Name: "extbuilder", Path: builderDir, PropagateEnvironment: []string{configVariable}}},
				Env:            env,
				FileSystemPath: peerFS,
			}
			<-start // all 32 begin together
			results[i], errs[i] = peer.Install(pkgs[i].pkg)
		}()
	}
	close(start)
	wg.Wait()

	for i, c := range pkgs {
		res, err := results[i], errs[i]
		name := c.pkg.Label
		if err != nil {
			t.Errorf("%s: install failed: %v; steps: %s", name, err, describeSteps(res))
			continue
		}
		if res.Builder != "extbuilder" || res.CachedRelease == "" {
			t.Errorf("%s: not built by extbuilder (builder %q)", name, res.Builder)
			continue
		}
		for _, st := range res.Steps {
			if st.ExitCode != 0 || len(st.Stdout) > 0 {
				t.Errorf("%s: %s exited %d, wrote %d bytes to stdout", name, st.Program, st.ExitCode, len(st.Stdout))
			}
		}
		info, err := peersim.ReadConnection(res.CachedRelease)
		switch {
		case err != nil:
			t.Errorf("%s: the peer would fail to read connection.json: %v", name, err)
		case c.address == "" && info != nil:
			t.Errorf("%s: a binary package released a connection.json for %s", name, info.Address)
		case c.address != "" && info == nil:
			t.Errorf("%s: no connection.json released", name)
		case c.address != "" && info.Address != c.address:
			t.Errorf("%s: released address %s, want %s", name, info.Address, c.address)
		case c.rootCert != "" && string(info.RootCert) != c.rootCert:
			t.Errorf("%s: released another package's root_cert", name)
		}
		got, err := peersim.CouchDBIndexes(res.CachedRelease)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(got[""]); n != c.indexes {
			t.Errorf("%s: released %d indexes, want %d", name, n, c.indexes)
		}
		for file := range got[""] {
			if !strings.HasPrefix(file, fmt.Sprintf("index%02d-", i)) {
				t.Errorf("%s: released another package's index %s", name, file)
			}
		}
		if c.executable != nil {
			exe, err := os.ReadFile(filepath.Join(res.CachedBld, "tree/bin/chaincode"))
			if err != nil || !bytes.Equal(exe, c.executable) {
				t.Errorf("%s: bld/tree/bin/chaincode is not the package's executable (%v)", name, err)
			}
		}
	}
	// Nothing of the 32 installs may be left in the peer's TMPDIR.
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("TMPDIR holds %d entries after the installs, e.g. %s", len(left), left[0].Name())
	}
}

func describeSteps(res *peersim.Result) string {
	if res == nil {
		return "none"
	}
	var parts []string
	for _, st := range res.Steps {
		parts = append(parts, fmt.Sprintf("%s=%d %q", st.Program, st.ExitCode, st.Stderr))
	}
	return strings.Join(parts, "; ")
}
