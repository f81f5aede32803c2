//go:build linux

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/extbuilder/extbuilder/test/scale"
)

// Budgets of launch mode (issue 13).
const (
	forwardBudget = 0.5                  // run's forwarding throughput over cat's, 100-byte lines
	pssBudget     = 3 << 20              // PSS of what extbuilder keeps alive per chaincode, bytes
	startBudget   = 5 * time.Millisecond // run's exec to the chaincode's exec, median
	stopBudget    = 5 * time.Second      // SIGTERM to every process gone: the peer kills after 5 s
	forwardBytes  = 100 << 20            // per forwarding run
	forwardRuns   = 9                    // timed forwarding runs per figure
)

// benchLaunch measures launch mode: log forwarding against a raw pipe,
// start-up latency, and the scale scenario with n chaincodes.
func benchLaunch(root, builderDir, refs, scratch string, runs, warmup, n int) error {
	run := filepath.Join(builderDir, "bin", "run")
	fmt.Println("Launch mode (bin/run supervising a chaincode)")
	fmt.Println()
	if err := benchForwarding(run, filepath.Join(refs, "relay"), scratch); err != nil {
		return err
	}
	if err := benchStart(run, refs, scratch, runs, warmup); err != nil {
		return err
	}
	return benchScale(root, builderDir, scratch, n)
}

// runDirs lays out BUILD_OUTPUT_DIR with exe as the chaincode, and
// RUN_METADATA_DIR with a chaincode.json carrying TLS material.
func runDirs(scratch, name string, exe []byte) (bld, meta string, err error) {
	bld, meta = filepath.Join(scratch, name, "bld"), filepath.Join(scratch, name, "run")
	for _, d := range []string{bld, meta} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", "", err
		}
	}
	if err := os.WriteFile(filepath.Join(bld, "chaincode"), exe, 0o755); err != nil {
		return "", "", err
	}
	cc, err := chaincodeJSON(name + ":0000")
	if err != nil {
		return "", "", err
	}
	return bld, meta, os.WriteFile(filepath.Join(meta, "chaincode.json"), cc, 0o600)
}

// benchForwarding times cat writing a file of lines into a pipe that this
// process drains, against run forwarding the same cat, as the chaincode,
// into the same kind of pipe.
func benchForwarding(run, relay, scratch string) error {
	fmt.Printf("Log forwarding: %d MiB of lines written by cat, drained from a pipe; cat alone against cat as the chaincode of run\n", forwardBytes>>20)
	fmt.Printf("(median of %d runs each, alternating, after a warm-up)\n", forwardRuns)
	for _, c := range []struct {
		name string
		line int
	}{{"100-byte lines", 100}, {"200 KiB lines (run cuts them below 64 KiB)", 200 << 10}} {
		// The file lies in BUILD_OUTPUT_DIR, which a confined chaincode may read.
		name := fmt.Sprintf("forward-%d", c.line)
		file := filepath.Join(scratch, name, "bld", "lines")
		bld, meta, err := runDirs(scratch, name, []byte("#!/bin/sh\nexec cat "+file+"\n"))
		if err != nil {
			return err
		}
		if err := writeLines(file, c.line, forwardBytes); err != nil {
			return err
		}
		// Floors: any process between the chaincode and the peer adds a
		// read and a write of every byte (cat | cat); relay is a Go
		// program that does only that, the way run starts the chaincode.
		invs := []func() (time.Duration, error){
			func() (time.Duration, error) { return drain(exec.Command(run, bld, meta), true) },
			func() (time.Duration, error) { return drain(exec.Command("cat", file), false) },
			func() (time.Duration, error) { return drainPiped(file) },
			func() (time.Duration, error) { return drain(exec.Command(relay, "cat", file), true) },
		}
		got := make([][]time.Duration, len(invs))
		for i := 0; i < 1+forwardRuns; i++ {
			for k := range invs {
				j := (i + k) % len(invs)
				d, err := invs[j]()
				if err != nil {
					return err
				}
				if i > 0 {
					got[j] = append(got[j], d)
				}
			}
		}
		tr, tc, tf, tg := medianOf(got[0]), medianOf(got[1]), medianOf(got[2]), medianOf(got[3])
		mibs := func(d time.Duration) float64 { return float64(forwardBytes) / (1 << 20) / d.Seconds() }
		ratio := tc.Seconds() / tr.Seconds()
		budget := "(no budget)"
		if c.line == 100 {
			budget = fmt.Sprintf("budget >=%.1fx  %s", forwardBudget, verdict(ratio >= forwardBudget))
		}
		fmt.Printf("  %s:\n    cat        %8s  %6.0f MiB/s\n    cat | cat  %8s  %6.0f MiB/s  (floor: %.2fx)\n    relay      %8s  %6.0f MiB/s  (Go floor: %.2fx)\n    run        %8s  %6.0f MiB/s\n    run/cat throughput %.2fx  %s\n",
			c.name, ms(tc), mibs(tc), ms(tf), mibs(tf), tc.Seconds()/tf.Seconds(), ms(tg), mibs(tg), tc.Seconds()/tg.Seconds(), ms(tr), mibs(tr), ratio, budget)
		os.Remove(file)
	}
	fmt.Println()
	return nil
}

func writeLines(path string, lineSize, total int) error {
	line := bytes.Repeat([]byte("x"), lineSize)
	line[lineSize-1] = '\n'
	block := bytes.Repeat(line, max(1, (1<<20)/lineSize))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	for written := 0; written < total; written += len(block) {
		if _, err := f.Write(block); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// drain runs cmd with its stderr (run) or stdout (cat) read in 64 KiB
// reads until EOF, and returns the wall time.
func drain(cmd *exec.Cmd, stderr bool) (time.Duration, error) {
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	var r io.ReadCloser
	var err error
	if stderr {
		r, err = cmd.StderrPipe()
	} else {
		r, err = cmd.StdoutPipe()
	}
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(k)
		if err != nil {
			break
		}
	}
	took := time.Since(start)
	if err := cmd.Wait(); err != nil {
		return 0, fmt.Errorf("%s: %v", cmd.Path, err)
	}
	if n < forwardBytes {
		return 0, fmt.Errorf("%s: %d bytes arrived, expected %d or more", cmd.Path, n, forwardBytes)
	}
	return took, nil
}

// drainPiped is drain for cat FILE | cat.
func drainPiped(file string) (time.Duration, error) {
	first := exec.Command("cat", file)
	second := exec.Command("cat")
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	first.Stdout, second.Stdin = pw, pr
	if err := first.Start(); err != nil {
		pw.Close()
		pr.Close()
		return 0, err
	}
	pw.Close()
	d, err := drain(second, false)
	pr.Close()
	if werr := first.Wait(); err == nil {
		err = werr
	}
	return d, err
}

// benchStart times, from the start of the first program to the line "up"
// on the pipe: run with hello as the chaincode; spawn, the least Go launcher,
// starting hello; and hello alone. Hello's own start-up is the same
// whoever starts it, so the difference to hello alone is what the launcher
// adds between its exec and the chaincode's.
func benchStart(run, refs, scratch string, runs, warmup int) error {
	hello, spawn := filepath.Join(refs, "hello"), filepath.Join(refs, "spawn")
	exe, err := os.ReadFile(hello)
	if err != nil {
		return err
	}
	bld, meta, err := runDirs(scratch, "start", exe)
	if err != nil {
		return err
	}
	cmds := []func() *exec.Cmd{
		func() *exec.Cmd { return exec.Command(run, bld, meta) },
		func() *exec.Cmd { return exec.Command(spawn, hello) },
		func() *exec.Cmd { return exec.Command(hello) },
	}
	got := make([][]time.Duration, len(cmds))
	for i := 0; i < warmup+runs; i++ {
		for k := range cmds {
			j := (i + k) % len(cmds)
			d, err := untilUp(cmds[j]())
			if err != nil {
				return err
			}
			if i >= warmup {
				got[j] = append(got[j], d)
			}
		}
	}
	mr, ms_, md := medianOf(got[0]), medianOf(got[1]), medianOf(got[2])
	added := mr - md
	fmt.Printf("Start-up: from run's exec to the chaincode's exec, chaincode.json with TLS material (median of %d, alternating)\n", runs)
	fmt.Printf("  exec to hello's first line: run then hello %s, spawn then hello %s, hello alone %s\n", ms(mr), ms(ms_), ms(md))
	fmt.Printf("  run's exec to the chaincode's exec (the difference) %s  floor %s (spawn: a Go program that only starts it)  budget <=%s  %s\n",
		ms(added), ms(ms_-md), ms(startBudget), verdict(added <= startBudget))
	fmt.Printf("  fastest runs, for the cost without the machine's load: run then hello %s, spawn then hello %s, hello alone %s\n\n",
		ms(slices.Min(got[0])), ms(slices.Min(got[1])), ms(slices.Min(got[2])))
	return nil
}

func untilUp(cmd *exec.Cmd) (time.Duration, error) {
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	r, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	// The clock starts before the fork: taken after Start returns, a bench
	// descheduled in between would see the line come at once. The fork and
	// exec of the first program cost about the same for run, spawn and
	// hello, so the difference is still run's exec to the chaincode's.
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(r)
	var took time.Duration
	var lines []string
	for sc.Scan() {
		if sc.Text() == "up" && took == 0 {
			took = time.Since(start)
		}
		lines = append(lines, sc.Text())
	}
	if err := cmd.Wait(); err != nil || took == 0 {
		return 0, fmt.Errorf("%s: %v; stderr: %s", filepath.Base(cmd.Path), err, strings.Join(lines, " | "))
	}
	return took, nil
}

// benchScale runs the scale scenario with n chaincodes.
func benchScale(root, builderDir, scratch string, n int) error {
	dir := filepath.Join(scratch, "scale")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	fmt.Printf("Scale: %d binary-package chaincodes (test/scale), installed by test/peersim, launched at once through bin/run,\n", n)
	fmt.Println("each dialing a stand-in peer over mutual TLS; then all log 100-byte lines at full speed; then SIGTERM to every run at once")
	setupStart := time.Now()
	s, err := scale.Setup(scale.Config{Root: root, Builder: builderDir, Scratch: dir, N: n})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Printf("  (set-up: %d packages built and installed in %s, not measured)\n", n, time.Since(setupStart).Round(time.Second))

	took, err := s.Launch(2 * time.Minute)
	if err != nil {
		return err
	}
	fmt.Printf("  all %d connected %s after the first launch (no budget)\n", n, ms(took))
	time.Sleep(time.Second) // idle, as most chaincodes are most of the time
	idle, err := s.PSS()
	if err != nil {
		return err
	}
	lg, err := s.Log(time.Second, 3*time.Second)
	if err != nil {
		return err
	}
	busy, err := s.PSS()
	if err != nil {
		return err
	}
	printPSS := func(when string, m scale.Memory) {
		fmt.Printf("  PSS %-22s total %6.1f MiB, largest per chaincode %5.2f MiB (%d process(es) each)  budget <=%d MiB  %s\n",
			when, mb(m.Total), mb(m.PerMax), m.Processes, pssBudget>>20, verdict(m.PerMax <= pssBudget))
	}
	printPSS("idle:", idle)
	printPSS("while all log:", busy)
	fmt.Printf("  logging: %.0f lines/s (%.0f MiB/s) received by the peer over %s, all chaincodes together (no budget)\n",
		lg.LinesPerS, lg.LinesPerS*scale.LineSize/(1<<20), lg.Window.Round(time.Millisecond))
	fmt.Printf("  fairness: the slowest chaincode (%s) got %.2f of the mean (1.00 is even; no budget)\n", lg.SlowestCC, lg.Slowest)

	st := s.Stop()
	fmt.Printf("  stop: SIGTERM to all %d runs at once; slowest until its run and chaincode were gone: %s (%s)  budget <=%s  %s\n",
		n, ms(st.Slowest), st.SlowestCC, stopBudget, verdict(st.Slowest <= stopBudget && len(st.Killed) == 0 && len(st.Left) == 0))
	if len(st.Killed) > 0 {
		fmt.Printf("    killed by the peer after 5 s: %s\n", strings.Join(st.Killed, ", "))
	}
	for _, l := range st.Left {
		fmt.Printf("    still running 5 s after SIGTERM: %s\n", l)
	}
	problems := s.Problems()
	fmt.Printf("  lines lost or mangled, file descriptors or processes left behind: %d  %s\n", len(problems), verdict(len(problems) == 0))
	for _, p := range problems {
		fmt.Printf("    %s\n", p)
	}
	fmt.Println()
	return nil
}

func medianOf(d []time.Duration) time.Duration {
	s := series{}
	for _, x := range d {
		s = append(s, sample{wall: x})
	}
	return s.median()
}
