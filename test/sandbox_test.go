//go:build linux

package test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/extbuilder/extbuilder/internal/bindir"
	"github.com/extbuilder/extbuilder/internal/sandbox"
	"github.com/extbuilder/extbuilder/internal/testpki"
	"github.com/extbuilder/extbuilder/test/peersim"
)

// The sandbox end to end: a binary package whose chaincode tries every
// escape docs/sandbox.md lists (test/testdata/hostile), installed and
// launched through peersim exactly as a peer does. Each escape must be
// refused with the default settings and must work with the sandbox off,
// which proves the sandbox refused it and not this machine.

var (
	hostileOnce sync.Once
	hostilePath string
	hostileErr  error
)

func buildHostile(t *testing.T) []byte {
	t.Helper()
	hostileOnce.Do(func() {
		hostilePath = filepath.Join(filepath.Dir(builderDir), "hostile")
		hostileErr = bindir.GoBuild("..", hostilePath, []string{"./test/testdata/hostile"})
	})
	if hostileErr != nil {
		t.Fatal(hostileErr)
	}
	exe, err := os.ReadFile(hostilePath)
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// escapes are the attempts of the hostile chaincode that must be refused.
var escapes = []string{
	"read_peer_key", "list_peer_msp", "write_peer_msp", "write_ledger", "read_peer_config",
	"read_other_chaincode", "list_peer_tmpdir", "connect_tcp", "connect_mptcp", "bind_tcp", "bind_mptcp",
	"connect_abstract_unix", "signal_peer", "ptrace_peer", "io_uring",
}

// needs is the Landlock ABI each escape's refusal needs (1 if not listed).
var needs = map[string]int{"connect_tcp": 4, "bind_tcp": 4, "connect_abstract_unix": 6, "signal_peer": 6}

// legitimate are what it must still be able to do.
var legitimate = []string{"read_tls_files", "write_scratch", "dial_peer"}

// listenLoopback accepts connections on 127.0.0.1 (TCP) or an abstract
// unix socket, reads a line from each and reports it.
func listenLoopback(t *testing.T, network, addr string) (string, chan string) {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	lines := make(chan string, 16)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				line, _ := bufio.NewReader(conn).ReadString('\n')
				select {
				case lines <- strings.TrimSuffix(line, "\n"):
				default:
				}
			}()
		}
	}()
	return ln.Addr().String(), lines
}

func TestSandboxRefusesEveryEscape(t *testing.T) {
	abi := sandbox.ABI()
	if abi < 1 {
		t.Skip("this kernel has no Landlock (landlock_create_ruleset says ABI 0): nothing to test")
	}
	exe := buildHostile(t)

	// The peer's own files, as a real peer has them.
	peerRoot := t.TempDir()
	key := filepath.Join(peerRoot, "msp", "keystore", "priv_sk")
	ledger := filepath.Join(peerRoot, "ledgersData")
	config := filepath.Join(peerRoot, "config", "core.yaml")
	for _, d := range []string{filepath.Dir(key), ledger, filepath.Dir(config)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(key, []byte("-----BEGIN PRIVATE KEY-----\nstand-in\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config, []byte("peer: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	otherAddr, _ := listenLoopback(t, "tcp", "127.0.0.1:0")
	abstract := fmt.Sprintf("@extbuilder-test-%d", os.Getpid())
	listenLoopback(t, "unix", abstract)
	peerAddr, seen := listenLoopback(t, "tcp", "127.0.0.1:0")

	for _, mode := range []string{"", "off"} {
		t.Run("EXTBUILDER_SANDBOX="+mode, func(t *testing.T) {
			propagate := []string{configVariable, "HOSTILE_KEY", "HOSTILE_LEDGER", "HOSTILE_CONFIG", "HOSTILE_OTHER_CC",
				"HOSTILE_PEER_TMP", "HOSTILE_OTHER_ADDR", "HOSTILE_ABSTRACT", "HOSTILE_PEER_PID", sandbox.ModeVariable}
			env := []string{"HOSTILE_KEY=" + key, "HOSTILE_LEDGER=" + ledger, "HOSTILE_CONFIG=" + config,
				"HOSTILE_OTHER_ADDR=" + otherAddr, "HOSTILE_ABSTRACT=" + abstract,
				// run's parent is the peer; here, this test process.
				"HOSTILE_PEER_PID=" + strconv.Itoa(os.Getpid())}
			if mode != "" {
				env = append(env, sandbox.ModeVariable+"="+mode)
			}
			in := installBinary(t, "binary-hostile", `{"type":"binary","label":"hostile_1.0","path":"bin/hostile"}`,
				[]peersim.Entry{{Name: "bin/hostile", Mode: 0o755, Body: exe}}, propagate, env...)
			if in.err != nil {
				t.Fatalf("install: %v", in.err)
			}
			// Another chaincode's build folder in the peer's cache, and the
			// peer's TMPDIR, both named to the chaincode by variables.
			other := filepath.Join(in.peer.FileSystemPath, "externalbuilder", "builds", "other_1.0-abc", "bld")
			if err := os.MkdirAll(other, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(other, "chaincode"), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			var peerTmp string
			for _, kv := range in.peer.Env {
				if v, ok := strings.CutPrefix(kv, "TMPDIR="); ok {
					peerTmp = v
				}
			}
			in.peer.Env = append(in.peer.Env, "HOSTILE_OTHER_CC="+filepath.Join(other, "chaincode"), "HOSTILE_PEER_TMP="+peerTmp)

			ca := testpki.NewCA("peer chaincode CA")
			client := ca.Client(in.pkg.ID)
			run, err := in.peer.Launch(in.res, peersim.ChaincodeJSON{ChaincodeID: in.pkg.ID, PeerAddress: peerAddr,
				ClientCert: client.CertPEM, ClientKey: client.KeyPEM, RootCert: ca.CertPEM, MSPID: "Org1MSP"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(run.Kill)
			var report map[string]string
			if data := waitStderr(t, run, "hostile-report "); json.Unmarshal([]byte(data), &report) != nil {
				t.Fatalf("malformed report %q", data)
			}
			linger, _ := strconv.Atoi(report["linger_pid"])
			t.Cleanup(func() {
				if linger > 0 {
					syscall.Kill(linger, syscall.SIGKILL)
				}
			})
			if linger == 0 {
				t.Fatalf("the chaincode could not start its lingering child: %s", report["linger_start"])
			}
			for _, name := range legitimate {
				if report[name] != "ok" {
					t.Errorf("%s: the chaincode could not do what a chaincode must: %s", name, report[name])
				}
			}
			if got := <-seen; got != in.pkg.ID {
				t.Errorf("the peer endpoint read %q, want the package ID", got)
			}
			for _, name := range escapes {
				got, ok := report[name]
				switch {
				case !ok:
					t.Errorf("%s: not tried", name)
				case mode == "off" && got != "ok":
					t.Errorf("%s: failed with the sandbox off (%s): the test cannot tell the sandbox refused it", name, got)
				case mode == "" && abi >= needs[name] && got == "ok":
					t.Errorf("%s: escaped the sandbox", name)
				case mode == "":
					t.Logf("%s: refused: %s", name, got)
				}
			}
			if mode == "" {
				if info := run.Stderr()[0]; !strings.HasPrefix(info, "run: sandbox: best-effort, Landlock ABI ") {
					t.Errorf("run's first line %q", info)
				}
			}

			// The peer is killed, or kills run with SIGKILL: nothing of the
			// chaincode may stay, not even a child in its own session that
			// ignores SIGTERM. With the sandbox off, it stays (it is killed
			// in cleanup).
			run.Kill()
			gone := waitGone(linger, 5*time.Second)
			switch {
			case mode == "" && abi >= 6 && !gone:
				t.Error("leave_child: a process of the chaincode outlived run's SIGKILL")
			case mode == "off" && gone:
				t.Error("leave_child: with the sandbox off the lingering child died too: the test cannot tell the sandbox killed it")
			}
		})
	}
}

// waitGone waits until pid has ended (or is a zombie nobody reaps).
func waitGone(pid int, limit time.Duration) bool {
	end := time.Now().Add(limit)
	for {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		if i := strings.LastIndexByte(string(data), ')'); i > 0 && len(data) > i+2 && (data[i+2] == 'Z' || data[i+2] == 'X') {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestShellChaincodeRunsConfined: a #!/bin/sh chaincode with the default
// settings runs its tools, reads its own tree, writes its scratch folder
// and ends as usual.
func TestShellChaincodeRunsConfined(t *testing.T) {
	script := "#!/bin/sh\nset -e\nhead -n 1 \"$0\" > \"$TMPDIR/out\"\n" +
		"echo \"chaincode read $(cat \"$TMPDIR/out\") and dials $CORE_PEER_ADDRESS\" >&2\n" +
		"if ls /etc > /dev/null 2>&1; then echo 'listed /etc' >&2; else echo 'cannot list /etc' >&2; fi\nexit 3\n"
	in := installBinary(t, "binary-shell", `{"type":"binary","label":"shell_1.0","path":"bin/start.sh"}`,
		[]peersim.Entry{{Name: "bin/start.sh", Mode: 0o755, Body: []byte(script)}}, []string{configVariable})
	if in.err != nil {
		t.Fatalf("install: %v", in.err)
	}
	run, err := in.peer.Launch(in.res, peersim.ChaincodeJSON{ChaincodeID: in.pkg.ID, PeerAddress: "127.0.0.1:7052", MSPID: "Org1MSP"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(run.Kill)
	<-run.Done()
	out := run.Stderr()
	if code := run.ExitCode(); code != 3 {
		t.Fatalf("run exited %d, want the chaincode's 3; stderr %q", code, out)
	}
	want := []string{"chaincode read #!/bin/sh and dials 127.0.0.1:7052", "run: chaincode exited with status 3"}
	if sandbox.ABI() >= 1 {
		want = append(want[:1], "cannot list /etc", want[1])
	}
	if len(out) != len(want)+1 || strings.Join(out[1:], "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr %q, want the sandbox line then %q", out, want)
	}
}
