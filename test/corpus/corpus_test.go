//go:build linux

// Package corpus runs the builders on hostile input: every case is a folder
// layout a peer could hand over (or that someone with access to the peer's
// disk could plant), and every case must end the same way: a non-zero exit,
// one to three stderr lines naming the file and the field, no key material,
// nothing half-written in the output folder, and no Go panic.
package corpus

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/extbuilder/extbuilder/internal/bindir"
	"github.com/extbuilder/extbuilder/test/golden"
	"github.com/extbuilder/extbuilder/test/peersim"
	"github.com/extbuilder/extbuilder/test/samples"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// binDir holds the built programs.
var binDir string

// pki is the certificate material every case draws from. Its private keys
// are what no message may show.
var pki = samples.NewPKI()

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run()) // listing tests (make fuzz does): nothing to build
	}
	syscall.Umask(0o022)
	dir, err := os.MkdirTemp("", "extbuilder-corpus-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = filepath.Join(dir, "extbuilder", "bin")
	code := 1
	if err := bindir.Build(filepath.Join("..", ".."), binDir); err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// dirs is the peer's layout for one case: fabric-<id>/{src,metadata,bld,release}
// for install, plus a RUN_METADATA_DIR for run.
type dirs struct {
	scratch, src, metadata, bld, release, runMetadata string
}

// output is the folder the failing program writes to, which must be left
// as it was: empty, but for what the case itself put there.
func (d *dirs) output(program string) string {
	switch program {
	case "build":
		return d.bld
	case "release":
		return d.release
	case "run":
		return d.runMetadata
	}
	return ""
}

// file is one file of a case's tree. mode 0 means 0644.
type file struct {
	name string
	body string
	mode fs.FileMode
}

// corpusCase is one bad input and where its error must point.
type corpusCase struct {
	name    string
	why     string // one line for the golden file
	program string // the program that must fail: detect, build, release or run

	metadata *string // metadata.json written byte for byte; nil = a valid ccaas one; see noMetadata
	src      []file  // SOURCE_DIR tree (detect, build)
	bld      []file  // BUILD_OUTPUT_DIR tree (release, run)
	cc       *string // RUN_METADATA_DIR/chaincode.json (run); nil = none
	config   *string // CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG in the peer's environment
	// plant changes the folders after the trees are written: symbolic
	// links, special files, mounts. It returns the names in the output
	// folder that it created itself (a filler file, say), or a reason to skip.
	plant func(t *testing.T, d *dirs) (keep []string, skip string)

	// want are the strings the error line must contain: the file, the field.
	want []string
	// warnOnly marks input the program may accept with a warning (the peer
	// accepts it too): exit 0 is fine, the message checks still apply, and
	// want applies to the warning line.
	warnOnly bool
}

const configVariable = "CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG"

// processTimeout is how long a program may take on a case. Every case is
// small: running into it means the program hung (a FIFO opened for reading
// waits for a writer forever).
const processTimeout = 10 * time.Second

// outcome is what one run left.
type outcome struct {
	args     []string
	exit     int
	hung     bool
	stderr   []string
	stdout   string
	leftover []string // entries in the output folder the case did not create
	started  bool     // run: the chaincode was started
}

func TestCorpus(t *testing.T) {
	cases := corpusCases()
	if len(cases) < 40 {
		t.Errorf("the corpus has %d cases; issue 5 asks for at least 40", len(cases))
	}
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("two cases named %s", c.name)
		}
		seen[c.name] = true
	}
	checkGoldenSet(t, seen)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, keep, skip := prepare(t, c)
			if skip != "" {
				t.Skip(skip)
			}
			o := runCase(t, c, d, keep)
			checkOutcome(t, c, o)
			checkGolden(t, c, describe(c, d, o))
		})
	}
}

// prepare lays out the peer's folders for c.
func prepare(t *testing.T, c corpusCase) (*dirs, []string, string) {
	t.Helper()
	scratch, err := os.MkdirTemp(t.TempDir(), "fabric-corpus-")
	if err != nil {
		t.Fatal(err)
	}
	d := &dirs{
		scratch:     scratch,
		src:         filepath.Join(scratch, "src"),
		metadata:    filepath.Join(scratch, "metadata"),
		bld:         filepath.Join(scratch, "bld"),
		release:     filepath.Join(scratch, "release"),
		runMetadata: filepath.Join(scratch, "run-metadata"),
	}
	for _, dir := range []string{d.src, d.metadata, d.bld, d.release, d.runMetadata, filepath.Join(scratch, "tmp")} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	md := validMetadata
	if c.metadata != nil {
		md = *c.metadata
	}
	if md != noMetadata {
		// The peer writes metadata.json with mode 0700.
		if err := os.WriteFile(filepath.Join(d.metadata, "metadata.json"), []byte(md), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeTree(t, d.src, c.src)
	writeTree(t, d.bld, c.bld)
	if c.cc != nil {
		if err := os.WriteFile(filepath.Join(d.runMetadata, "chaincode.json"), []byte(*c.cc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var keep []string
	if c.plant != nil {
		var skip string
		if keep, skip = c.plant(t, d); skip != "" {
			return d, nil, skip
		}
	}
	return d, keep, ""
}

func writeTree(t *testing.T, root string, files []file) {
	t.Helper()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		mode := f.mode
		if mode == 0 {
			mode = 0o644
		}
		if err := os.WriteFile(p, []byte(f.body), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// runCase runs c.program the way the peer does: its arguments, the pruned
// environment, stdout thrown away, stderr read line by line.
func runCase(t *testing.T, c corpusCase, d *dirs, keep []string) *outcome {
	t.Helper()
	var args []string
	switch c.program {
	case "detect":
		args = []string{d.src, d.metadata}
	case "build":
		args = []string{d.src, d.metadata, d.bld}
	case "release":
		args = []string{d.bld, d.release}
	case "run":
		args = []string{d.bld, d.runMetadata}
	default:
		t.Fatalf("unknown program %q", c.program)
	}
	peerEnv := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=" + filepath.Join(d.scratch, "tmp"), "HOME=/root"}
	if c.config != nil {
		peerEnv = append(peerEnv, configVariable+"="+*c.config)
	}
	propagate := []string{configVariable}
	if c.program == "run" {
		// The corpus is about run's input; its chaincode reports that it
		// started by writing into its own folder, which the sandbox
		// (test/sandbox_test.go) would refuse.
		peerEnv = append(peerEnv, "EXTBUILDER_SANDBOX=off")
		propagate = append(propagate, "EXTBUILDER_SANDBOX")
	}
	peer := &peersim.Peer{Env: peerEnv}
	env := peer.PrunedEnv(&peersim.Builder{PropagateEnvironment: propagate})

	ctx, cancel := context.WithTimeout(context.Background(), processTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, c.program), args...)
	cmd.Env = env
	cmd.Dir = d.scratch
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	o := &outcome{args: args, stdout: stdout.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		o.hung, o.exit = true, -1
	case errors.As(err, &ee):
		o.exit = ee.ExitCode()
	case err != nil:
		t.Fatalf("could not run %s: %v", c.program, err)
	}
	if s := strings.TrimSuffix(stderr.String(), "\n"); s != "" {
		o.stderr = strings.Split(s, "\n")
	}
	if c.program == "run" {
		_, err := os.Lstat(filepath.Join(d.bld, startedMarker))
		o.started = err == nil
	}
	o.leftover = leftovers(t, d.output(c.program), append(keep, inputsOf(c)...))
	return o
}

// inputsOf names what the case put in the output folder itself: for run,
// RUN_METADATA_DIR holds the peer's chaincode.json (or what was planted there).
func inputsOf(c corpusCase) []string {
	if c.program == "run" {
		return []string{"chaincode.json"}
	}
	return nil
}

// leftovers lists what is in dir besides keep, recursively.
func leftovers(t *testing.T, dir string, keep []string) []string {
	t.Helper()
	if dir == "" {
		return nil
	}
	var out []string
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		for _, k := range keep {
			if rel == k {
				if e.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	sort.Strings(out)
	return out
}

// checkOutcome asserts what every case must hold, whatever its golden says.
func checkOutcome(t *testing.T, c corpusCase, o *outcome) {
	t.Helper()
	if o.hung {
		t.Fatalf("%s did not finish within %s (killed); a peer install would hang with it", c.program, processTimeout)
	}
	if o.exit == 0 && !c.warnOnly {
		t.Errorf("%s exited 0 on bad input", c.program)
	}
	if o.exit < 0 {
		t.Errorf("%s was killed by a signal", c.program)
	}
	if o.stdout != "" {
		t.Errorf("%s wrote to stdout, which the peer throws away: %.200q", c.program, o.stdout)
	}
	if n := len(o.stderr); n < 1 || n > 3 {
		t.Errorf("%s printed %d stderr lines, want 1 to 3: %.600q", c.program, n, o.stderr)
	}
	for _, line := range o.stderr {
		if !strings.HasPrefix(line, c.program+": ") {
			t.Errorf("stderr line without the program name: %.200q", line)
		}
		if len(line) > maxLine {
			t.Errorf("stderr line of %d bytes, want at most %d: %.200q...", len(line), maxLine, line)
		}
		if i := strings.IndexFunc(line, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }); i >= 0 {
			t.Errorf("stderr line holds control character %q: %.200q", line[i], line)
		}
		if strings.Contains(line, "panic:") || strings.Contains(line, "goroutine ") {
			t.Errorf("stderr shows a Go panic: %.200q", line)
		}
		if leak := keyMaterial(line); leak != "" {
			t.Errorf("stderr shows %s: %.300q", leak, safe(line))
		}
	}
	if c.warnOnly {
		checkWarning(t, c, o)
		return
	}
	if len(o.stderr) > 0 {
		last := o.stderr[len(o.stderr)-1]
		if strings.HasPrefix(last, c.program+": warning: ") {
			t.Errorf("the last stderr line is a warning, not the error: %.200q", last)
		}
		for _, w := range c.want {
			if !strings.Contains(last, w) {
				t.Errorf("the error line does not name %q: %.300q", w, last)
			}
		}
	}
	if len(o.leftover) > 0 {
		t.Errorf("%s failed but left %s in its output folder", c.program, strings.Join(o.leftover, ", "))
	}
	if o.started && !c.warnOnly {
		t.Errorf("run started the chaincode although chaincode.json is bad")
	}
}

// checkWarning: some line is a warning naming everything in want.
func checkWarning(t *testing.T, c corpusCase, o *outcome) {
	t.Helper()
	for _, line := range o.stderr {
		named := strings.HasPrefix(line, c.program+": warning: ")
		for _, w := range c.want {
			named = named && strings.Contains(line, w)
		}
		if named {
			return
		}
	}
	t.Errorf("no warning line names %q: %.600q", c.want, safe(strings.Join(o.stderr, "\n")))
}

// maxLine bounds one stderr line: the peer gives up on a line over 64 KiB,
// and a person gives up long before.
const maxLine = 1024

// keyMaterial names the secret s shows, if any: a PEM header, the words
// PRIVATE KEY, or any 24 characters of a test private key's base64 body
// past the first 48 (which are the same for every P-256 PKCS#8 key).
func keyMaterial(s string) string {
	switch {
	case strings.Contains(s, "PRIVATE KEY"):
		return "the words PRIVATE KEY"
	case golden.PEMHeader.MatchString(s):
		return "a PEM header"
	}
	flat := strings.NewReplacer(`\n`, "", "\n", "", `\r`, "", "\r", "").Replace(s)
	for name, body := range keyBodies() {
		for i := 48; i+24 <= len(body); i += 4 {
			if strings.Contains(flat, body[i:i+24]) {
				return "base64 of the private key " + name
			}
		}
	}
	return ""
}

func keyBodies() map[string]string {
	out := map[string]string{}
	for name, v := range pki.Values() {
		if !strings.HasSuffix(name, "_key") {
			continue
		}
		if b, _ := pem.Decode([]byte(v)); b != nil {
			out[name] = base64.StdEncoding.EncodeToString(b.Bytes)
		}
	}
	return out
}

// safe is s with PEM blocks redacted and the words PRIVATE KEY defused,
// fit for a test log or a golden file.
func safe(s string) string {
	return strings.ReplaceAll(samples.NewRedactor(pki).RedactString(s), "PRIVATE KEY", "PRIVATE_KEY(!)")
}

// describe renders a case for its golden file, with temporary paths
// redacted so the file is the same in every run.
func describe(c corpusCase, d *dirs, o *outcome) string {
	r := samples.NewRedactor(pki).Path(d.scratch, "$SCRATCH")
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: %s\n", c.name, c.why)
	fmt.Fprintf(&b, "# Regenerate with `go test ./test/corpus -update`.\n\n")
	fmt.Fprintf(&b, "%s %s: exit %d\n", c.program, r.RedactString(strings.Join(o.args, " ")), o.exit)
	for _, line := range o.stderr {
		fmt.Fprintf(&b, "    %s\n", randomSuffix.ReplaceAllString(safe(r.RedactString(line)), "${1}*"))
	}
	if len(o.leftover) == 0 {
		b.WriteString("output folder: left as it was\n")
	} else {
		fmt.Fprintf(&b, "output folder: left %s\n", strings.Join(o.leftover, ", "))
	}
	return b.String()
}

const goldenDir = "testdata/golden"

// randomSuffix matches the random part of temporary names (os.MkdirTemp,
// os.CreateTemp) that a message may show, so goldens stay stable.
var randomSuffix = regexp.MustCompile(`(\.extbuilder-stage-|\.tmp-)[0-9]+`)

func checkGolden(t *testing.T, c corpusCase, got string) {
	t.Helper()
	golden.Check(t, goldenDir, c.name, got, *update, "go test ./test/corpus -update")
}

// checkGoldenSet keeps testdata/golden and the case table in step.
func checkGoldenSet(t *testing.T, names map[string]bool) {
	t.Helper()
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		if *update && errors.Is(err, fs.ErrNotExist) {
			return
		}
		t.Fatal(err)
	}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".txt")
		if !names[name] {
			if *update {
				os.Remove(filepath.Join(goldenDir, e.Name()))
				continue
			}
			t.Errorf("%s/%s belongs to no case", goldenDir, e.Name())
		}
	}
}
