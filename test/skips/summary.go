package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json's TestEvent), plus
// the build events the go command adds (build-output, build-fail).
type event struct {
	Action     string
	Package    string
	ImportPath string
	Test       string
	Output     string
}

// Skip is one skipped test and the reason it gave.
type Skip struct {
	Package, Test, Reason string
}

// summarize reads `go test -json` events from r and writes what a plain
// `go test` prints (each package's result line, the output of failed tests,
// build errors), then the list of skipped tests with their reasons. It
// returns the skips and whether any test, package or build failed.
func summarize(r io.Reader, w io.Writer) ([]Skip, bool, error) {
	type key struct{ pkg, test string }
	output := map[key][]string{}
	var skips []Skip
	failed := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// Not an event (a go command message): pass it on as it is.
			fmt.Fprintf(w, "%s\n", line)
			continue
		}
		k := key{e.Package, e.Test}
		switch {
		case e.Action == "build-output":
			fmt.Fprint(w, e.Output)
		case e.Action == "build-fail":
			failed = true
		case e.Test == "" && e.Action == "output":
			// Package-level lines: "ok  pkg 1.2s", "FAIL", "? pkg [no test
			// files]", TestMain's own output. A lone PASS is verbose noise.
			if e.Output != "PASS\n" {
				fmt.Fprint(w, e.Output)
			}
		case e.Test == "" && e.Action == "fail":
			failed = true
		case e.Test == "":
			// start, pass, or skip of a package without tests ("? ...
			// [no test files]" above says so): nothing to add.
		case e.Action == "output":
			output[k] = append(output[k], e.Output)
		case e.Action == "fail":
			failed = true
			for _, l := range output[k] {
				if !isFrame(l) {
					fmt.Fprint(w, l)
				}
			}
			delete(output, k)
		case e.Action == "skip":
			skips = append(skips, Skip{Package: e.Package, Test: e.Test, Reason: reason(output[k])})
			delete(output, k)
		case e.Action == "pass":
			delete(output, k)
		}
	}
	if err := sc.Err(); err != nil {
		return skips, true, err
	}
	sort.Slice(skips, func(i, j int) bool {
		if skips[i].Package != skips[j].Package {
			return skips[i].Package < skips[j].Package
		}
		return skips[i].Test < skips[j].Test
	})
	if failed {
		fmt.Fprintln(w, "FAIL") // go test's last line when anything failed
	}
	writeSkips(w, skips)
	return skips, failed, nil
}

// isFrame tells the lines go test -v adds around a test's own output.
func isFrame(l string) bool {
	for _, p := range []string{"=== RUN", "=== PAUSE", "=== CONT", "=== NAME"} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// reason is what a skipped test printed (t.Skip's message and any log
// lines before it), on one line.
func reason(lines []string) string {
	var parts []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || isFrame(l) || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}

func writeSkips(w io.Writer, skips []Skip) {
	if len(skips) == 0 {
		fmt.Fprintln(w, "\nSkipped tests: none.")
		return
	}
	fmt.Fprintf(w, "\nSkipped tests (%d): these did not run here.\n", len(skips))
	for _, s := range skips {
		fmt.Fprintf(w, "  SKIP %s %s: %s\n", s.Package, s.Test, s.Reason)
	}
}
