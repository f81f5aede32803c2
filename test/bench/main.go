//go:build linux

// Command bench (`make bench`) measures what extbuilder costs a peer: each
// program run as a whole process, the way the peer runs it during install
// (pruned environment, fresh output folders, stderr read line by line),
// against a static no-op Go binary run the same way; binary sizes; peak
// RSS; the copy speed of a 100 MiB executable, and of binary package trees
// (10,000 small files; one 500 MiB file), against cp(1). Next to
// each budgeted timing it shows the floor: the least any Go program doing
// that job costs here (test/bench/reference), so that a budget below it
// reads as such.
//
// Figures are printed next to their budgets as MET or MISSED. Nothing is
// enforced: timings on a shared machine are too noisy to fail a build on.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/extbuilder/extbuilder/internal/bindir"
)

// Budgets (issue 11).
const (
	detectBudget       = 1.25            // detect, times the no-op
	buildReleaseBudget = 2.0             // build and release on the mutual-TLS package, times the no-op
	sizeBudget         = 16 << 20        // the four binaries together, bytes
	detectSizeBudget   = 5 << 19         // detect alone (2.5 MiB), bytes
	rssBudget          = 15 << 20        // peak RSS of each binary, bytes
	copyBudget         = 0.8             // 100 MiB executable: build's throughput over cp's
	bigExecutable      = 100 << 20       // bytes
	indexCount         = 2000            // index files in the CouchDB package
	mtlsWorkload       = "service-mtls"  // the package the build/release budgets apply to
	bigWorkload        = "binary-100MiB" // the package the copy budget applies to
	indexWorkload      = "indexes-2000"
)

var (
	scaleN     = 100 // chaincodes in the scale scenario (issue 13)
	launchOnly bool
)

func main() {
	runs := flag.Int("runs", 61, "timed runs per figure, after the warm-up")
	warmup := flag.Int("warmup", 5, "warm-up runs per figure, not counted")
	heavyRuns := flag.Int("heavy-runs", 7, "timed runs for figures bound by the file system (100 MiB copy, 2,000 index files)")
	treeRuns := flag.Int("tree-runs", 3, "timed runs for the binary package trees (10,000 files; one 500 MiB file), each against cp -r; 0 skips them")
	binDir := flag.String("bin", "", "measure the programs in this folder (named bin) instead of building them")
	flag.StringVar(&ldflags, "ldflags", ldflags, "go build -ldflags for the programs and the reference programs (make bench passes make build's)")
	flag.IntVar(&scaleN, "scale", scaleN, "chaincodes in the scale scenario")
	flag.BoolVar(&launchOnly, "launch-only", false, "measure launch mode only (log forwarding, start-up, scale)")
	flag.Parse()
	if err := bench(*runs, *warmup, *heavyRuns, *treeRuns, *binDir); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func bench(runs, warmup, heavyRuns, treeRuns int, binDir string) error {
	begin := time.Now()
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	scratch, err := os.MkdirTemp("", "extbuilder-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)

	fmt.Printf("extbuilder bench: %s %s/%s, %d CPUs; programs and reference programs built with CGO_ENABLED=0 -trimpath -ldflags '%s'\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), ldflags)
	fmt.Printf("each figure: median of %d runs after %d warm-up runs (%d for the 100 MiB and 2,000-file figures), alternating with the no-op (and the floor, where shown)\n\n", runs, warmup, heavyRuns)

	builderDir := filepath.Join(scratch, "extbuilder")
	refs := filepath.Join(scratch, "reference")
	if err := buildBinaries(root, filepath.Join(builderDir, "bin"), refs); err != nil {
		return err
	}
	if binDir != "" {
		if filepath.Base(filepath.Clean(binDir)) != "bin" {
			return fmt.Errorf("-bin %s: the folder must be named bin (the peer runs <builder>/bin/<program>)", binDir)
		}
		builderDir = filepath.Dir(filepath.Clean(binDir))
		fmt.Printf("measuring the programs in %s\n", binDir)
	}
	if launchOnly {
		return benchLaunch(root, builderDir, refs, scratch, runs, warmup, scaleN)
	}
	bin := func(p string) string { return filepath.Join(builderDir, "bin", p) }
	ref := func(r string) string { return filepath.Join(refs, r) }
	noop := ref("noop")

	in, err := newInstaller(builderDir, scratch)
	if err != nil {
		return err
	}
	var loads []*workload
	for _, spec := range []struct {
		name, what string
		make       func() (*workload, error)
	}{
		{mtlsWorkload, "testdata/packages/domain-kept: mutual TLS, inline PEM", func() (*workload, error) {
			p, err := samplePackage(root, "domain-kept")
			if err != nil {
				return nil, err
			}
			return in.install(mtlsWorkload, p)
		}},
		{"service-templated", "testdata/packages/templated-address: address from " + configVariable, func() (*workload, error) {
			p, err := samplePackage(root, "templated-address")
			if err != nil {
				return nil, err
			}
			return in.install("service-templated", p)
		}},
		{bigWorkload, "binary package, bin/chaincode a 100 MiB ELF executable", func() (*workload, error) {
			p, err := binaryPackage(noop, bigExecutable, "binary-100mib")
			if err != nil {
				return nil, err
			}
			return in.install(bigWorkload, p)
		}},
		{indexWorkload, fmt.Sprintf("service package with %d CouchDB index files", indexCount), func() (*workload, error) {
			p, err := indexesPackage(indexCount)
			if err != nil {
				return nil, err
			}
			return in.install(indexWorkload, p)
		}},
	} {
		w, err := spec.make()
		if err != nil {
			return err
		}
		w.what = spec.what
		loads = append(loads, w)
	}
	fmt.Println("packages (installed once by test/peersim, then run again on fresh output folders for every timed run):")
	for _, w := range loads {
		fmt.Printf("  %-18s %s\n", w.name, w.what)
	}
	fmt.Println()

	rss, rssAt := map[string]int64{}, map[string]string{}
	var rows []row
	for _, w := range loads {
		r := w.res
		bld, rel := filepath.Join(r.ScratchDir, "bld-timed"), filepath.Join(r.ScratchDir, "release-timed")
		for _, c := range []struct {
			program string
			args    []string
			fresh   []string
		}{
			{"detect", []string{r.SourceDir, r.MetadataDir}, nil},
			{"build", []string{r.SourceDir, r.MetadataDir, bld}, []string{bld}},
			{"release", []string{r.BldDir, rel}, []string{rel}},
		} {
			n, wu := runs, warmup
			if w.name == bigWorkload && c.program == "build" || w.name == indexWorkload && c.program != "detect" {
				n, wu = heavyRuns, 1 // bound by the file system: slow and steady
			}
			r := row{workload: w.name, program: c.program, limit: budgetFor(w.name, c.program), floor: floorFor(w.name, c.program)}
			like := func(path string) invocation { return invocation{path: path, args: c.args, env: w.env, fresh: c.fresh} }
			invs := []invocation{like(bin(c.program)), like(noop)}
			if r.floor != "" {
				invs = append(invs, like(ref(r.floor)))
			}
			got, err := compare(invs, wu, n)
			if err != nil {
				return err
			}
			r.prog, r.noop = got[0], got[1]
			if r.floor != "" {
				r.floorTimes = got[2]
			}
			hwm, err := peakRSS(invs[0])
			if err != nil {
				return err
			}
			if hwm > rss[c.program] {
				rss[c.program], rssAt[c.program] = hwm, w.name
			}
			if hwm, err = peakRSS(invs[1]); err == nil {
				rss["no-op"] = max(rss["no-op"], hwm)
			}
			rows = append(rows, r)
		}
	}

	// run: started on a small binary package whose chaincode is the no-op,
	// with TLS material in chaincode.json; it writes the key files, starts
	// the chaincode, waits for it and exits with its status.
	p, err := binaryPackage(noop, 0, "binary-noop")
	if err != nil {
		return err
	}
	w, err := in.install("binary-noop", p)
	if err != nil {
		return err
	}
	cc, err := chaincodeJSON(p.ID)
	if err != nil {
		return err
	}
	md := filepath.Join(w.res.ScratchDir, "run-metadata")
	setup := func() error { return os.WriteFile(filepath.Join(md, "chaincode.json"), cc, 0o600) }
	args := []string{w.res.CachedBld, md}
	runInv := invocation{path: bin("run"), args: args, env: w.env, fresh: []string{md}, setup: setup}
	got, err := compare([]invocation{runInv, {path: noop, args: args, env: w.env, fresh: []string{md}, setup: setup}}, warmup, runs)
	if err != nil {
		return err
	}
	rows = append(rows, row{workload: "binary-noop", program: "run", prog: got[0], noop: got[1]})
	if rss["run"], err = peakRSS(runInv); err != nil {
		return err
	}
	rssAt["run"] = "binary-noop"

	// The os floor, on detect's arguments: what importing os alone costs.
	mtls := find(loads, mtlsWorkload)
	osOnly := invocation{path: ref("os"), args: []string{mtls.res.SourceDir, mtls.res.MetadataDir}, env: mtls.env}
	got, err = compare([]invocation{osOnly, {path: noop, args: osOnly.args, env: osOnly.env}}, warmup, runs)
	if err != nil {
		return err
	}
	printTimes(rows, float64(got[0].median())/float64(got[1].median()))
	if err := benchSandbox(in, bin("run"), ref("stamp"), warmup, runs); err != nil {
		return err
	}

	// cp(1) copying the same executable into a fresh folder, alternating
	// with build, which also unpacks nothing: it checks and copies.
	big := find(loads, bigWorkload)
	cpDst := filepath.Join(big.res.ScratchDir, "cp-timed")
	cpInv := invocation{path: "/bin/cp", args: []string{filepath.Join(big.res.SourceDir, "bin", "chaincode"), filepath.Join(cpDst, "chaincode")}, env: big.env, fresh: []string{cpDst}}
	if _, err := os.Stat(cpInv.path); err != nil {
		cpInv.path = "cp"
	}
	bld := filepath.Join(big.res.ScratchDir, "bld-timed")
	buildInv := invocation{path: bin("build"), args: []string{big.res.SourceDir, big.res.MetadataDir, bld}, env: big.env, fresh: []string{bld}}
	got, err = compare([]invocation{buildInv, cpInv}, 2, heavyRuns)
	if err != nil {
		return err
	}
	printCopy(got[0], got[1])

	// The index package's cost is the file system's: compare with cp -r of
	// the same index tree into a fresh folder.
	for _, w := range loads {
		if w.name != indexWorkload {
			continue
		}
		dst := filepath.Join(w.res.ScratchDir, "cp-timed")
		bld := filepath.Join(w.res.ScratchDir, "bld-timed")
		got, err := compare([]invocation{
			{path: bin("build"), args: []string{w.res.SourceDir, w.res.MetadataDir, bld}, env: w.env, fresh: []string{bld}},
			{path: cpInv.path, args: []string{"-r", filepath.Join(w.res.SourceDir, "META-INF"), dst}, env: w.env, fresh: []string{dst}},
		}, 1, heavyRuns)
		if err != nil {
			return err
		}
		sb, scp := got[0], got[1]
		fmt.Printf("Build of %d index files against cp -r of the same META-INF tree (file creation dominates):\n", indexCount)
		fmt.Printf("  build  median %8s\n  cp -r  median %8s\n  ratio %.2fx (no budget)\n\n", ms(sb.median()), ms(scp.median()), float64(sb.median())/float64(scp.median()))
	}

	if err := benchTrees(scratch, noop, bin("build"), cpInv.path, big.env, treeRuns); err != nil {
		return err
	}

	printSizes(bin, noop)
	printRSS(rss, rssAt)
	fmt.Println()
	if err := benchLaunch(root, builderDir, refs, scratch, runs, warmup, scaleN); err != nil {
		return err
	}
	fmt.Printf("\nbench took %s\n", time.Since(begin).Round(time.Second))
	return nil
}

func find(loads []*workload, name string) *workload {
	for _, w := range loads {
		if w.name == name {
			return w
		}
	}
	panic("no workload " + name)
}

type row struct {
	workload, program string
	prog, noop        series
	limit             float64 // budget as a ratio to the no-op; 0 = none
	floor             string  // the reference program that is this row's floor; "" = none
	floorTimes        series
}

func budgetFor(workload, program string) float64 {
	switch {
	case program == "detect":
		return detectBudget
	case workload == mtlsWorkload && (program == "build" || program == "release"):
		return buildReleaseBudget
	}
	return 0
}

// floorFor names the reference program that does the least of the row's
// job, for the rows that have a budget.
func floorFor(workload, program string) string {
	switch {
	case budgetFor(workload, program) == 0:
		return ""
	case program == "detect":
		return "gjson"
	}
	return "x509"
}

func verdict(ok bool) string {
	if ok {
		return "MET"
	}
	return "MISSED"
}

func printTimes(rows []row, osFloor float64) {
	fmt.Println("Whole-process wall time (start to reaped), median and 90th percentile, against the static no-op run with the same arguments:")
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "package\tprogram\tmedian\tp90\tno-op\tratio\tfloor\tbudget")
	for _, r := range rows {
		ratio := float64(r.prog.median()) / float64(r.noop.median())
		floor, budget := "-", "-"
		if r.floor != "" {
			floor = fmt.Sprintf("%.2fx %s", float64(r.floorTimes.median())/float64(r.noop.median()), r.floor)
		}
		if r.limit > 0 {
			budget = fmt.Sprintf("<=%.2fx %s", r.limit, verdict(ratio <= r.limit))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.2fx\t%s\t%s\n", r.workload, r.program,
			ms(r.prog.median()), ms(r.prog.quantile(0.9)), ms(r.noop.median()), ratio, floor, budget)
	}
	tw.Flush()
	fmt.Println("(run: launches the no-op as the chaincode from a TLS chaincode.json and waits for it; no budget)")
	fmt.Printf("floors, run alternately with the program and the no-op (test/bench/reference): the least any Go program\n"+
		"doing the row's job costs here. gjson: reads metadata.json with bare system calls and gjson, nothing else;\n"+
		"x509: decodes connection.json and parses its certificates and key with crypto/x509, writes nothing;\n"+
		"under both, a Go program that only imports os: %.2fx.\n\n", osFloor)
}

func printCopy(build, cp series) {
	mib := float64(bigExecutable) / (1 << 20)
	tb := mib / build.median().Seconds()
	tc := mib / cp.median().Seconds()
	fmt.Println("Copying the 100 MiB executable (whole process, fresh output folder, file in the page cache):")
	fmt.Printf("  build  median %8s  %7.0f MiB/s\n", ms(build.median()), tb)
	fmt.Printf("  cp     median %8s  %7.0f MiB/s\n", ms(cp.median()), tc)
	fmt.Printf("  build/cp throughput %.2fx   budget >=%.1fx  %s\n\n", tb/tc, copyBudget, verdict(tb/tc >= copyBudget))
}

func printSizes(bin func(string) string, noop string) {
	fmt.Println("Binary sizes:")
	var total int64
	for _, p := range bindir.Names {
		st, err := os.Stat(bin(p))
		if err != nil {
			fmt.Printf("  %-8s missing\n", p)
			continue
		}
		total += st.Size()
		budget := ""
		if p == "detect" {
			budget = fmt.Sprintf("  budget <=%.1f MiB  %s", mb(detectSizeBudget), verdict(st.Size() <= detectSizeBudget))
		}
		fmt.Printf("  %-8s %6.2f MiB  (%d bytes)%s\n", p, mb(st.Size()), st.Size(), budget)
	}
	if st, err := os.Stat(noop); err == nil {
		fmt.Printf("  %-8s %6.2f MiB  (the static no-op, for scale)\n", "no-op", mb(st.Size()))
	}
	fmt.Printf("  total    %6.2f MiB  budget <=%d MiB  %s\n\n", mb(total), sizeBudget>>20, verdict(total <= sizeBudget))
}

func printRSS(rss map[string]int64, at map[string]string) {
	fmt.Println("Peak RSS (largest over the packages above; VmHWM read at the exit of a ptraced run):")
	for _, p := range bindir.Names {
		v := rss[p]
		fmt.Printf("  %-8s %6.2f MiB  budget <=%d MiB  %-6s  (on %s)\n", p, mb(v), rssBudget>>20, verdict(v <= rssBudget), at[p])
	}
	fmt.Printf("  %-8s %6.2f MiB  (for scale)\n", "no-op", mb(rss["no-op"]))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func mb(n int64) float64 { return float64(n) / (1 << 20) }
