//go:build linux

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/extbuilder/extbuilder/internal/sandbox"
)

// sandboxBudget is what confinement may add to run's start-up (issue 10).
const sandboxBudget = 5 * time.Millisecond

// benchSandbox measures run's start-up, from starting bin/run to the
// chaincode running, with EXTBUILDER_SANDBOX=off and with the default
// (best-effort), alternating, and prints what confinement adds.
func benchSandbox(in *installer, run, stamp string, warmup, runs int) error {
	if err := rewrite(stamp); err != nil {
		return err
	}
	p, err := binaryPackage(stamp, 0, "binary-stamp")
	if err != nil {
		return err
	}
	w, err := in.install("binary-stamp", p)
	if err != nil {
		return err
	}
	cc, err := chaincodeJSON(p.ID)
	if err != nil {
		return err
	}
	md := filepath.Join(w.res.ScratchDir, "run-metadata-stamp")
	modes := []string{"off", "best-effort"}
	got := make([]series, len(modes))
	for i := 0; i < warmup+runs; i++ {
		for k := range modes {
			j := (i + k) % len(modes)
			d, err := startToExec(run, w.res.CachedBld, md, cc, append(w.env[:len(w.env):len(w.env)], sandbox.ModeVariable+"="+modes[j]))
			if err != nil {
				return fmt.Errorf("run with %s=%s: %w", sandbox.ModeVariable, modes[j], err)
			}
			if i >= warmup {
				got[j] = append(got[j], sample{wall: d})
			}
		}
	}
	// Each round runs both, back to back: the median of the rounds'
	// differences follows the machine's load less than the difference of
	// the medians.
	diffs := make(series, len(got[0]))
	for i := range diffs {
		diffs[i] = sample{wall: got[1][i].wall - got[0][i].wall}
	}
	added := diffs.median()
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("Sandbox start-up: bin/run start to the chaincode running (Landlock ABI %d), median of %d, load average %s:\n",
		sandbox.ABI(), runs, strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Printf("  %s=off          %8s  p90 %s\n", sandbox.ModeVariable, ms(got[0].median()), ms(got[0].quantile(0.9)))
	fmt.Printf("  %s=best-effort  %8s  p90 %s\n", sandbox.ModeVariable, ms(got[1].median()), ms(got[1].quantile(0.9)))
	fmt.Printf("  added by confinement (median of the rounds' differences) %s   budget <=%s  %s\n\n", ms(added), ms(sandboxBudget), verdict(added <= sandboxBudget))
	return nil
}

// startToExec starts run on a fresh RUN_METADATA_DIR and returns the time
// from its start to the stamp chaincode's first instruction of main.
func startToExec(run, bld, md string, cc []byte, env []string) (time.Duration, error) {
	os.RemoveAll(md)
	if err := os.Mkdir(md, 0o700); err != nil {
		return 0, err
	}
	defer os.RemoveAll(md)
	if err := os.WriteFile(filepath.Join(md, "chaincode.json"), cc, 0o600); err != nil {
		return 0, err
	}
	cmd := exec.Command(run, bld, md)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	var stamp int64
	var lines []string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if v, ok := strings.CutPrefix(sc.Text(), "stamp "); ok {
			stamp, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if err := cmd.Wait(); err != nil || stamp == 0 {
		return 0, fmt.Errorf("%v: %s", err, strings.Join(lines, " | "))
	}
	return time.Unix(0, stamp).Sub(start), nil
}
