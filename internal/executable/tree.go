package executable

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"unicode"

	"github.com/extbuilder/extbuilder/internal/layout"
	"github.com/extbuilder/extbuilder/internal/msg"
	"github.com/extbuilder/extbuilder/internal/regfile"
)

// Limits of a binary package's tree, for build and lint alike: far above a
// real chaincode (a Node.js one with node_modules is a few thousand files,
// a Java one a few jars), low enough that a hostile package cannot fill the
// peer's disk or keep build busy for minutes.
const (
	MaxEntries       = 10000   // files and folders
	MaxBytes   int64 = 1 << 30 // the files' sizes added up
)

// Warn receives one warning line.
type Warn func(format string, a ...any)

// maxForeignWarnings bounds the lines about ELF files of another
// architecture: a node_modules built elsewhere can hold hundreds.
const maxForeignWarnings = 5

// InstallTree installs the tree of a binary package: every regular file and
// folder of sourceDir goes to outDir/layout.TreeDir at the same relative path, and
// outDir/layout.EntryFile names relPath, the entry point (metadata.json's "path";
// the caller passes "chaincode" when it is empty), which must be a program
// this machine can run (see CheckEntry). Files keep their owner's execute
// bit and nobody but the owner may write them; the entry point is made
// executable. outDir is a staging folder: on error it may hold part of the
// tree, and the caller discards it.
func InstallTree(sourceDir, relPath, outDir string, warn Warn) error {
	name, err := CheckEntry(sourceDir, relPath)
	if err != nil {
		return err
	}
	w := &walker{entry: name, dest: filepath.Join(outDir, layout.TreeDir), warn: warn}
	if err := w.run(sourceDir); err != nil {
		return err
	}
	entry := filepath.Join(outDir, layout.EntryFile)
	if err := os.WriteFile(entry, []byte(name+"\n"), 0o644); err != nil {
		return cannotWrite(layout.EntryFile, err)
	}
	return nil
}

// CheckTree checks the tree in sourceDir as InstallTree does, writing
// nothing: the same refusals, limits and warnings. entry is the entry
// point's cleaned path (from CheckEntry), made executable by build. lint
// calls it on the unpacked code.tar.gz.
func CheckTree(sourceDir, entry string, warn Warn) error {
	w := &walker{entry: entry, warn: warn}
	return w.run(sourceDir)
}

// WalkTree checks the tree in dir as build does and calls visit for every
// regular file, in a fixed order (by name, folder by folder), with the file
// open for reading and its size. Folders are reported with f nil.
// extbuilder package packs a folder with it.
func WalkTree(dir string, visit func(rel string, f *os.File, info fs.FileInfo) error) error {
	w := &walker{visit: visit}
	return w.run(dir)
}

// Mode is the mode build gives a file of the tree: the owner's execute bit
// kept (and given to the entry point), readable wherever it was readable,
// writable by nobody but the owner.
func Mode(perm fs.FileMode, entry bool) fs.FileMode {
	m := perm&0o755 | 0o600
	if entry {
		m |= (m & 0o444) >> 2
	}
	return m
}

type foreignFile struct{ name, arch string }

type walker struct {
	entry   string // the entry point's cleaned, slash-separated path
	dest    string // where the tree goes; "" to check only
	warn    Warn
	visit   func(rel string, f *os.File, info fs.FileInfo) error
	entries int
	bytes   int64
	foreign []foreignFile // ELF files for another architecture
}

// item is a file or folder found by the first pass.
type item struct {
	name, base string // path in the package, and its last element
	size       int64
	dir        bool
	children   []item
}

// run walks dir twice: the first pass reads only folders and file sizes
// and refuses the tree (links, special files, too many entries, too many
// bytes) before anything is written; the second copies.
func (w *walker) run(dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("opening the package folder: %w", msg.Reason(err))
	}
	defer root.Close()
	items, err := w.scan(root, "")
	if err != nil {
		return err
	}
	if w.dest != "" {
		if err := os.Mkdir(w.dest, 0o755); err != nil {
			return cannotWrite(layout.TreeDir, err)
		}
		if err := os.Chmod(w.dest, 0o755); err != nil { // not the umask: modes are part of the build
			return cannotWrite(layout.TreeDir, err)
		}
	}
	if err := w.copy(root, items); err != nil {
		return err
	}
	if w.warn != nil {
		for i, f := range w.foreign {
			if i == maxForeignWarnings {
				w.warn("%d more ELF files in the package are for another architecture than %s", len(w.foreign)-i, runtime.GOARCH)
				break
			}
			w.warn("%s: is an ELF file for %s, not %s (the architecture of this peer): the chaincode cannot run or load it here", f.name, f.arch, runtime.GOARCH)
		}
	}
	return nil
}

func (w *walker) scan(root *os.Root, rel string) ([]item, error) {
	d, err := root.Open(".")
	if err != nil {
		return nil, unreadable(rel, err)
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return nil, unreadable(rel, err)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	items := make([]item, 0, len(entries))
	for _, e := range entries {
		it := item{name: path.Join(rel, e.Name()), base: e.Name()}
		if w.entries++; w.entries > MaxEntries {
			return nil, &Error{File: "code.tar.gz", Problem: fmt.Sprintf("holds more than %d files and folders, the most a binary package may install", MaxEntries),
				Hint: "leave out what the chaincode does not need at run time (tests, sources, caches)"}
		}
		if len(it.name) > maxPath {
			return nil, &Error{File: show(it.name), Problem: fmt.Sprintf("expected a path of at most %d bytes, found %d", maxPath, len(it.name))}
		}
		switch t := e.Type(); {
		case t.IsDir():
			sub, err := root.OpenRoot(it.base)
			if err != nil {
				return nil, unreadable(it.name, err)
			}
			it.dir = true
			it.children, err = w.scan(sub, it.name)
			sub.Close()
			if err != nil {
				return nil, err
			}
		case t.IsRegular():
			info, err := e.Info()
			if err != nil {
				return nil, unreadable(it.name, err)
			}
			it.size = info.Size()
			if w.bytes += it.size; w.bytes > MaxBytes {
				return nil, tooManyBytes()
			}
		default:
			return nil, refuseKind(it.name, t)
		}
		items = append(items, it)
	}
	return items, nil
}

func tooManyBytes() error {
	return &Error{File: "code.tar.gz", Problem: fmt.Sprintf("holds more than %s of files, the most a binary package may install", regfile.Size(MaxBytes)),
		Hint: "leave out what the chaincode does not need at run time (tests, sources, caches)"}
}

func refuseKind(name string, t fs.FileMode) error {
	hint := "a binary package carries only regular files and folders, as the peer unpacks only those"
	if t&fs.ModeSymlink != 0 {
		hint = "pack the file itself, not a link to it (tar --dereference)"
	}
	return &Error{File: show(name), Problem: "expected a regular file or folder, found " + msg.FileKind(t), Hint: hint}
}

func (w *walker) copy(root *os.Root, items []item) error {
	for _, it := range items {
		var err error
		if it.dir {
			err = w.folder(root, it)
		} else {
			err = w.file(root, it)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) folder(root *os.Root, it item) error {
	if w.dest != "" {
		p := filepath.Join(w.dest, filepath.FromSlash(it.name))
		if err := os.Mkdir(p, 0o755); err != nil {
			return cannotWrite(layout.TreeDir+"/"+show(it.name), err)
		}
		if err := os.Chmod(p, 0o755); err != nil {
			return cannotWrite(layout.TreeDir+"/"+show(it.name), err)
		}
	}
	if w.visit != nil {
		if err := w.visit(it.name, nil, nil); err != nil {
			return err
		}
	}
	sub, err := root.OpenRoot(it.base)
	if err != nil {
		return unreadable(it.name, err)
	}
	defer sub.Close()
	return w.copy(sub, it.children)
}

func (w *walker) file(root *os.Root, it item) error {
	name := it.name
	// O_NONBLOCK: a file swapped for a FIFO after the first pass cannot
	// hang build.
	f, err := root.OpenFile(it.base, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return unreadable(name, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return unreadable(name, err)
	}
	if !info.Mode().IsRegular() {
		return refuseKind(name, info.Mode().Type())
	}
	size := info.Size()
	if size > it.size { // grown since the first pass counted it against MaxBytes
		return &Error{File: show(name), Problem: "changed while build read it"}
	}
	if name != w.entry && size >= 20 {
		var head [20]byte
		if n, _ := f.ReadAt(head[:], 0); n == len(head) {
			if arch, ok := foreignELF(head[:]); ok {
				w.foreign = append(w.foreign, foreignFile{show(name), arch})
			}
		}
	}
	if w.visit != nil {
		if err := w.visit(name, f, info); err != nil {
			return err
		}
	}
	if w.dest == "" {
		return nil
	}
	mode := Mode(info.Mode().Perm(), name == w.entry)
	shown := layout.TreeDir + "/" + show(name)
	out, err := os.OpenFile(filepath.Join(w.dest, filepath.FromSlash(name)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return cannotWrite(shown, err)
	}
	// CopyN from one file to another is copy_file_range: no copy through
	// user space, and a reflink where the file system offers one.
	if _, err := io.CopyN(out, f, size); err != nil {
		out.Close()
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == f.Name() || errors.Is(err, io.EOF) {
			return &Error{File: show(name), Problem: "cannot be read: " + msg.Reason(err).Error(), Err: err}
		}
		return cannotWrite(shown, err)
	}
	if err := out.Chmod(mode); err != nil { // not the umask: modes are part of the build
		out.Close()
		return cannotWrite(shown, err)
	}
	if err := out.Close(); err != nil {
		return cannotWrite(shown, err)
	}
	return nil
}

// foreignELF reports the architecture of an ELF header that is not this
// machine's.
func foreignELF(h []byte) (string, bool) {
	if !bytes.HasPrefix(h, []byte(elf.ELFMAG)) || len(h) < 20 {
		return "", false
	}
	want, known := goarchTargets[runtime.GOARCH]
	if !known {
		return "", false
	}
	found := target{class: elf.Class(h[elf.EI_CLASS]), data: elf.Data(h[elf.EI_DATA])}
	switch found.data {
	case elf.ELFDATA2LSB:
		found.machine = elf.Machine(uint16(h[18]) | uint16(h[19])<<8)
	case elf.ELFDATA2MSB:
		found.machine = elf.Machine(uint16(h[18])<<8 | uint16(h[19]))
	default:
		return "", false
	}
	if found == want {
		return "", false
	}
	return describeTarget(found), true
}

// show names a file of the package in a message: as it is, or quoted when
// it holds something that would break the line.
func show(name string) string {
	if strings.IndexFunc(name, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }) >= 0 || len(name) > 200 {
		return msg.Quote(name)
	}
	return name
}

func unreadable(name string, err error) error {
	if name == "" {
		name = "."
	}
	return &Error{File: show(name), Problem: "cannot be read: " + msg.Reason(err).Error(), Err: err}
}

func cannotWrite(name string, err error) error {
	return &Error{File: "BUILD_OUTPUT_DIR", Problem: "cannot write " + name + ": " + msg.Reason(err).Error(), Err: err}
}
