//go:build linux

package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/extbuilder/extbuilder/internal/testpki"
)

// deadline bounds every wait so that a broken run fails the test instead of
// hanging it. It is not a speed target: machines are noisy.
const deadline = 15 * time.Second

var (
	runBin    string // bin/run built from this package
	fakeccBin string // the stand-in chaincode, testdata/fakecc
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "run-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	runBin = filepath.Join(dir, "run")
	fakeccBin = filepath.Join(dir, "fakecc")
	for _, b := range []struct{ out, pkg string }{{runBin, "."}, {fakeccBin, "./testdata/fakecc"}} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", b.pkg, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Record mirrors testdata/fakecc's Record.
type Record struct {
	Pid         int
	Pgid        int
	Args        []string
	Cwd         string
	Env         []string
	PeerAddress string
	TLSEnabled  bool
	Files       map[string]struct {
		Path    string
		Mode    uint32
		Content string
	}
	Base64Same bool
	Dial       string
	ChildPid   int
}

func (r Record) env() map[string]string {
	m := map[string]string{}
	for _, kv := range r.Env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// peer plays the peer's chaincode endpoint: it accepts connections, reads
// the chaincode ID line and replies. With TLS, its certificate is signed by
// the CA given to the chaincode as root_cert and it requires a client
// certificate signed by the same CA (the peer issues both).
type peer struct {
	addr string
	mu   sync.Mutex
	seen []seen
}

type seen struct {
	ID         string
	ClientCert []byte // DER of the certificate the chaincode presented
}

func startPeer(t *testing.T, ca *testpki.CA) *peer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if ca != nil {
		ln = tls.NewListener(ln, ca.Server("127.0.0.1").ServerTLS(ca))
	}
	t.Cleanup(func() { ln.Close() })
	p := &peer{addr: ln.Addr().String()}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(conn)
		}
	}()
	return p
}

func (p *peer) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(deadline))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return // includes a failed TLS handshake
	}
	s := seen{ID: strings.TrimSuffix(line, "\n")}
	if tc, ok := conn.(*tls.Conn); ok {
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			s.ClientCert = certs[0].Raw
		}
	}
	p.mu.Lock()
	p.seen = append(p.seen, s)
	p.mu.Unlock()
	conn.Write([]byte("ok\n"))
}

func (p *peer) connections() []seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seen(nil), p.seen...)
}

// layout is one BUILD_OUTPUT_DIR and RUN_METADATA_DIR, laid out as the peer
// lays them out.
type layout struct {
	build, meta string
}

const packageID = "basic_1.0:5f2e8a0c4b1d9e7f3a6c2b8d0e4f1a7c9b3d5e8f2a4c6b1d7e9f0a3c5b2d4e6f"

func newLaunch(t *testing.T, chaincodeJSON any) *layout {
	t.Helper()
	root := t.TempDir()
	l := &layout{build: filepath.Join(root, "bld"), meta: filepath.Join(root, "run")}
	require.NoError(t, os.Mkdir(l.build, 0o700))
	require.NoError(t, os.Mkdir(l.meta, 0o700))
	exe, err := os.ReadFile(fakeccBin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(l.build, "chaincode"), exe, 0o755))
	var data []byte
	if s, ok := chaincodeJSON.(string); ok {
		data = []byte(s)
	} else {
		data, err = json.Marshal(chaincodeJSON)
		require.NoError(t, err)
	}
	require.NoError(t, os.WriteFile(filepath.Join(l.meta, "chaincode.json"), data, 0o600))
	return l
}

type tlsMaterial struct {
	ca     *testpki.CA
	client *testpki.Pair
}

func newTLS() tlsMaterial {
	ca := testpki.NewCA("peer chaincode CA")
	return tlsMaterial{ca: ca, client: ca.Client("chaincode")}
}

func chaincodeJSON(p *peer, m *tlsMaterial) map[string]string {
	cc := map[string]string{
		"chaincode_id": packageID,
		"peer_address": p.addr,
		"client_cert":  "",
		"client_key":   "",
		"root_cert":    "",
		"mspid":        "Org1MSP",
	}
	if m != nil {
		cc["client_cert"] = m.client.CertPEM
		cc["client_key"] = m.client.KeyPEM
		cc["root_cert"] = m.ca.CertPEM
	}
	return cc
}

// proc is a running bin/run.
type proc struct {
	cmd     *exec.Cmd
	start   time.Time
	done    chan struct{}
	stdout  bytes.Buffer
	mu      sync.Mutex
	lines   []string // run's stderr, read the way the peer reads it; final once done is closed
	scanErr error
	code    int
}

// startRun starts bin/run as the peer does, with a pruned environment that
// also holds variables run must withhold or override, and extra ones.
func startRun(t *testing.T, l *layout, mode string, extra ...string) *proc {
	t.Helper()
	cmd := exec.Command(runBin, l.build, l.meta)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"FAKECC_MODE=" + mode,
		"PROPAGATED_SETTING=kept",
		"CHAINCODE_SERVER_ADDRESS=0.0.0.0:9999",
		"CHAINCODE_ID=should-not-leak",
		"CORE_PEER_TLS_ROOTCERT_FILE=/etc/stale/ca.pem",
		"CORE_PEER_ADDRESS=stale:7051",
	}
	cmd.Env = append(cmd.Env, extra...)
	p := &proc{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = &p.stdout
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p.start = time.Now()
	go func() {
		defer close(p.done)
		// The peer's reader: a default bufio.Scanner, line by line.
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		p.scanErr = sc.Err()
		if p.scanErr != nil {
			io.Copy(io.Discard, stderr) // keep run from blocking, so the test ends
		}
		cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.code = 128 + int(ws.Signal())
		}
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		// The chaincode dies with run (parent-death signal); make sure even
		// if that is broken, nothing outlives the test.
		if rec, ok := readRecord(p.sofar()); ok {
			syscall.Kill(rec.Pid, syscall.SIGKILL)
			if rec.ChildPid != 0 {
				syscall.Kill(rec.ChildPid, syscall.SIGKILL)
			}
		}
	})
	return p
}

// sofar returns the stderr lines read so far, for failure messages.
func (p *proc) sofar() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// wait waits for run to exit and returns its exit status.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(deadline):
		t.Fatalf("run did not exit within %s; stderr so far: %q", deadline, p.sofar())
		return -1
	}
}

func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	// To run's process only, as the peer does; never to its group.
	require.NoError(t, p.cmd.Process.Signal(sig))
}

func (p *proc) lastLine() string {
	if len(p.lines) == 0 {
		return ""
	}
	return p.lines[len(p.lines)-1]
}

// recordPrefix starts the stderr line on which fakecc records what it saw.
const recordPrefix = "fakecc-record "

// readRecord finds fakecc's record among run's stderr lines.
func readRecord(lines []string) (Record, bool) {
	var rec Record
	for _, line := range lines {
		if data, ok := strings.CutPrefix(line, recordPrefix); ok {
			return rec, json.Unmarshal([]byte(data), &rec) == nil
		}
	}
	return rec, false
}

// waitRecord waits until the chaincode has recorded what it saw, which it
// does once it is up, right before it starts its behaviour.
func waitRecord(t *testing.T, p *proc) Record {
	t.Helper()
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		if rec, ok := readRecord(p.sofar()); ok {
			return rec
		}
		select {
		case <-p.done:
			if rec, ok := readRecord(p.sofar()); ok {
				return rec
			}
			t.Fatalf("run exited (%d) before the chaincode recorded anything; stderr: %q", p.code, p.lines)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("the chaincode recorded nothing within %s; stderr: %q", deadline, p.sofar())
	return Record{}
}

// processGone waits until pid has ended (exited or a zombie nobody reaps:
// the test's PID 1 may not reap). startTime guards against PID reuse.
func processGone(t *testing.T, pid int) bool {
	t.Helper()
	first := procStartTime(pid)
	end := time.Now().Add(deadline)
	for time.Now().Before(end) {
		state, start, err := procStat(pid)
		if err != nil || state == "Z" || state == "X" || (first != "" && start != first) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func procStartTime(pid int) string {
	_, start, _ := procStat(pid)
	return start
}

// procStat returns the state and start time fields of /proc/PID/stat.
func procStat(pid int) (state, start string, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", "", err
	}
	// The command name is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return "", "", errors.New("unexpected /proc stat format")
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 20 {
		return "", "", errors.New("unexpected /proc stat format")
	}
	return f[0], f[19], nil
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestChaincodeGetsWhatTheShimsReadAndReachesThePeerOverTLS(t *testing.T) {
	m := newTLS()
	p := startPeer(t, m.ca)
	l := newLaunch(t, chaincodeJSON(p, &m))
	r := startRun(t, l, "exit=0")
	rec := waitRecord(t, r)
	require.Equal(t, 0, r.wait(t), "stderr: %q", r.lines)

	// The handshake succeeded both ways with chaincode.json's material.
	assert.Equal(t, "ok", rec.Dial)
	conns := p.connections()
	require.Len(t, conns, 1)
	assert.Equal(t, packageID, conns[0].ID)
	assert.Equal(t, m.client.Cert.Raw, conns[0].ClientCert)

	// Flag, arguments, working directory.
	exe, _ := filepath.Abs(filepath.Join(l.build, "chaincode"))
	assert.Equal(t, []string{exe, "-peer.address=" + p.addr}, rec.Args)
	assert.Equal(t, p.addr, rec.PeerAddress)
	wantCwd, _ := filepath.EvalSymlinks(l.build)
	gotCwd, _ := filepath.EvalSymlinks(rec.Cwd)
	assert.Equal(t, wantCwd, gotCwd)
	assert.Equal(t, rec.Pid, rec.Pgid, "the chaincode leads its own process group")

	// Variables.
	env := rec.env()
	assert.Len(t, env, len(rec.Env), "no variable is set twice")
	meta, _ := filepath.Abs(l.meta)
	want := map[string]string{
		"CORE_CHAINCODE_ID_NAME":      packageID,
		"CORE_PEER_ADDRESS":           p.addr,
		"CORE_PEER_TLS_ENABLED":       "true",
		"CORE_PEER_LOCALMSPID":        "Org1MSP",
		"CORE_TLS_CLIENT_KEY_FILE":    filepath.Join(meta, "client-key.pem"),
		"CORE_TLS_CLIENT_CERT_FILE":   filepath.Join(meta, "client-cert.pem"),
		"CORE_PEER_TLS_ROOTCERT_FILE": filepath.Join(meta, "peer-root-cert.pem"),
		"CORE_TLS_CLIENT_KEY_PATH":    filepath.Join(meta, "client-key.pem.base64"),
		"CORE_TLS_CLIENT_CERT_PATH":   filepath.Join(meta, "client-cert.pem.base64"),
		"PROPAGATED_SETTING":          "kept",
		"PATH":                        os.Getenv("PATH"),
	}
	for k, v := range want {
		assert.Equal(t, v, env[k], k)
	}
	assert.NotContains(t, env, "CHAINCODE_SERVER_ADDRESS")
	assert.NotContains(t, env, "CHAINCODE_ID")

	// Files: contents and modes, in both forms.
	wantContent := map[string]string{
		"CORE_TLS_CLIENT_KEY_FILE":    m.client.KeyPEM,
		"CORE_TLS_CLIENT_CERT_FILE":   m.client.CertPEM,
		"CORE_PEER_TLS_ROOTCERT_FILE": m.ca.CertPEM,
		"CORE_TLS_CLIENT_KEY_PATH":    base64.StdEncoding.EncodeToString([]byte(m.client.KeyPEM)),
		"CORE_TLS_CLIENT_CERT_PATH":   base64.StdEncoding.EncodeToString([]byte(m.client.CertPEM)),
	}
	require.Len(t, rec.Files, len(wantContent))
	for v, content := range wantContent {
		f := rec.Files[v]
		assert.Equal(t, content, f.Content, v)
		assert.Equal(t, uint32(0o600), f.Mode, "%s mode %o", v, f.Mode)
	}
	assert.True(t, rec.Base64Same, "the base64 files decode to the PEM files")

	// run's lines; nothing on stdout; key material removed once the chaincode ended.
	assert.Equal(t, "run: chaincode exited with status 0", r.lastLine())
	assert.Empty(t, r.stdout.String())
	assert.Equal(t, []string{"chaincode.json"}, entries(t, l.meta))
}

func TestChaincodeWithoutTLS(t *testing.T) {
	p := startPeer(t, nil)
	l := newLaunch(t, chaincodeJSON(p, nil))
	r := startRun(t, l, "exit=0")
	rec := waitRecord(t, r)
	require.Equal(t, 0, r.wait(t), "stderr: %q", r.lines)

	assert.Equal(t, "ok", rec.Dial)
	assert.False(t, rec.TLSEnabled)
	env := rec.env()
	assert.Equal(t, "false", env["CORE_PEER_TLS_ENABLED"])
	assert.Equal(t, packageID, env["CORE_CHAINCODE_ID_NAME"])
	assert.Equal(t, p.addr, env["CORE_PEER_ADDRESS"])
	for _, v := range []string{"CORE_TLS_CLIENT_KEY_FILE", "CORE_TLS_CLIENT_CERT_FILE", "CORE_PEER_TLS_ROOTCERT_FILE",
		"CORE_TLS_CLIENT_KEY_PATH", "CORE_TLS_CLIENT_CERT_PATH"} {
		assert.NotContains(t, env, v, "no TLS file variable without TLS, not even an inherited one")
	}
	assert.Empty(t, rec.Files)
	// Without TLS the chaincode does not wait for the reply: the peer
	// stand-in may record the connection after run has exited.
	require.Eventually(t, func() bool { return len(p.connections()) == 1 }, deadline, 10*time.Millisecond)
	assert.Equal(t, packageID, p.connections()[0].ID)
}

func TestExitStatusPropagates(t *testing.T) {
	p := startPeer(t, nil)
	for _, code := range []int{0, 1, 3, 42} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			l := newLaunch(t, chaincodeJSON(p, nil))
			r := startRun(t, l, "exit="+strconv.Itoa(code))
			assert.Equal(t, code, r.wait(t))
			assert.Equal(t, fmt.Sprintf("run: chaincode exited with status %d", code), r.lastLine())
		})
	}
}

func TestStopSignalIsPassedOn(t *testing.T) {
	cases := []struct {
		name, mode string
		sig        syscall.Signal
		code       int
		last       string
		output     string // a line the chaincode printed while stopping
	}{
		{"SIGTERM, default action", "wait", syscall.SIGTERM, 143,
			"run: chaincode was stopped by SIGTERM, passed on by run (exit status 143)", ""},
		{"SIGINT, default action", "wait", syscall.SIGINT, 130,
			"run: chaincode was stopped by SIGINT, passed on by run (exit status 130)", ""},
		{"SIGTERM, handled", "graceful", syscall.SIGTERM, 0,
			"run: chaincode exited with status 0 after run passed on SIGTERM", "graceful stop"},
	}
	p := startPeer(t, nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newLaunch(t, chaincodeJSON(p, nil))
			r := startRun(t, l, c.mode)
			rec := waitRecord(t, r)
			r.signal(t, c.sig)
			assert.Equal(t, c.code, r.wait(t), "stderr: %q", r.lines)
			assert.Equal(t, c.last, r.lastLine())
			assert.Contains(t, r.lines, fmt.Sprintf("run: received %s; passing it to the chaincode (process group %d), which has 4s to exit", signalName(c.sig), rec.Pid))
			if c.output != "" {
				assert.Contains(t, r.lines, c.output)
			}
			assert.True(t, processGone(t, rec.Pid))
		})
	}
}

func signalName(s syscall.Signal) string {
	return map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGINT: "SIGINT"}[s]
}

func TestStopReachesTheWholeProcessGroup(t *testing.T) {
	// The chaincode waits for a process it started, which stops only when
	// it gets SIGTERM itself: only a signal to the group ends both.
	p := startPeer(t, nil)
	l := newLaunch(t, chaincodeJSON(p, nil))
	r := startRun(t, l, "group")
	rec := waitRecord(t, r)
	require.NotZero(t, rec.ChildPid)
	r.signal(t, syscall.SIGTERM)
	assert.Equal(t, 0, r.wait(t), "stderr: %q", r.lines)
	assert.Contains(t, r.lines, "graceful stop", "the started process got SIGTERM and its output reached run's stderr")
	assert.Equal(t, "run: chaincode exited with status 0 after run passed on SIGTERM", r.lastLine())
	assert.True(t, processGone(t, rec.Pid), "chaincode")
	assert.True(t, processGone(t, rec.ChildPid), "the process the chaincode started")
}

func TestNothingTheChaincodeStartedOutlivesIt(t *testing.T) {
	p := startPeer(t, nil)
	l := newLaunch(t, chaincodeJSON(p, nil))
	r := startRun(t, l, "orphan") // starts a process and exits without it
	rec := waitRecord(t, r)
	require.NotZero(t, rec.ChildPid)
	assert.Equal(t, 0, r.wait(t), "stderr: %q", r.lines)
	assert.True(t, processGone(t, rec.ChildPid), "the process the chaincode left behind")
}

func TestChaincodeIgnoringSIGTERMIsKilledAfterTheGracePeriod(t *testing.T) {
	p := startPeer(t, nil)
	l := newLaunch(t, chaincodeJSON(p, nil))
	r := startRun(t, l, "ignore")
	rec := waitRecord(t, r)
	signalled := time.Now()
	r.signal(t, syscall.SIGTERM)
	assert.Equal(t, 137, r.wait(t), "stderr: %q", r.lines)
	// A lower bound cannot flake: the kill is never early.
	assert.GreaterOrEqual(t, time.Since(signalled), 4*time.Second)
	assert.Equal(t, "run: chaincode did not exit within 4s of SIGTERM and was killed (exit status 137)", r.lastLine())
	assert.True(t, processGone(t, rec.Pid))
}

func TestChaincodeDiesWithRun(t *testing.T) {
	p := startPeer(t, nil)
	l := newLaunch(t, chaincodeJSON(p, nil))
	r := startRun(t, l, "ignore") // it would survive anything but SIGKILL
	rec := waitRecord(t, r)
	r.signal(t, syscall.SIGKILL)
	assert.Equal(t, 137, r.wait(t))
	assert.True(t, processGone(t, rec.Pid), "the chaincode outlived run")
}

func TestLongLineIsSplitForThePeersReader(t *testing.T) {
	p := startPeer(t, nil)
	l := newLaunch(t, chaincodeJSON(p, nil))
	r := startRun(t, l, "bigline")
	require.Equal(t, 0, r.wait(t))
	require.NoError(t, r.scanErr, "the peer's line reader gave up")

	want := strings.Repeat("0123456789abcdef", 100*1024/16)
	var pieces []string
	for _, line := range r.lines {
		if strings.HasPrefix(line, "0123") || (len(pieces) > 0 && len(strings.Join(pieces, "")) < len(want)) {
			pieces = append(pieces, line)
		}
	}
	assert.Greater(t, len(pieces), 1, "the line was split")
	for _, piece := range pieces {
		assert.Less(t, len(piece), 64*1024)
	}
	assert.Equal(t, want, strings.Join(pieces, ""), "nothing lost or reordered")
	assert.Contains(t, r.lines, "after bigline", "output after the long line still arrives")
	assert.Empty(t, r.stdout.String(), "chaincode output goes to stderr only")
}

// wrongArchitecture returns the fake chaincode with its ELF machine field
// changed to another architecture.
func wrongArchitecture(t *testing.T) ([]byte, string) {
	data, err := os.ReadFile(fakeccBin)
	require.NoError(t, err)
	machine, name := uint16(183), "arm64" // EM_AARCH64
	if data[18] == 183 {
		machine, name = 62, "amd64" // EM_X86_64
	}
	data[18], data[19] = byte(machine), byte(machine>>8) // little-endian targets only
	return data, name
}

func TestBadInputStartsNothing(t *testing.T) {
	m := newTLS()
	other := newTLS()
	p := startPeer(t, m.ca)
	good := func() map[string]string { return chaincodeJSON(p, &m) }
	with := func(k, v string) map[string]string { cc := good(); cc[k] = v; return cc }
	without := func(k string) map[string]string { cc := good(); delete(cc, k); return cc }

	cases := []struct {
		name  string
		json  any
		build func(t *testing.T, dir string)
		want  string
		exact bool
	}{
		{name: "malformed JSON", json: `{"chaincode_id": "x",`,
			want: "run: chaincode.json: malformed JSON at byte"},
		{name: "not an object", json: `["x"]`,
			want: "run: chaincode.json: expected a JSON object, found a JSON array", exact: true},
		{name: "missing chaincode_id", json: without("chaincode_id"),
			want: "run: chaincode.json: chaincode_id: required, but missing", exact: true},
		{name: "empty peer_address", json: with("peer_address", ""),
			want: "run: chaincode.json: peer_address: required, but empty", exact: true},
		{name: "peer_address without port", json: with("peer_address", "peer0.org1"),
			want: `run: chaincode.json: peer_address: expected host:port, found "peer0.org1"; hint: write host:port, e.g. "mycc.example.com:9999"`, exact: true},
		{name: "number", json: map[string]any{"chaincode_id": 7, "peer_address": "p:1"},
			want: "run: chaincode.json: chaincode_id: expected a JSON string, found a number", exact: true},
		{name: "TLS half set", json: with("root_cert", ""),
			want: "run: chaincode.json: root_cert: empty while client_cert and client_key are set; expected all of client_cert, client_key and root_cert (peer TLS on) or none (peer TLS off)", exact: true},
		{name: "root_cert not PEM", json: with("root_cert", "not a certificate"),
			want: "run: chaincode.json: root_cert: expected a PEM certificate, found no PEM block; hint: paste the PEM text, starting with -----BEGIN CERTIFICATE-----", exact: true},
		{name: "key in cert field", json: with("client_cert", m.client.KeyPEM),
			want: `run: chaincode.json: client_cert: expected PEM CERTIFICATE blocks, found a private key; hint: a private key does not belong here; never share it`, exact: true},
		{name: "key of another pair", json: with("client_key", other.client.KeyPEM),
			want: "run: chaincode.json: client_key: does not match the public key of client_cert (the first certificate)", exact: true},
		{name: "broken key", json: with("client_key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
			want: `run: chaincode.json: client_key: expected an RSA, ECDSA or Ed25519 private key in PKCS#1, PKCS#8 or SEC 1 form, found one that does not parse`, exact: true},
		{name: "oversized", json: `{"chaincode_id": "` + strings.Repeat("x", 1<<20) + `"}`,
			want: "run: chaincode.json: expected at most 1 MiB, found more", exact: true},
		{name: "missing executable", json: good(),
			build: func(t *testing.T, dir string) { require.NoError(t, os.Remove(filepath.Join(dir, "chaincode"))) },
			want:  `run: entrypoint: no such file in BUILD_OUTPUT_DIR; hint: build writes it for packages of type "binary"`},
		{name: "not executable", json: good(),
			build: func(t *testing.T, dir string) { require.NoError(t, os.Chmod(filepath.Join(dir, "chaincode"), 0o644)) },
			want:  "run: chaincode: expected an executable file, found mode 0644"},
		{name: "wrong architecture", json: good(),
			build: func(t *testing.T, dir string) {
				data, _ := wrongArchitecture(t)
				require.NoError(t, os.WriteFile(filepath.Join(dir, "chaincode"), data, 0o755))
			},
			want: "run: chaincode: is an ELF executable for "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newLaunch(t, c.json)
			if c.build != nil {
				c.build(t, l.build)
			}
			r := startRun(t, l, "exit=0")
			assert.Equal(t, 1, r.wait(t))
			require.Len(t, r.lines, 1, "one line: %q", r.lines)
			if c.exact {
				assert.Equal(t, c.want, r.lines[0])
			} else {
				assert.True(t, strings.HasPrefix(r.lines[0], c.want), "got %q", r.lines[0])
			}
			assert.NotContains(t, r.lines[0], "PRIVATE KEY-----")
			assert.NotContains(t, r.lines[0], strings.Split(m.client.KeyPEM, "\n")[1], "no key material")
			_, started := readRecord(r.lines)
			assert.False(t, started, "the chaincode was started")
			assert.Empty(t, p.connections())
			assert.Equal(t, []string{"chaincode.json"}, entries(t, l.meta), "no TLS file written")
		})
	}
}

func TestWrongArchitectureMessage(t *testing.T) {
	p := startPeer(t, nil)
	l := newLaunch(t, chaincodeJSON(p, nil))
	data, name := wrongArchitecture(t)
	require.NoError(t, os.WriteFile(filepath.Join(l.build, "chaincode"), data, 0o755))
	r := startRun(t, l, "exit=0")
	assert.Equal(t, 1, r.wait(t))
	host := "amd64"
	if name == "amd64" {
		host = "arm64"
	}
	assert.Equal(t, []string{fmt.Sprintf("run: chaincode: is an ELF executable for %s, expected %s (the architecture of this peer); hint: build it with GOOS=linux GOARCH=%s CGO_ENABLED=0 (or the equivalent for your language)", name, host, host)}, r.lines)
}

func TestWrongArgumentCount(t *testing.T) {
	cmd := exec.Command(runBin, "only-one")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee))
	assert.Equal(t, 2, ee.ExitCode())
	assert.Equal(t, "run: expected 2 arguments, found 1; usage: run BUILD_OUTPUT_DIR RUN_METADATA_DIR\n", stderr.String())
}
