package launch

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/extbuilder/extbuilder/internal/layout"
	"github.com/extbuilder/extbuilder/internal/sandbox"
)

// These tests run the supervisor in-process with shell scripts as the
// chaincode; cmd/run's tests cover the real binary with real signals.

// output collects the chaincode's lines and run's own in one buffer, the
// way they share run's stderr. Run serializes the calls.
// A mutex lets a test read lines while Run still writes.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}
func (o *output) Infof(format string, a ...any) { fmt.Fprintf(o, "run: "+format+"\n", a...) }
func (o *output) Warnf(format string, a ...any) {
	fmt.Fprintf(o, "run: warning: "+format+"\n", a...)
}
func (o *output) lines() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Split(strings.TrimSuffix(o.buf.String(), "\n"), "\n")
}

type scriptLaunch struct {
	cfg    Config
	out    *output
	marker string // the script creates it once it is running
}

func newScriptLaunch(t *testing.T, script string, chaincodeJSON []byte) *scriptLaunch {
	t.Helper()
	root := t.TempDir()
	build, meta := filepath.Join(root, "bld"), filepath.Join(root, "run")
	require.NoError(t, os.Mkdir(build, 0o700))
	require.NoError(t, os.Mkdir(meta, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(build, layout.Executable), []byte(script), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(meta, ChaincodeFile), chaincodeJSON, 0o600))
	out := &output{}
	marker := filepath.Join(root, "running")
	return &scriptLaunch{
		cfg: Config{BuildDir: build, MetadataDir: meta, Output: out, Log: out,
			Env:     []string{"PATH=" + os.Getenv("PATH"), "MARKER=" + marker},
			Sandbox: sandbox.Settings{Mode: sandbox.Off}},
		out:    out,
		marker: marker,
	}
}

// runAsync runs the launch and returns a channel with its outcome.
func (l *scriptLaunch) runAsync() chan Exit {
	done := make(chan Exit, 1)
	go func() {
		exit, err := Run(l.cfg)
		if err != nil {
			exit = Exit{Code: -1, Reason: err.Error()}
		}
		done <- exit
	}()
	return done
}

func waitFile(t *testing.T, path string) string {
	t.Helper()
	end := time.Now().Add(15 * time.Second)
	for time.Now().Before(end) {
		if data, err := os.ReadFile(path); err == nil && len(data) > 0 {
			return strings.TrimSpace(string(data))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
	return ""
}

func waitExit(t *testing.T, done chan Exit) Exit {
	t.Helper()
	select {
	case exit := <-done:
		return exit
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
		return Exit{}
	}
}

func noTLSJSON() []byte {
	return peerJSON(func(m map[string]any) { m["client_cert"], m["client_key"], m["root_cert"] = "", "", "" })
}

func TestRunPassesOutputAndReportsTheExit(t *testing.T) {
	l := newScriptLaunch(t, "#!/bin/sh\necho to stdout\necho to stderr >&2\nprintf 'no newline'\nexit 5\n",
		peerJSON(func(m map[string]any) { m["new_field"] = "x" }))
	exit := waitExit(t, l.runAsync())
	assert.Equal(t, Exit{Code: 5, Reason: "chaincode exited with status 5"}, exit)
	assert.Equal(t, []string{
		`run: warning: chaincode.json: field "new_field" is not known to this version of run and is ignored (known: chaincode_id, peer_address, client_cert, client_key, root_cert, mspid)`,
		"run: sandbox: off (EXTBUILDER_SANDBOX=off): the chaincode runs unconfined, as the peer's user",
		"to stdout",
		"to stderr",
		"no newline",
	}, l.out.lines())
	left, _ := os.ReadDir(l.cfg.MetadataDir)
	assert.Len(t, left, 1, "the TLS files are removed once the chaincode has ended")
}

func TestRunUsesTheConfiguredGrace(t *testing.T) {
	// The script ignores SIGTERM; its sleep does not, and is replaced.
	l := newScriptLaunch(t, "#!/bin/sh\ntrap '' TERM\necho $$ > \"$MARKER\"\nwhile :; do sleep 1; done\n", noTLSJSON())
	l.cfg.Grace = 200 * time.Millisecond
	stop := make(chan os.Signal, 1)
	l.cfg.Stop = stop
	done := l.runAsync()
	waitFile(t, l.marker)
	stopped := time.Now()
	stop <- syscall.SIGTERM
	exit := waitExit(t, done)
	assert.GreaterOrEqual(t, time.Since(stopped), 200*time.Millisecond)
	assert.Equal(t, Exit{Code: 137, Reason: "chaincode did not exit within 200ms of SIGTERM and was killed (exit status 137)"}, exit)
	assert.Contains(t, l.out.lines()[1], "run: received SIGTERM; passing it to the chaincode (process group ")
	assert.Contains(t, l.out.lines()[1], "which has 200ms to exit")
}

func TestRunDoesNotStartAfterAStopSignal(t *testing.T) {
	l := newScriptLaunch(t, "#!/bin/sh\necho started > \"$MARKER\"\n", peerJSON(nil))
	stop := make(chan os.Signal, 1)
	stop <- syscall.SIGTERM
	l.cfg.Stop = stop
	exit := waitExit(t, l.runAsync())
	assert.Equal(t, Exit{Code: 143, Reason: "received SIGTERM before the chaincode started; it was not started (exit status 143)"}, exit)
	assert.NoFileExists(t, l.marker)
	left, _ := os.ReadDir(l.cfg.MetadataDir)
	assert.Len(t, left, 1, "no TLS file written")
}

func TestRunKillsWhatTheChaincodeLeftBehind(t *testing.T) {
	l := newScriptLaunch(t, "#!/bin/sh\nsleep 600 &\necho $! > \"$MARKER\"\nexit 0\n", noTLSJSON())
	exit := waitExit(t, l.runAsync())
	assert.Equal(t, 0, exit.Code)
	var pid int
	_, err := fmt.Sscan(waitFile(t, l.marker), &pid)
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	end := time.Now().Add(15 * time.Second)
	for alive(pid) && time.Now().Before(end) {
		time.Sleep(20 * time.Millisecond)
	}
	assert.False(t, alive(pid), "the background sleep outlived the chaincode")
}

// alive reports whether pid runs (a zombie nobody reaps does not count).
func alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	return i > 0 && len(data) > i+2 && data[i+2] != 'Z' && data[i+2] != 'X'
}

func TestRunRefusesBeforeStarting(t *testing.T) {
	cases := []struct {
		name, script string
		mode         os.FileMode
		want         string
	}{
		{"missing interpreter", "#!/nonexistent/sh\n", 0o755, "chaincode: starts with #!/nonexistent/sh, which is not installed on this peer"},
		{"not executable", "#!/bin/sh\n", 0o644, "chaincode: expected an executable file, found mode 0644"},
		{"not a program", "hello\n", 0o755, "chaincode: expected an ELF executable for linux/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newScriptLaunch(t, c.script, peerJSON(nil))
			require.NoError(t, os.Chmod(filepath.Join(l.cfg.BuildDir, layout.Executable), c.mode))
			_, err := Run(l.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			left, _ := os.ReadDir(l.cfg.MetadataDir)
			assert.Len(t, left, 1, "no TLS file left behind")
		})
	}
}

func TestRunsOwnLineNeverLandsInsideAChaincodeLine(t *testing.T) {
	// The chaincode has written half a line when run logs the signal it
	// passes on; the half line waits for its end, run's line goes out whole.
	l := newScriptLaunch(t, "#!/bin/sh\nexec 2>/dev/null # no \"Terminated\" from the shell when sleep gets SIGTERM\ntrap 'echo end; exit 0' TERM\nprintf begin-\necho up > \"$MARKER\"\nwhile :; do sleep 0.05; done\n", noTLSJSON())
	stop := make(chan os.Signal, 1)
	l.cfg.Stop = stop
	done := l.runAsync()
	waitFile(t, l.marker)
	stop <- syscall.SIGTERM
	exit := waitExit(t, done)
	assert.Equal(t, 0, exit.Code, exit.Reason)
	lines := l.out.lines()[1:] // after the sandbox line
	require.Len(t, lines, 2, "%q", lines)
	assert.True(t, strings.HasPrefix(lines[0], "run: received SIGTERM; passing it to the chaincode"), lines[0])
	assert.Equal(t, "begin-end", lines[1])
}

func TestRunPassesEveryLineWrittenBeforeTheChaincodeExits(t *testing.T) {
	// 1.3 MB, twenty times what the pipe holds, written just before exit:
	// run drains the pipe after the chaincode has ended.
	const n = 200000
	l := newScriptLaunch(t, fmt.Sprintf("#!/bin/sh\nseq 1 %d\nseq 1 %d >&2\n", n, n), noTLSJSON())
	exit := waitExit(t, l.runAsync())
	require.Equal(t, 0, exit.Code, exit.Reason)
	lines := l.out.lines()[1:] // after the sandbox line
	require.Len(t, lines, 2*n)
	for i, line := range lines {
		if want := strconv.Itoa(i%n + 1); line != want {
			t.Fatalf("line %d is %q, expected %q", i, line, want)
		}
	}
}

// A build of today's build: the tree under tree/, the entry point named by
// the entrypoint file, started in the tree so relative paths work.
func TestRunStartsTheEntryPointInTheInstalledTree(t *testing.T) {
	l := newScriptLaunch(t, "#!/bin/sh\nexit 9\n", peerJSON(nil)) // the old layout's file, to be ignored
	tree := filepath.Join(l.cfg.BuildDir, "tree")
	require.NoError(t, os.MkdirAll(filepath.Join(tree, "bin"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(tree, "data"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(tree, "data", "greeting"), []byte("hello from the tree\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(tree, "bin", "start"),
		[]byte("#!/bin/sh\n{ pwd; echo \"$0\"; cat data/greeting; } > \"$MARKER.tmp\" && mv \"$MARKER.tmp\" \"$MARKER\"\n"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(l.cfg.BuildDir, "entrypoint"), []byte("bin/start\n"), 0o644))

	exit, err := Run(l.cfg)
	require.NoError(t, err)
	assert.Equal(t, 0, exit.Code, l.out.buf.String())
	got, err := os.ReadFile(l.marker)
	require.NoError(t, err)
	abs, _ := filepath.Abs(tree)
	assert.Equal(t, abs+"\n"+abs+"/bin/start\nhello from the tree\n", string(got))
}
