//go:build linux

// Package scale is the peer-scale scenario: N binary-package chaincodes,
// installed and launched through bin/run the way a peer does it (test/peersim),
// dial a stand-in peer over mutual TLS, log at full speed, and are stopped
// together with SIGTERM to every run at once, as a stopping peer does.
//
// test/scale_test.go runs it with a few chaincodes and checks only
// correctness; `make bench` (test/bench) runs it with 100 and prints the
// figures against their budgets.
package scale

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/extbuilder/extbuilder/internal/testpki"
	"github.com/extbuilder/extbuilder/test/peersim"
)

// Config is one scenario.
type Config struct {
	Root    string // the module root: the chaincode is built from test/scale/chaincode
	Builder string // the builder folder, holding bin/detect, bin/build, bin/release and bin/run
	Scratch string // an empty folder for the peer's files; the caller removes it
	N       int    // chaincodes
}

// Scenario is N installed packages and, once Launch has run, their launches.
type Scenario struct {
	cfg  Config
	peer *peersim.Peer
	ca   *testpki.CA
	ln   net.Listener
	ccs  []*chaincode
	byID map[string]*chaincode

	connected chan *chaincode
	fdsBefore int
}

// chaincode is one package and its launch.
type chaincode struct {
	tag      string // the label, which starts each of its lines
	res      *peersim.Result
	launched *peersim.Launched

	mu          sync.Mutex // guards conn, pid, connectedAt
	conn        net.Conn   // its connection to the stand-in peer
	pid         int        // as it reported it
	connectedAt time.Time
	helpers     []int // processes between run and the chaincode, or beside it (not the chaincode's)

	received atomic.Int64 // its numbered lines, received in order

	// Set by the goroutine reading run's stderr; read once Done is closed.
	prefix   []byte // tag + " "
	bad      []string
	badCount int
	stopped  int64 // N of "TAG stopped N"; -1 until seen
	runLines []string
}

// Setup builds the chaincode and installs cfg.N binary packages holding it,
// labelled cc000, cc001...
func Setup(cfg Config) (*Scenario, error) {
	exe := filepath.Join(cfg.Scratch, "chaincode")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", exe, "./test/scale/chaincode")
	build.Dir = cfg.Root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the scale chaincode: %v: %s", err, out)
	}
	body, err := os.ReadFile(exe)
	if err != nil {
		return nil, err
	}
	// One code.tar.gz for all: the labels make the package IDs differ.
	code, err := peersim.TarGz([]peersim.Entry{{Name: "bin/chaincode", Mode: 0o755, Body: body}})
	if err != nil {
		return nil, err
	}
	tmp, fsPath := filepath.Join(cfg.Scratch, "tmp"), filepath.Join(cfg.Scratch, "peer")
	for _, d := range []string{tmp, fsPath} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	s := &Scenario{
		cfg: cfg,
		peer: &peersim.Peer{
			Builders:       []peersim.Builder{{Name: "extbuilder", Path: cfg.Builder}},
			Env:            []string{"PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=" + tmp},
			FileSystemPath: fsPath,
		},
		ca:        testpki.NewCA("peer chaincode CA"),
		byID:      map[string]*chaincode{},
		connected: make(chan *chaincode, cfg.N),
	}
	// Installed a few at a time: setup, not measured.
	s.ccs = make([]*chaincode, cfg.N)
	errs := make(chan error, cfg.N)
	slots := make(chan struct{}, 4)
	for i := range cfg.N {
		go func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			tag := fmt.Sprintf("cc%03d", i)
			pkg, err := peersim.NewPackage([]byte(`{"type":"binary","label":"`+tag+`","path":"bin/chaincode"}`), code)
			if err != nil {
				errs <- err
				return
			}
			res, err := s.peer.Install(pkg)
			if err == nil && res.CachedBld == "" {
				err = errors.New("the builder did not build it")
			}
			if err != nil {
				errs <- fmt.Errorf("installing %s: %v", tag, err)
				return
			}
			s.ccs[i] = &chaincode{tag: tag, res: res, prefix: []byte(tag + " "), stopped: -1}
			errs <- nil
		}()
	}
	var first error
	for range cfg.N {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	for _, cc := range s.ccs {
		s.byID[cc.res.PackageID] = cc
	}
	return s, nil
}

// Launch starts the stand-in peer, then every chaincode at once, and waits
// until all have connected, returning how long that took from the first
// launch. It fails when a chaincode has not connected within timeout.
func (s *Scenario) Launch(timeout time.Duration) (time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	s.ln = tls.NewListener(ln, s.ca.Server("127.0.0.1").ServerTLS(s.ca))
	go s.accept()
	s.fdsBefore = openFDs()

	start := time.Now()
	errs := make(chan error, len(s.ccs))
	for _, cc := range s.ccs {
		go func() {
			client := s.ca.Client(cc.res.PackageID) // the peer issues a pair per launch
			l, err := s.peer.LaunchFunc(cc.res, peersim.ChaincodeJSON{
				ChaincodeID: cc.res.PackageID, PeerAddress: s.ln.Addr().String(),
				ClientCert: client.CertPEM, ClientKey: client.KeyPEM, RootCert: s.ca.CertPEM, MSPID: "Org1MSP",
			}, cc.line)
			cc.mu.Lock()
			cc.launched = l
			cc.mu.Unlock()
			errs <- err
		}()
	}
	for range s.ccs {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	deadline := time.After(timeout)
	for n := 0; n < len(s.ccs); n++ {
		select {
		case <-s.connected:
		case <-deadline:
			return 0, fmt.Errorf("%d of %d chaincodes connected within %s; not connected: %s", n, len(s.ccs), timeout, s.notConnected())
		}
	}
	var last time.Time
	for _, cc := range s.ccs {
		if cc.connectedAt.After(last) {
			last = cc.connectedAt
		}
		if err := cc.findHelpers(); err != nil {
			return 0, err
		}
	}
	return last.Sub(start), nil
}

func (s *Scenario) notConnected() string {
	var tags []string
	for _, cc := range s.ccs {
		cc.mu.Lock()
		if cc.conn == nil {
			what := cc.tag
			if cc.launched != nil {
				select {
				case <-cc.launched.Done():
					what += fmt.Sprintf(" (run exited: %q)", cc.runLines)
				default:
				}
			}
			tags = append(tags, what)
		}
		cc.mu.Unlock()
	}
	return strings.Join(tags, ", ")
}

// accept plays the peer's chaincode endpoint: each chaincode presents the
// client certificate run wrote for it and says "ID PID".
func (s *Scenario) accept() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			line, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil {
				conn.Close() // a failed handshake among them
				return
			}
			conn.SetReadDeadline(time.Time{})
			id, pid, _ := strings.Cut(strings.TrimSpace(line), " ")
			cc := s.byID[id]
			n, err := strconv.Atoi(pid)
			if cc == nil || err != nil || len(conn.(*tls.Conn).ConnectionState().PeerCertificates) == 0 {
				conn.Close()
				return
			}
			cc.mu.Lock()
			cc.conn, cc.pid, cc.connectedAt = conn, n, time.Now()
			cc.mu.Unlock()
			s.connected <- cc
		}()
	}
}

// line checks one line of run's stderr, in order: the chaincode's numbered
// lines must come whole and without a gap, run's own lines whole.
func (cc *chaincode) line(b []byte) {
	switch {
	case bytes.HasPrefix(b, []byte("run: ")):
		if bytes.Contains(b, []byte("xxxxxxxx")) {
			cc.badLine(b) // a chaincode line inside run's
			return
		}
		cc.runLines = append(cc.runLines, string(b))
	case bytes.HasPrefix(b, cc.prefix):
		rest := b[len(cc.prefix):]
		if n, ok := bytes.CutPrefix(rest, []byte("stopped ")); ok {
			cc.stopped, _ = strconv.ParseInt(string(n), 10, 64)
			return
		}
		want := cc.received.Load()
		if len(b) != LineSize-1 || len(rest) < 10 || rest[9] != ' ' || !allX(rest[10:]) {
			cc.badLine(b)
			return
		}
		if n, err := strconv.ParseInt(string(rest[:9]), 10, 64); err != nil || n != want {
			cc.badLine(b)
			return
		}
		cc.received.Add(1)
	default:
		cc.badLine(b)
	}
}

// LineSize is the chaincode's line length, newline included.
const LineSize = 100

func allX(b []byte) bool {
	for _, c := range b {
		if c != 'x' {
			return false
		}
	}
	return true
}

func (cc *chaincode) badLine(b []byte) {
	cc.badCount++
	if len(cc.bad) < 3 {
		cc.bad = append(cc.bad, string(b[:min(len(b), 160)]))
	}
}

// findHelpers records the processes extbuilder keeps alive for this
// chaincode besides run: run's descendants that are not the chaincode's
// (a confinement step that stays resident as the chaincode's parent).
func (cc *chaincode) findHelpers() error {
	tree, err := processTree()
	if err != nil {
		return err
	}
	run := cc.launched.Pid()
	// The chaincode reported its PID as it sees it; in a PID namespace that
	// is the last of the NSpid values of its process here.
	var all []int
	var collect func(pid int)
	collect = func(pid int) {
		for _, child := range tree[pid] {
			all = append(all, child)
			collect(child)
		}
	}
	collect(run)
	reported, found := cc.pid, false
	for _, pid := range all {
		if ns := nsPIDs(pid); len(ns) > 0 && ns[len(ns)-1] == reported && (len(ns) > 1 || pid == reported) {
			cc.pid, found = pid, true
			break
		}
	}
	if !found {
		return fmt.Errorf("%s: the chaincode (pid %d) is not a descendant of its run (pid %d)", cc.tag, reported, run)
	}
	var walk func(pid int)
	walk = func(pid int) {
		for _, child := range tree[pid] {
			if child == cc.pid {
				continue // the chaincode and what it started are not extbuilder's
			}
			cc.helpers = append(cc.helpers, child)
			walk(child)
		}
	}
	walk(run)
	return nil
}

// nsPIDs returns the NSpid line of /proc/PID/status: the process's PID in
// each PID namespace it is in, outermost first.
func nsPIDs(pid int) []int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "NSpid:"); ok {
			var ids []int
			for _, f := range strings.Fields(rest) {
				n, err := strconv.Atoi(f)
				if err != nil {
					return nil
				}
				ids = append(ids, n)
			}
			return ids
		}
	}
	return nil
}

// Memory is the proportional set size of what extbuilder keeps alive per
// chaincode: run and any process between run and the chaincode.
type Memory struct {
	Total     int64 // bytes, all chaincodes
	PerMax    int64 // bytes, the largest for one chaincode
	Processes int   // per chaincode: run plus the helpers
}

// PSS reads /proc/PID/smaps_rollup of run and its helpers for every chaincode.
func (s *Scenario) PSS() (Memory, error) {
	var m Memory
	for _, cc := range s.ccs {
		pids := append([]int{cc.launched.Pid()}, cc.helpers...)
		m.Processes = max(m.Processes, len(pids))
		var sum int64
		for _, pid := range pids {
			pss, err := pssOf(pid)
			if err != nil {
				return m, fmt.Errorf("%s: %v", cc.tag, err)
			}
			sum += pss
		}
		m.Total += sum
		m.PerMax = max(m.PerMax, sum)
	}
	return m, nil
}

// Logging is what Log measured.
type Logging struct {
	Window    time.Duration
	LinesPerS float64 // all chaincodes together, as the peer received them
	Slowest   float64 // the slowest chaincode's lines over the mean (1 is fair)
	SlowestCC string
}

// Log tells every chaincode to log as fast as it can, waits warmup, then
// counts the lines the peer receives during window. The chaincodes keep
// logging until Stop.
func (s *Scenario) Log(warmup, window time.Duration) (Logging, error) {
	for _, cc := range s.ccs {
		if _, err := cc.conn.Write([]byte("log\n")); err != nil {
			return Logging{}, fmt.Errorf("%s: %v", cc.tag, err)
		}
	}
	time.Sleep(warmup)
	before := make([]int64, len(s.ccs))
	t0 := time.Now()
	for i, cc := range s.ccs {
		before[i] = cc.received.Load()
	}
	time.Sleep(window)
	var total, slowest int64 = 0, -1
	lg := Logging{}
	for i, cc := range s.ccs {
		n := cc.received.Load() - before[i]
		total += n
		if slowest < 0 || n < slowest {
			slowest, lg.SlowestCC = n, cc.tag
		}
	}
	lg.Window = time.Since(t0)
	lg.LinesPerS = float64(total) / lg.Window.Seconds()
	if total > 0 {
		lg.Slowest = float64(slowest) / (float64(total) / float64(len(s.ccs)))
	}
	return lg, nil
}

// Stopping is what Stop measured.
type Stopping struct {
	Slowest   time.Duration // SIGTERM to the last of a chaincode's processes gone, worst chaincode
	SlowestCC string
	Killed    []string // runs that the peer had to SIGKILL after its 5 s
	Left      []string // processes still there 5 s after SIGTERM
}

// Stop sends SIGTERM to every run at once, as a stopping peer does, and
// waits for every run, chaincode and helper process to be gone.
func (s *Scenario) Stop() Stopping {
	var (
		st    Stopping
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for _, cc := range s.ccs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			t := time.Now()
			killed := cc.launched.Stop(peersim.StopGrace) // SIGTERM, SIGKILL after 5 s
			left := waitGone(append([]int{cc.pid}, cc.helpers...), t.Add(peersim.StopGrace))
			took := time.Since(t)
			mu.Lock()
			defer mu.Unlock()
			if killed {
				st.Killed = append(st.Killed, cc.tag)
			}
			for _, pid := range left {
				st.Left = append(st.Left, fmt.Sprintf("%s: pid %d", cc.tag, pid))
			}
			if took > st.Slowest {
				st.Slowest, st.SlowestCC = took, cc.tag
			}
		}()
	}
	close(start)
	wg.Wait()
	sort.Strings(st.Killed)
	sort.Strings(st.Left)
	return st
}

// Problems lists what went wrong, once Stop has returned: lines lost or
// mangled, chaincodes that did not end as told, connections, file
// descriptors or processes left behind. Empty means all is well.
func (s *Scenario) Problems() []string {
	var p []string
	for _, cc := range s.ccs {
		got := cc.received.Load()
		switch {
		case cc.badCount > 0:
			p = append(p, fmt.Sprintf("%s: %d lines were not whole lines of the chaincode or of run, e.g. %q", cc.tag, cc.badCount, cc.bad))
		case cc.stopped < 0:
			p = append(p, fmt.Sprintf("%s: no \"stopped\" line, the chaincode's last; run's lines: %q", cc.tag, cc.runLines))
		case cc.stopped == 0:
			p = append(p, cc.tag+": the chaincode logged nothing before SIGTERM")
		case got != cc.stopped:
			p = append(p, fmt.Sprintf("%s: the chaincode logged %d lines, the peer received %d", cc.tag, cc.stopped, got))
		}
		if code := cc.launched.ExitCode(); code != 0 {
			p = append(p, fmt.Sprintf("%s: run exited with %d, expected 0 (the chaincode exits 0 on SIGTERM); run's lines: %q", cc.tag, code, cc.runLines))
		}
		if _, err := os.Stat(cc.launched.RunMetadataDir); err == nil {
			p = append(p, cc.tag+": RUN_METADATA_DIR left behind")
		}
	}
	for _, cc := range s.ccs {
		cc.conn.Close()
	}
	// The peer's side of the connections closes as the chaincodes go.
	var fds int
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if fds = openFDs(); fds <= s.fdsBefore {
			break
		}
	}
	if fds > s.fdsBefore {
		p = append(p, fmt.Sprintf("%d file descriptors open in the peer after the stop, %d before the launch", fds, s.fdsBefore))
	}
	for _, proc := range s.Leftovers() {
		p = append(p, "left behind: "+proc)
	}
	return p
}

// Leftovers lists the live processes running a program of the builder or
// of the installed packages.
func (s *Scenario) Leftovers() []string {
	var left []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil || !(inside(exe, s.cfg.Builder) || inside(exe, s.cfg.Scratch)) {
			continue
		}
		if state, _ := procState(pid); state != "Z" && state != "X" && state != "" {
			left = append(left, fmt.Sprintf("pid %d %s", pid, exe))
		}
	}
	return left
}

// Close ends whatever is still running; for the callers' cleanup.
func (s *Scenario) Close() {
	if s.ln != nil {
		s.ln.Close()
	}
	for _, cc := range s.ccs {
		if cc.launched != nil {
			cc.launched.Kill()
		}
		if cc.conn != nil {
			cc.conn.Close()
		}
	}
}

func inside(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && filepath.IsLocal(rel)
}

// waitGone waits until every pid is gone (or a zombie) or until deadline,
// returning those left.
func waitGone(pids []int, deadline time.Time) []int {
	for {
		var left []int
		for _, pid := range pids {
			if state, _ := procState(pid); state != "" && state != "Z" && state != "X" {
				left = append(left, pid)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// procState returns the state and parent of pid from /proc/PID/stat; ""
// when there is no such process.
func procState(pid int) (string, int) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0
	}
	i := bytes.LastIndexByte(data, ')') // the name may hold spaces and parentheses
	if i < 0 {
		return "", 0
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 2 {
		return "", 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return f[0], ppid
}

// processTree maps each process to its children.
func processTree() (map[int][]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	tree := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if state, ppid := procState(pid); state != "" {
			tree[ppid] = append(tree[ppid], pid)
		}
	}
	return tree, nil
}

func pssOf(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Pss:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no Pss in /proc/%d/smaps_rollup", pid)
}

func openFDs() int {
	entries, _ := os.ReadDir("/proc/self/fd")
	return len(entries)
}
