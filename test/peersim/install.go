package peersim

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// Builder is one entry of the peer's chaincode.externalBuilders list.
type Builder struct {
	Name                 string   // stored with every build; must stay stable
	Path                 string   // the folder that holds bin/
	PropagateEnvironment []string // peer environment variables passed to the programs
}

// DefaultEnvironment is what the peer passes to every builder program, on top
// of the builder's propagateEnvironment, when set in its own environment.
var DefaultEnvironment = []string{"LD_LIBRARY_PATH", "LIBPATH", "PATH", "TMPDIR"}

// Peer holds what a peer's install needs: its builders, its own
// environment and its file system path.
type Peer struct {
	Builders []Builder
	// Env is the peer process environment ("NAME=value"); nil means this
	// process's environment. Programs get only the pruned part of it.
	Env []string
	// FileSystemPath is peer.fileSystemPath; the build cache lives in
	// FileSystemPath/externalbuilder/builds. Required.
	FileSystemPath string

	// KeepScratch keeps the fabric-<id> folder (the peer removes it) so that
	// a test can look at what a failed build left in bld/ and release/.
	// The caller removes it (Result.ScratchDir).
	KeepScratch bool
	// ForceBuild runs build and release with the first builder even when its
	// detect declines. A peer never does this; it shows that build refuses
	// a package by itself.
	ForceBuild bool
}

// Step is one program run.
type Step struct {
	Program  string   // detect, build or release
	Args     []string // as passed
	Env      []string // the pruned environment it got
	ExitCode int      // -1 when it could not be started or was killed by a signal
	Stderr   []string // lines, as the peer logs them
	// StderrOverflow is set when a line exceeded 64 KiB: the peer's reader
	// gives up there (peersim drains the rest so the program cannot block).
	StderrOverflow bool
	// Stdout is what the program wrote to stdout. The peer discards it;
	// peersim keeps it so tests can check that nothing goes there.
	Stdout []byte
	Err    error // could not start, or the exit error
}

// Result is what one install did.
type Result struct {
	PackageID string
	Builder   string // the builder whose detect claimed the package; "" when none did
	Cached    bool   // the package had been built before: nothing ran
	Steps     []Step

	// The peer's temporary folders. They are removed after the install
	// unless Peer.KeepScratch is set.
	ScratchDir, SourceDir, MetadataDir, BldDir, ReleaseDir string

	// The build cache: CacheDir/build-info.json, CacheDir/bld, CacheDir/release.
	// Empty when the install failed or no builder claimed the package.
	CacheDir, CachedBld, CachedRelease string
}

// Step returns the named step, or nil when it did not run.
func (r *Result) Step(program string) *Step {
	for i := range r.Steps {
		if r.Steps[i].Program == program {
			return &r.Steps[i]
		}
	}
	return nil
}

// Claimed reports whether a builder took the package. When none did, a real
// peer goes on to its Docker build, which a Docker-less peer cannot do.
func (r *Result) Claimed() bool { return r.Builder != "" }

// SanitizePackageID makes a package ID usable as a file name, as the peer does.
func SanitizePackageID(id string) string {
	return unsafeInFileName.ReplaceAllString(id, "-")
}

var unsafeInFileName = regexp.MustCompile(`[<>:"/\\|?*&]`)

// Install installs pkg as `peer lifecycle chaincode install` does with
// external builders. The error is the install failure the operator would
// see; the Result records everything that ran, also on failure.
func (p *Peer) Install(pkg *Package) (*Result, error) {
	res := &Result{PackageID: pkg.ID}
	if p.FileSystemPath == "" {
		return res, errors.New("peersim: Peer.FileSystemPath is required")
	}
	if len(p.Builders) == 0 {
		// The peer does not even unpack the package then.
		return res, nil
	}
	buildsDir := filepath.Join(p.FileSystemPath, "externalbuilder", "builds")
	cacheDir := filepath.Join(buildsDir, SanitizePackageID(pkg.ID))
	name, err := cachedBuilder(cacheDir)
	if err != nil {
		return res, err
	}
	if name != "" {
		if p.builder(name) == nil {
			return res, fmt.Errorf("chaincode %s was already built with builder %q, which is no longer configured", pkg.ID, name)
		}
		res.Builder, res.Cached = name, true
		res.CacheDir, res.CachedBld, res.CachedRelease = cacheDir, filepath.Join(cacheDir, "bld"), filepath.Join(cacheDir, "release")
		return res, nil
	}

	if err := p.newBuildContext(pkg, res); err != nil {
		return res, err
	}
	if !p.KeepScratch {
		defer os.RemoveAll(res.ScratchDir)
	}

	var chosen *Builder
	for i := range p.Builders {
		b := &p.Builders[i]
		if res.run(p, b, "detect", res.SourceDir, res.MetadataDir).ExitCode == 0 {
			chosen = b
			break
		}
	}
	if chosen == nil && p.ForceBuild {
		chosen = &p.Builders[0]
	} else if chosen != nil {
		res.Builder = chosen.Name
	}
	if chosen == nil {
		return res, nil
	}

	if st := res.run(p, chosen, "build", res.SourceDir, res.MetadataDir, res.BldDir); st.ExitCode != 0 {
		return res, fmt.Errorf("external builder failed to build: %s", st.failure())
	}
	if executable(filepath.Join(chosen.Path, "bin", "release")) {
		if st := res.run(p, chosen, "release", res.BldDir, res.ReleaseDir); st.ExitCode != 0 {
			return res, fmt.Errorf("external builder failed to release: %s", st.failure())
		}
	}
	if res.Builder == "" {
		return res, nil // forced: nothing claimed it, so nothing is cached
	}
	dir, err := cacheBuild(buildsDir, pkg.ID, chosen.Name, res.BldDir, res.ReleaseDir)
	if err != nil {
		return res, err
	}
	res.CacheDir, res.CachedBld, res.CachedRelease = dir, filepath.Join(dir, "bld"), filepath.Join(dir, "release")
	return res, nil
}

func (p *Peer) builder(name string) *Builder {
	for i := range p.Builders {
		if p.Builders[i].Name == name {
			return &p.Builders[i]
		}
	}
	return nil
}

// newBuildContext makes fabric-<id>NNN in the peer's TMPDIR with fresh 0700
// folders src, metadata, bld and release, unpacks the code into src and
// writes metadata.json byte for byte with mode 0700.
func (p *Peer) newBuildContext(pkg *Package, res *Result) (err error) {
	scratch, err := os.MkdirTemp(p.tempDir(), "fabric-"+SanitizePackageID(pkg.ID))
	if err != nil {
		return fmt.Errorf("could not create build context: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(scratch)
		}
	}()
	res.ScratchDir = scratch
	res.SourceDir = filepath.Join(scratch, "src")
	res.MetadataDir = filepath.Join(scratch, "metadata")
	res.BldDir = filepath.Join(scratch, "bld")
	res.ReleaseDir = filepath.Join(scratch, "release")
	for _, d := range []string{res.SourceDir, res.MetadataDir, res.BldDir, res.ReleaseDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fmt.Errorf("could not create build context: %w", err)
		}
	}
	if err := unpackCode(pkg.Code, res.SourceDir); err != nil {
		return fmt.Errorf("could not create build context: could not untar source package: %w", err)
	}
	if err := os.WriteFile(filepath.Join(res.MetadataDir, "metadata.json"), pkg.Metadata, 0o700); err != nil {
		return fmt.Errorf("could not create build context: %w", err)
	}
	return nil
}

// tempDir is os.TempDir as seen by the peer process: its TMPDIR, else /tmp.
func (p *Peer) tempDir() string {
	if dir, ok := lookup(p.env(), "TMPDIR"); ok && dir != "" {
		return dir
	}
	return "/tmp"
}

func (p *Peer) env() []string {
	if p.Env == nil {
		return os.Environ()
	}
	return p.Env
}

// PrunedEnv is the environment the peer gives b's programs: the builder's
// propagateEnvironment names, then the defaults, each when set.
func (p *Peer) PrunedEnv(b *Builder) []string {
	names := append([]string(nil), b.PropagateEnvironment...)
	for _, d := range DefaultEnvironment {
		if !contains(names, d) {
			names = append(names, d)
		}
	}
	// Never nil: a nil exec.Cmd.Env would hand over this whole process's environment.
	env := []string{}
	peerEnv := p.env()
	for _, n := range names {
		if v, ok := lookup(peerEnv, n); ok {
			env = append(env, n+"="+v)
		}
	}
	return env
}

func lookup(env []string, name string) (string, bool) {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == name {
			return v, true
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// executable is the peer's test for an optional bin/release.
func executable(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0
}

// run runs one builder program synchronously, as the peer does: pruned
// environment, the peer's working directory, stdout not looked at (kept for
// tests), stderr read line by line.
func (r *Result) run(p *Peer, b *Builder, program string, args ...string) *Step {
	st := Step{Program: program, Args: args, Env: p.PrunedEnv(b), ExitCode: -1}
	cmd := exec.Command(filepath.Join(b.Path, "bin", program), args...)
	cmd.Env = st.Env
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		st.Err = err
		r.Steps = append(r.Steps, st)
		return &r.Steps[len(r.Steps)-1]
	}
	// bufio.Scanner's default limit is the peer's: 64 KiB per line.
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		st.Stderr = append(st.Stderr, sc.Text())
	}
	if sc.Err() != nil {
		st.StderrOverflow = true
		io.Copy(io.Discard, stderr)
	}
	st.Err = cmd.Wait()
	st.ExitCode = cmd.ProcessState.ExitCode()
	st.Stdout = stdout.Bytes()
	r.Steps = append(r.Steps, st)
	return &r.Steps[len(r.Steps)-1]
}

func (st *Step) failure() string {
	if st.ExitCode < 0 && st.Err != nil {
		return fmt.Sprintf("%s: %v", st.Program, st.Err)
	}
	return fmt.Sprintf("%s: exit status %d", st.Program, st.ExitCode)
}
