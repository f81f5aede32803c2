//go:build linux

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/extbuilder/extbuilder/internal/sandbox"
)

func TestBadSandboxSettingsStartNothing(t *testing.T) {
	m := newTLS()
	p := startPeer(t, m.ca)
	notCgroup := t.TempDir()
	cases := []struct{ env, want string }{
		{"EXTBUILDER_SANDBOX=on", `run: EXTBUILDER_SANDBOX: expected strict, best-effort or off, found "on"`},
		{"EXTBUILDER_SANDBOX_READ=usr/local/bin", `run: EXTBUILDER_SANDBOX_READ: expected absolute paths separated by ":", found "usr/local/bin"`},
		{"EXTBUILDER_SANDBOX_READ=/usr/bin::/bin", `run: EXTBUILDER_SANDBOX_READ: expected absolute paths separated by ":", found ""`},
		{"EXTBUILDER_SANDBOX_READ=/nonexistent/jdk", `run: EXTBUILDER_SANDBOX_READ: "/nonexistent/jdk" does not exist or cannot be read (no such file or directory)`},
		{"EXTBUILDER_SANDBOX_TCP=0", `run: EXTBUILDER_SANDBOX_TCP: expected TCP ports from 1 to 65535 separated by commas, found "0"`},
		{"EXTBUILDER_SANDBOX_TCP=9443,65536", `run: EXTBUILDER_SANDBOX_TCP: expected TCP ports from 1 to 65535 separated by commas, found "65536"`},
		{"EXTBUILDER_SANDBOX_TCP=https", `run: EXTBUILDER_SANDBOX_TCP: expected TCP ports from 1 to 65535 separated by commas, found "https"`},
		{"EXTBUILDER_SANDBOX_MEMORY=lots", `run: EXTBUILDER_SANDBOX_MEMORY: expected a positive size in bytes, optionally with K, M or G (e.g. 512M), found "lots"`},
		{"EXTBUILDER_SANDBOX_CGROUP=" + notCgroup, "run: EXTBUILDER_SANDBOX_CGROUP: " + notCgroup + " is not a cgroup v2 folder; hint: unset it on hosts with cgroup v1"},
	}
	for _, c := range cases {
		t.Run(c.env, func(t *testing.T) {
			l := newLaunch(t, chaincodeJSON(p, &m))
			r := startRun(t, l, "exit=0", c.env)
			assert.Equal(t, 1, r.wait(t))
			assert.Equal(t, []string{c.want}, r.lines)
			_, started := readRecord(r.lines)
			assert.False(t, started, "the chaincode was started")
			assert.Empty(t, p.connections())
			assert.Equal(t, []string{"chaincode.json"}, entries(t, l.meta), "nothing written")
		})
	}
}

func TestSandboxLineSaysWhatIsEnforced(t *testing.T) {
	p := startPeer(t, nil)
	_, port, _ := strings.Cut(p.addr, ":")
	for _, mode := range []string{"", "best-effort", "strict", "off"} {
		t.Run("mode="+mode, func(t *testing.T) {
			abi := sandbox.ABI()
			if mode == "strict" && abi < sandbox.StrictABI {
				l := newLaunch(t, chaincodeJSON(p, nil))
				r := startRun(t, l, "exit=0", "EXTBUILDER_SANDBOX=strict")
				assert.Equal(t, 1, r.wait(t))
				require.Len(t, r.lines, 1)
				assert.Contains(t, r.lines[0], "run: sandbox: EXTBUILDER_SANDBOX=strict, but this kernel's Landlock")
				return
			}
			l := newLaunch(t, chaincodeJSON(p, nil))
			r := startRun(t, l, "exit=0", "EXTBUILDER_SANDBOX="+mode, "EXTBUILDER_SANDBOX_TCP=9443")
			rec := waitRecord(t, r)
			require.Equal(t, 0, r.wait(t), "stderr: %q", r.lines)
			assert.Equal(t, "ok", rec.Dial)
			var info []string
			for _, line := range r.lines {
				if strings.HasPrefix(line, "run: sandbox: ") {
					info = append(info, line)
				}
			}
			require.Len(t, info, 1, "one line per launch: %q", r.lines)
			switch {
			case mode == "off":
				assert.Equal(t, "run: sandbox: off (EXTBUILDER_SANDBOX=off): the chaincode runs unconfined, as the peer's user", info[0])
				return
			case mode == "":
				mode = "best-effort"
			}
			assert.True(t, strings.HasPrefix(info[0], "run: sandbox: "+mode+", "), info[0])
			if abi >= 4 {
				assert.Contains(t, info[0], "TCP connect to :"+port+" :9443 only, no TCP bind")
			}
			if abi >= 6 {
				assert.Contains(t, info[0], "signals and abstract unix sockets scoped")
			}
			assert.Contains(t, info[0], "no_new_privs")
			assert.Contains(t, info[0], "core 0, nofile 4096, fsize 1 GiB")
			env := rec.env()
			scratch := l.meta + "/" + "chaincode-tmp"
			assert.True(t, strings.HasSuffix(env["TMPDIR"], scratch), env["TMPDIR"])
			assert.Equal(t, env["TMPDIR"], env["HOME"])
			assert.Equal(t, []string{"chaincode.json"}, entries(t, l.meta), "scratch folder removed")
		})
	}
}

// The step is reached only with the two pipes run sets up; its argument
// alone is a wrong option to run.
func TestStepCannotBeStartedByHand(t *testing.T) {
	cmd := exec.Command(runBin, "--sandbox-step")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "%v", err)
	assert.Equal(t, 2, ee.ExitCode())
	assert.Equal(t, "run: unknown option \"--sandbox-step\" (only --help and --version are options); usage: run BUILD_OUTPUT_DIR RUN_METADATA_DIR\n", stderr.String())
}

// run is a child subreaper: what the chaincode left in another session
// comes to run when the chaincode ends, and run kills it before it exits.
// With the sandbox off nothing else would (the step does it otherwise).
func TestRunKillsOrphansInOtherSessions(t *testing.T) {
	p := startPeer(t, nil)
	l := newLaunch(t, chaincodeJSON(p, nil))
	// setsid may fork; the process reports its own pid once in its session.
	script := "#!/bin/sh\nsetsid sh -c 'echo \"orphan $$\" >&2; exec sleep 600 > /dev/null 2>&1' < /dev/null &\nsleep 0.2\nexit 0\n"
	require.NoError(t, os.WriteFile(filepath.Join(l.build, "chaincode"), []byte(script), 0o755))
	r := startRun(t, l, "exit=0", "EXTBUILDER_SANDBOX=off")
	require.Equal(t, 0, r.wait(t), "stderr: %q", r.lines)
	var pid int
	for _, line := range r.lines {
		if v, ok := strings.CutPrefix(line, "orphan "); ok {
			pid, _ = strconv.Atoi(v)
		}
	}
	require.NotZero(t, pid, "stderr: %q", r.lines)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	assert.True(t, processGone(t, pid), "the process in its own session outlived run")
}
