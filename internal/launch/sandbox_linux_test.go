package launch

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/extbuilder/extbuilder/internal/sandbox"
)

// The supervision of launch_linux_test.go, through the sandbox step (the
// default). The scripts report on stdout: they cannot write elsewhere.

func newConfinedLaunch(t *testing.T, script string) *scriptLaunch {
	t.Helper()
	l := newScriptLaunch(t, script, noTLSJSON())
	l.cfg.Sandbox = sandbox.Settings{} // the default: best-effort
	return l
}

// waitLine waits for an output line starting with prefix and returns the rest.
func waitLine(t *testing.T, o *output, prefix string) string {
	t.Helper()
	end := time.Now().Add(15 * time.Second)
	for time.Now().Before(end) {
		for _, line := range o.lines() {
			if rest, ok := strings.CutPrefix(line, prefix); ok {
				return rest
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no line %q in %q", prefix, o.lines())
	return ""
}

func TestConfinedRunReportsTheExitAndRemovesTheScratchFolder(t *testing.T) {
	l := newConfinedLaunch(t, "#!/bin/sh\necho \"tmp $TMPDIR\"\necho \"home $HOME\"\necho data > \"$TMPDIR/file\" && cat \"$TMPDIR/file\"\nexit 5\n")
	exit := waitExit(t, l.runAsync())
	assert.Equal(t, Exit{Code: 5, Reason: "chaincode exited with status 5"}, exit)
	lines := l.out.lines()
	require.Len(t, lines, 4, "%q", lines)
	assert.True(t, strings.HasPrefix(lines[0], "run: sandbox: best-effort"), lines[0])
	scratch := filepath.Join(l.cfg.MetadataDir, ScratchDir)
	abs, _ := filepath.Abs(scratch)
	assert.Equal(t, []string{"tmp " + abs, "home " + abs, "data"}, lines[1:])
	assert.NoDirExists(t, scratch, "removed once the chaincode has ended")
}

func TestConfinedStopSignalReachesTheChaincode(t *testing.T) {
	l := newConfinedLaunch(t, "#!/bin/sh\ntrap 'echo stopping; exit 0' TERM\necho \"pid $$\"\nwhile :; do sleep 0.1; done\n")
	stop := make(chan os.Signal, 1)
	l.cfg.Stop = stop
	done := l.runAsync()
	pid := waitLine(t, l.out, "pid ")
	stop <- syscall.SIGTERM
	exit := waitExit(t, done)
	assert.Equal(t, Exit{Code: 0, Reason: "chaincode exited with status 0 after run passed on SIGTERM"}, exit)
	assert.Contains(t, l.out.lines(), "run: received SIGTERM; passing it to the chaincode (process group "+pid+"), which has 4s to exit")
	assert.Contains(t, l.out.lines(), "stopping")
}

func TestConfinedChaincodeIgnoringSIGTERMIsKilled(t *testing.T) {
	l := newConfinedLaunch(t, "#!/bin/sh\ntrap '' TERM\necho \"pid $$\"\nwhile :; do sleep 0.1; done\n")
	l.cfg.Grace = 200 * time.Millisecond
	stop := make(chan os.Signal, 1)
	l.cfg.Stop = stop
	done := l.runAsync()
	waitLine(t, l.out, "pid ")
	stop <- syscall.SIGTERM
	assert.Equal(t, Exit{Code: 137, Reason: "chaincode did not exit within 200ms of SIGTERM and was killed (exit status 137)"}, waitExit(t, done))
}

func TestConfinedRunKillsWhatLeftTheGroup(t *testing.T) {
	if sandbox.ABI() < 6 {
		t.Skip("needs Landlock signal scoping (ABI 6); this kernel has ABI " + strconv.Itoa(sandbox.ABI()))
	}
	// setsid: the process leaves the chaincode's process group and session.
	// setsid may fork; the process reports its own pid once in its session.
	l := newConfinedLaunch(t, "#!/bin/sh\nsetsid sh -c 'echo \"pid $$\"; exec sleep 600 > /dev/null 2>&1' < /dev/null &\nsleep 0.2\nexit 0\n")
	exit := waitExit(t, l.runAsync())
	assert.Equal(t, 0, exit.Code)
	pid, err := strconv.Atoi(waitLine(t, l.out, "pid "))
	require.NoError(t, err)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	assert.False(t, alive(pid), "the process that left the group outlived the chaincode")
}

func TestConfinedRunRefusesBeforeStarting(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "sh")
	sh, err := os.ReadFile("/bin/sh")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(outside, sh, 0o755))
	cases := []struct{ name, script, want string }{
		{"interpreter outside the sandbox", "#!" + outside + "\n",
			"chaincode: cannot be started: permission denied; hint: the sandbox lets a chaincode execute only files in BUILD_OUTPUT_DIR, the system folders and EXTBUILDER_SANDBOX_READ"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if sandbox.ABI() < 1 {
				t.Skip("needs Landlock")
			}
			l := newConfinedLaunch(t, c.script)
			_, err := Run(l.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Equal(t, []string{ChaincodeFile}, names(t, l.cfg.MetadataDir), "nothing left in RUN_METADATA_DIR")
		})
	}
}

func TestOperatorPathsWidenOnlyWhatTheOperatorNames(t *testing.T) {
	if sandbox.ABI() < 1 {
		t.Skip("needs Landlock")
	}
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "data"), []byte("seen"), 0o600))
	script := "#!/bin/sh\ncat " + outside + "/data || echo refused\n"
	l := newConfinedLaunch(t, script)
	waitExit(t, l.runAsync())
	assert.Contains(t, l.out.lines(), "refused")

	l = newConfinedLaunch(t, script)
	l.cfg.Sandbox.Read = []string{outside}
	waitExit(t, l.runAsync())
	assert.Contains(t, l.out.lines(), "seen")
	assert.Contains(t, l.out.lines()[0], ", 1 operator paths")
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var n []string
	for _, e := range es {
		n = append(n, e.Name())
	}
	return n
}
