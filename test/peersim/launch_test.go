//go:build linux

package peersim_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/extbuilder/extbuilder/test/peersim"
)

// installed installs samplePackage with a builder whose bin/run is script.
func installed(t *testing.T, runScript string) (*peersim.Peer, *peersim.Result) {
	t.Helper()
	scripts := map[string]string{"detect": "exit 0\n", "build": "echo built > \"$3/chaincode\"\n"}
	if runScript != "" {
		scripts["run"] = runScript
	}
	peer := newPeer(t, fakeBuilder(t, scripts), "GREETING=hello")
	res, err := peer.Install(samplePackage(t))
	if err != nil {
		t.Fatal(err)
	}
	return peer, res
}

// waitForLine waits, boundedly, until run has written line.
func waitForLine(t *testing.T, l *peersim.Launched, line string) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for !slices.Contains(l.Stderr(), line) {
		select {
		case <-l.Done():
			t.Fatalf("run ended before writing %q; stderr %q", line, l.Stderr())
		default:
		}
		if time.Now().After(end) {
			l.Kill()
			t.Fatalf("run never wrote %q; stderr %q", line, l.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLaunchRunsBinRunLikeThePeer(t *testing.T) {
	peer, res := installed(t, `echo "args $1 $2" >&2
stat -c 'mode %a' "$2/chaincode.json" >&2
cat "$2/chaincode.json" >&2; echo >&2
echo "greeting ${GREETING-unset} secret ${SECRET-unset}" >&2
trap 'echo "got TERM" >&2; exit 143' TERM
echo ready >&2
while :; do sleep 0.05; done
`)
	cc := peersim.ChaincodeJSON{ChaincodeID: res.PackageID, PeerAddress: "127.0.0.1:7052", ClientCert: "C", ClientKey: "K", RootCert: "R", MSPID: "Org1MSP"}
	l, err := peer.Launch(res, cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Kill)
	waitForLine(t, l, "ready")

	tmp := strings.TrimPrefix(peer.Env[1], "TMPDIR=")
	if filepath.Dir(l.RunMetadataDir) != tmp || !strings.HasPrefix(filepath.Base(l.RunMetadataDir), "fabric-run") {
		t.Errorf("RUN_METADATA_DIR %s: want a fabric-run* folder in the peer's TMPDIR %s", l.RunMetadataDir, tmp)
	}
	want, _ := json.Marshal(cc)
	lines := l.Stderr()
	for _, w := range []string{
		"args " + res.CachedBld + " " + l.RunMetadataDir,
		"mode 600",
		string(want),
		"greeting hello secret unset",
	} {
		if !slices.Contains(lines, w) {
			t.Errorf("run's stderr lacks %q: %q", w, lines)
		}
	}

	if killed := l.Stop(peersim.StopGrace); killed {
		t.Error("Stop killed a run that exits on SIGTERM")
	}
	if code := l.ExitCode(); code != 143 {
		t.Errorf("exit code %d, want 143", code)
	}
	if !slices.Contains(l.Stderr(), "got TERM") {
		t.Errorf("run did not get SIGTERM: %q", l.Stderr())
	}
	if _, err := os.Stat(l.RunMetadataDir); !os.IsNotExist(err) {
		t.Errorf("RUN_METADATA_DIR left behind after Stop: %v", err)
	}
}

func TestLaunchStopKillsARunThatIgnoresSIGTERM(t *testing.T) {
	peer, res := installed(t, "trap '' TERM\necho ready >&2\nexec sleep 60\n")
	l, err := peer.Launch(res, peersim.ChaincodeJSON{ChaincodeID: res.PackageID, PeerAddress: "127.0.0.1:7052"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Kill)
	waitForLine(t, l, "ready")
	if killed := l.Stop(100 * time.Millisecond); !killed {
		t.Error("Stop did not report that it had to kill run")
	}
	if code := l.ExitCode(); code != -1 {
		t.Errorf("exit code %d, want -1 (killed by a signal)", code)
	}
	if _, err := os.Stat(l.RunMetadataDir); !os.IsNotExist(err) {
		t.Errorf("RUN_METADATA_DIR left behind after Stop: %v", err)
	}
}

func TestLaunchNeedsABuiltPackageAndBinRun(t *testing.T) {
	peer, res := installed(t, "")
	if _, err := peer.Launch(res, peersim.ChaincodeJSON{}); err == nil || !strings.Contains(err.Error(), "no executable bin/run") {
		t.Errorf("launch with a builder without bin/run: %v", err)
	}
	if _, err := peer.Launch(&peersim.Result{}, peersim.ChaincodeJSON{}); err == nil {
		t.Error("launch of a package no builder built was accepted")
	}
	left, _ := filepath.Glob(filepath.Join(strings.TrimPrefix(peer.Env[1], "TMPDIR="), "fabric-run*"))
	if len(left) != 0 {
		t.Errorf("a refused launch left %v behind", left)
	}
}
