package ccpackage

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"time"

	"github.com/extbuilder/extbuilder/internal/builder"
	"github.com/extbuilder/extbuilder/internal/couchdb"
	"github.com/extbuilder/extbuilder/internal/executable"
	"github.com/extbuilder/extbuilder/internal/imageref"
	"github.com/extbuilder/extbuilder/internal/metadata"
	"github.com/extbuilder/extbuilder/internal/msg"
	"github.com/extbuilder/extbuilder/internal/regfile"
	"github.com/extbuilder/extbuilder/pkg/connection"
)

// Severity says whether a finding fails the package.
type Severity int

const (
	// Warning: the package works, but something in it is probably not
	// what the operator meant.
	Warning Severity = iota
	// Error: the peer refuses the package, or extbuilder's build does.
	Error
)

func (s Severity) String() string {
	if s == Error {
		return "error"
	}
	return "warning"
}

// Finding is one problem lint found.
type Finding struct {
	Severity Severity
	Message  string // names the file (and field) at fault, as the builder would
}

func (f Finding) String() string { return f.Severity.String() + ": " + f.Message }

// LintOptions say how to check a package.
type LintOptions struct {
	// Expand executes connection.json's templates against Config, as build
	// does on a peer whose CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG is Config.
	// Otherwise templates are only parsed.
	Expand bool
	Config string

	Now     time.Time // when certificates must be valid; zero means now
	Limits  Limits    // zero fields take DefaultLimits
	TempDir string    // where code.tar.gz is unpacked for the checks; "" means os.TempDir
}

// Report is the result of Lint.
type Report struct {
	// ID is the package ID the peer would give the package, when its
	// metadata.json has a valid label and the outer archive is whole.
	ID       string
	Type     string // from metadata.json
	Findings []Finding
}

// Errors counts the findings that fail the package.
func (r *Report) Errors() int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity == Error {
			n++
		}
	}
	return n
}

// Lint checks the package file offline with the rules the peer applies at
// install (outer archive, label, code.tar.gz as the peer unpacks it) and
// those extbuilder's detect and build apply (type, connection.json, CouchDB
// indexes, the executable of a binary package and its architecture, checked
// against the machine lint runs on). The error is for a file that cannot be
// read at all; everything about its contents is a finding.
//
// Reading is bounded by opts.Limits. code.tar.gz is unpacked into a
// temporary folder, removed before Lint returns.
func Lint(file string, opts LintOptions) (*Report, error) {
	lim := opts.Limits.orDefault()
	f, r, h, err := openPackage(file, lim)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tmp, err := os.MkdirTemp(opts.TempDir, "extbuilder-lint-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return nil, err
	}
	defer root.Close()

	l := &linter{opts: opts, lim: lim, name: filepath.Base(file), root: root, dir: tmp, report: &Report{}}
	out, err := readOuter(r, lim, l.unpackCode)
	if err != nil {
		l.errorf("%s: %v", l.name, err)
		return l.report, nil
	}
	refused := false
	for _, fnd := range out.check() {
		l.errorf("%s: %s", l.name, fnd.message)
		refused = refused || fnd.peerRefuses
	}
	md, ok := l.checkMetadata(out)
	if !ok {
		return l.report, nil
	}
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("%s: cannot read: %v", file, msg.Reason(err))
	}
	if l.labelOK && !refused {
		l.report.ID = idFromSum(md.Label, h.Sum(nil))
	}
	if l.codeOK {
		l.checkContent(md)
	}
	return l.report, nil
}

type linter struct {
	opts    LintOptions
	lim     Limits
	name    string   // the package file's base name
	root    *os.Root // where code.tar.gz is unpacked
	dir     string   // root's path
	codeOK  bool     // code.tar.gz was read to its end
	labelOK bool
	report  *Report
}

func (l *linter) errorf(format string, a ...any) { l.add(Error, format, a...) }
func (l *linter) warnf(format string, a ...any)  { l.add(Warning, format, a...) }

func (l *linter) add(s Severity, format string, a ...any) {
	l.report.Findings = append(l.report.Findings, Finding{s, fmt.Sprintf(format, a...)})
}

// unpackCode unpacks code.tar.gz into l.root by the peer's rules, reporting
// every entry the peer would fail on rather than stopping at the first.
// Files are written 0600: the checks read them, nothing runs them.
func (l *linter) unpackCode(r io.Reader) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(512) // before gzip consumes it, to say what it is instead
	zr, err := gzip.NewReader(br)
	if err != nil {
		l.errorf("%s: expected gzip-compressed tar, found %s: the peer fails the install", CodeFile, identify(head))
		return
	}
	defer zr.Close()
	lr := &limitedReader{r: zr, n: l.lim.UnpackedBytes}
	tr := tar.NewReader(lr)
	files := map[string]bool{}
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			l.codeOK = true
			return
		}
		if err != nil {
			l.unpackFailed(lr, n, err)
			return
		}
		if n >= l.lim.Entries {
			l.errorf("%s: holds more than %d entries, the most extbuilder lint reads", CodeFile, l.lim.Entries)
			return
		}
		if !validPath(h.Name) {
			l.errorf("%s: %s: absolute or escaping path: the peer fails the install (\"tar contains the absolute or escaping path\"); hint: pack paths relative to the chaincode folder", CodeFile, msg.Quote(h.Name))
			continue
		}
		rel := path.Clean(h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := mkdirAll(l.root, rel); err != nil {
				l.errorf("%s: %s: cannot be a folder: %v; the peer fails the install too", CodeFile, msg.Name(h.Name), err)
			}
		case tar.TypeReg:
			if rel == "." {
				l.errorf("%s: %s: a file entry without a name: the peer fails the install", CodeFile, msg.Quote(h.Name))
				continue
			}
			if files[rel] {
				l.errorf("%s: %s appears twice: the peer writes the second copy over the first without truncating it, which can leave a corrupt file; hint: pack it once", CodeFile, msg.Name(rel))
				continue
			}
			files[rel] = true
			if h.Mode&0o400 == 0 {
				l.warnf("%s: %s: mode %04o: the peer creates the file with this mode, and the builder, running as the peer's user, cannot read it; hint: pack it 0644 (0755 for an executable)", CodeFile, msg.Name(rel), h.Mode&0o7777)
			}
			if err := l.writeFile(rel, tr); err != nil {
				if lr.hit {
					l.unpackFailed(lr, n, err)
					return
				}
				l.errorf("%s: %s: cannot be unpacked: %v; the peer fails the install too", CodeFile, msg.Name(rel), err)
			}
		default:
			hint := ""
			if h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink {
				hint = "; hint: pack the file itself (tar --dereference)"
			}
			l.errorf("%s: %s is %s: the peer accepts only regular files and folders and fails the install (\"invalid file type\")%s", CodeFile, msg.Name(h.Name), entryKind(h.Typeflag), hint)
		}
	}
}

func (l *linter) unpackFailed(lr *limitedReader, entries int, err error) {
	if lr.hit {
		l.errorf("%s: unpacks to more than %s, the most extbuilder lint reads", CodeFile, regfile.Size(l.lim.UnpackedBytes))
		return
	}
	l.errorf("%s: expected a tar archive inside the gzip stream, found a damaged one (after %d entries): %v; the peer fails the install", CodeFile, entries, err)
}

func (l *linter) writeFile(rel string, r io.Reader) error {
	if err := mkdirAll(l.root, path.Dir(rel)); err != nil {
		return err
	}
	f, err := l.root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return msg.Reason(err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// mkdirAll creates the folder rel and its parents inside root, 0700 like
// the peer.
func mkdirAll(root *os.Root, rel string) error {
	if rel == "." {
		return nil
	}
	if err := mkdirAll(root, path.Dir(rel)); err != nil {
		return err
	}
	err := root.Mkdir(rel, 0o700)
	if errors.Is(err, fs.ErrExist) {
		if st, serr := root.Lstat(rel); serr == nil && st.IsDir() {
			return nil
		}
		return fmt.Errorf("%s is a file", msg.Name(rel))
	}
	if err != nil {
		return msg.Reason(err)
	}
	return nil
}

// checkMetadata checks metadata.json as the peer and detect do. ok is false
// when nothing past it can be checked.
func (l *linter) checkMetadata(out *outerArchive) (md metadata.Metadata, ok bool) {
	if out.metadata == nil {
		return md, false // reported by the outer checks
	}
	md, err := metadata.Parse(out.metadata)
	if err != nil {
		l.errorf("%v", err)
		return md, false
	}
	l.report.Type = md.Type
	if w := md.Warning(); w != "" {
		l.warnf("%s", w)
	}
	if err := metadata.CheckLabel(md.Label); err != nil {
		l.errorf("%v: the peer refuses the package", err)
	} else {
		l.labelOK = true
	}
	if md.Mode() != metadata.Kubernetes {
		if err := metadata.CheckType(md); err != nil {
			l.errorf("%v: its detect would leave the package to another builder", err)
		}
	}
	return md, true
}

// checkContent runs the checks of extbuilder's build on the unpacked code.
func (l *linter) checkContent(md metadata.Metadata) {
	switch md.Mode() {
	case metadata.Unhandled:
		return
	case metadata.Service:
		l.checkConnection()
	case metadata.Kubernetes:
		l.checkImage()
	case metadata.Binary:
		l.checkTree(md)
		if _, err := l.root.Lstat(ConnectionFile); err == nil {
			l.warnf("%s: ignored in a package of type %s, which the peer starts through bin/run; hint: use type ccaas for a chaincode server the peer dials", ConnectionFile, md.Type)
		}
	}
	_, err := couchdb.Collect(l.dir, func(format string, a ...any) { l.warnf(format, a...) })
	if err != nil {
		l.errorf("%v", err)
	}
}

// checkImage checks image.json as the Kubernetes builder's build does.
func (l *linter) checkImage() {
	_, warnings, err := imageref.Read(l.dir, imageref.File)
	for _, w := range warnings {
		l.warnf("%s", w)
	}
	if err != nil {
		l.errorf("%v", err)
	}
	if _, err := l.root.Lstat(ConnectionFile); err == nil {
		l.warnf("%s: ignored in a package of type k8s, which runs as a pod; hint: use type ccaas for a chaincode server the peer dials", ConnectionFile)
	}
}

// checkConnection runs build's own load of connection.json (with build's
// hint for a missing one).
func (l *linter) checkConnection() {
	b := &builder.Builder{Config: l.opts.Config, Now: l.opts.Now, Warn: l.warnf}
	templates := connection.CheckTemplates
	if l.opts.Expand {
		templates = connection.ExpandTemplates
	}
	if _, err := b.Connection(l.dir, templates); err != nil {
		l.errorf("%v", err)
	}
}

// checkTree runs build's checks of a binary package (executable.CheckEntry
// and executable.CheckTree, with build's limits) on the unpacked
// code.tar.gz. The machine lint runs on need not be a peer: an interpreter
// missing here is a warning, and an architecture error says which machine
// it was checked against.
func (l *linter) checkTree(md metadata.Metadata) {
	rel := builder.ExecutablePath(md)
	name, err := executable.CheckEntry(l.dir, rel)
	switch {
	case errors.Is(err, executable.ErrNoInterpreter):
		l.warnf("%v (checked on the machine lint runs on; the peer needs it)", err)
	case err != nil:
		note := ""
		if f, _, ferr := regfile.OpenIn(l.root, path.Clean(filepath.ToSlash(rel)), 0); ferr == nil {
			if isELF(f) {
				note = fmt.Sprintf(" (lint checks against the machine it runs on, %s/%s)", runtime.GOOS, runtime.GOARCH)
			}
			f.Close()
		}
		l.errorf("%v%s", err, note)
	}
	if name == "" {
		name = path.Clean(filepath.ToSlash(rel))
	}
	if err := executable.CheckTree(l.dir, name, l.warnf); err != nil {
		l.errorf("%v", err)
	}
}
