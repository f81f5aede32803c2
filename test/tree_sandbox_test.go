//go:build linux

package test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/extbuilder/extbuilder/internal/sandbox"
	"github.com/extbuilder/extbuilder/test/peersim"
)

// probeScript reads every file of the installed tree, runs a program of
// the tree, tries a file outside BUILD_OUTPUT_DIR and a write into the
// tree, saying what it could do on stdout (which run passes on to its
// stderr).
const probeScript = `#!/bin/sh
n=0
for f in $(find . -type f | sort); do
  if cat "$f" > /dev/null; then n=$((n+1)); else echo "probe: cannot read $f"; fi
done
echo "probe: read $n files of the tree"
./lib/bin/helper || echo "probe: cannot run lib/bin/helper"
if cat "$PROBE_OUTSIDE" > /dev/null 2>&1; then echo "probe: read outside"; else echo "probe: outside refused"; fi
if (echo x > etc/planted) 2> /dev/null; then echo "probe: wrote into the tree"; else echo "probe: tree read-only"; fi
echo "probe: done"
exec sleep 600
`

// TestInstalledTreeUnderTheSandbox: under run's confinement (the default)
// the chaincode can read and execute the whole installed tree, its entry
// point exec'ing a sibling that runs another program of the tree, and can
// read nothing outside BUILD_OUTPUT_DIR nor change the tree. With the
// sandbox off the outside file is read and the tree written, which shows
// that the sandbox refused them and not this machine.
func TestInstalledTreeUnderTheSandbox(t *testing.T) {
	if sandbox.ABI() == 0 {
		t.Skip("this kernel has no Landlock (landlock_create_ruleset says ABI 0): nothing to test")
	}
	code := []peersim.Entry{
		{Name: "bin/start", Mode: 0o755, Body: []byte("#!/bin/sh\nexec ./lib/probe \"$@\"\n")},
		{Name: "lib/probe", Mode: 0o755, Body: []byte(probeScript)},
		{Name: "lib/bin/helper", Mode: 0o755, Body: []byte("#!/bin/sh\necho \"probe: helper says $(cat etc/greeting.txt)\"\n")},
		{Name: "etc/greeting.txt", Mode: 0o600, Body: []byte("hello from the tree\n")},
		{Name: "node_modules/m/index.js", Mode: 0o644, Body: []byte("module.exports = 1\n")},
	}
	for _, mode := range []string{"best-effort", "off"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			outside := filepath.Join(t.TempDir(), "peer-secret") // stands for the peer's keys and ledger
			if err := os.WriteFile(outside, []byte("key"), 0o600); err != nil {
				t.Fatal(err)
			}
			in := installBinary(t, "binary-tree-sandbox", `{"type":"binary","label":"probe_1.0","path":"bin/start"}`, code,
				[]string{sandbox.ModeVariable, "PROBE_OUTSIDE"}, sandbox.ModeVariable+"="+mode, "PROBE_OUTSIDE="+outside)
			checkSteps(t, installCase{name: "binary-tree-sandbox"}, in)
			run, _, _ := launchTLS(t, in)
			end := time.Now().Add(30 * time.Second)
			for !slices.Contains(run.Stderr(), "probe: done") {
				if time.Now().After(end) {
					t.Fatalf("the probe never finished; run's stderr: %q", run.Stderr())
				}
				time.Sleep(50 * time.Millisecond)
			}
			run.Stop(peersim.StopGrace)
			var probe []string
			for _, line := range run.Stderr() {
				if strings.HasPrefix(line, "probe: ") {
					probe = append(probe, line)
				}
			}
			want := []string{"probe: read 5 files of the tree", "probe: helper says hello from the tree", "probe: outside refused", "probe: tree read-only", "probe: done"}
			if mode == "off" {
				want[2], want[3] = "probe: read outside", "probe: wrote into the tree"
			}
			if !slices.Equal(probe, want) {
				t.Errorf("with %s=%s the probe said %q, want %q", sandbox.ModeVariable, mode, probe, want)
			}
		})
	}
}
