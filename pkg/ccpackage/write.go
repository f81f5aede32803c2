package ccpackage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/otiai10/copy"
	"github.com/tidwall/gjson"

	"github.com/extbuilder/extbuilder/internal/couchdb"
	"github.com/extbuilder/extbuilder/internal/executable"
	"github.com/extbuilder/extbuilder/internal/imageref"
	"github.com/extbuilder/extbuilder/internal/metadata"
	"github.com/extbuilder/extbuilder/internal/msg"
	"github.com/extbuilder/extbuilder/internal/regfile"
	"github.com/extbuilder/extbuilder/pkg/connection"
	"github.com/extbuilder/extbuilder/pkg/connection/template"
)

// Spec describes a package to write. Paths are the operator's, as given.
type Spec struct {
	Type  string // ccaas, external, binary or k8s (any case; written in lower case)
	Label string // the peer's label rule applies

	// Connection is the connection.json of a ccaas or external package. It
	// is packed byte for byte (templates stay for the builder to expand),
	// with every file its *_file fields name, at the same relative path.
	Connection string
	// Executable is the chaincode of a binary package. It is packed at the
	// top of code.tar.gz under its own base name, which metadata.json's
	// path then names.
	Executable string
	// Dir, instead of Executable, is the whole program of a binary package:
	// every file and folder in it is packed at the same relative path, and
	// Entry, relative to Dir, names the file that starts it (metadata.json's
	// path). The tree must pass build's checks: regular files and folders
	// only, at most 10,000 of them and 1 GiB in all. Files are packed 0755
	// when their owner may execute them, else 0644.
	Dir, Entry string
	// Image is the image of a k8s package, NAME@sha256:DIGEST. It is
	// packed as image.json in fabric-builder-k8s's format.
	Image string
	// Indexes, optional, is a folder laid out like Fabric's
	// META-INF/statedb/couchdb: indexes/ and collections/<name>/indexes/,
	// subfolders included. The definitions go to
	// META-INF/statedb/couchdb/ in code.tar.gz.
	Indexes string

	Now  time.Time                     // when certificates must be valid; zero means now
	Warn func(format string, a ...any) // one warning line; nil discards warnings
}

// member is one file or folder of code.tar.gz.
type member struct {
	name string // slash-separated path inside code.tar.gz
	dir  bool
	mode int64
	data []byte   // contents, unless file or path is set
	file *os.File // streamed, for the executable, which may be large
	path string   // opened when written, for the files of a tree
	size int64
}

// prepared is a validated package, ready to write.
type prepared struct {
	label    string
	metadata []byte
	members  []member // sorted, with every parent folder
	private  bool     // carries the peer's client key: written 0600
}

// Write validates spec, writes the package to w and returns its ID. Nothing
// is written when validation fails.
func Write(w io.Writer, spec Spec) (string, error) {
	p, err := prepare(spec)
	if err != nil {
		return "", err
	}
	defer p.close()
	return p.write(w)
}

// WriteFile validates spec and writes the package to file atomically
// (temporary file in the same folder, then rename), mode 0644, or 0600 when
// connection.json carries a private key. It returns the package ID. On error
// file is left as it was.
func WriteFile(file string, spec Spec) (string, error) {
	p, err := prepare(spec)
	if err != nil {
		return "", err
	}
	defer p.close()
	mode := os.FileMode(0o644)
	if p.private {
		mode = 0o600
	}
	var id string
	err = regfile.WriteAtomic(file, mode, func(w io.Writer) error {
		id, err = p.write(w)
		return err
	})
	if err != nil {
		var we *regfile.Error
		if errors.As(err, &we) {
			err = we.Err
		}
		return "", msg.Errorf(file, "", "", "cannot write: %v", msg.Reason(err))
	}
	return id, nil
}

func (s *Spec) warn(format string, a ...any) {
	if s.Warn != nil {
		s.Warn(format, a...)
	}
}

func prepare(spec Spec) (_ *prepared, err error) {
	typ := strings.ToLower(spec.Type)
	mode := metadata.Metadata{Type: typ}.Mode()
	if mode == metadata.Unhandled {
		return nil, &metadata.Error{File: metadata.File, Field: "type", Problem: fmt.Sprintf("expected one of %s, %s, found %s", metadata.HandledTypes, metadata.KubernetesType, msg.Quote(spec.Type))}
	}
	if spec.Image != "" && mode != metadata.Kubernetes {
		return nil, fmt.Errorf("type %s: an image is only packed for type k8s", typ)
	}
	if err := metadata.CheckLabel(spec.Label); err != nil {
		return nil, err
	}
	p := &prepared{label: spec.Label}
	defer func() {
		if err != nil {
			p.close()
		}
	}()
	md := struct {
		Type  string `json:"type"`
		Label string `json:"label"`
		Path  string `json:"path,omitempty"`
	}{Type: typ, Label: spec.Label}

	var members []member
	switch mode {
	case metadata.Service:
		if spec.Connection == "" {
			return nil, fmt.Errorf("type %s: connection.json is required: it names the chaincode server the peer dials", typ)
		}
		if spec.Executable != "" {
			return nil, fmt.Errorf("type %s: an executable is only packed for type binary; hint: the chaincode of a %s package runs as its own server", typ, typ)
		}
		if members, p.private, err = connectionMembers(&spec); err != nil {
			return nil, err
		}
	case metadata.Binary:
		if (spec.Executable == "") == (spec.Dir == "") {
			return nil, errors.New("type binary: an executable, or a folder and its entry point, is required: it is what bin/run starts")
		}
		if spec.Connection != "" {
			return nil, errors.New("type binary: connection.json is only packed for types ccaas and external; hint: the peer starts a binary package itself, through bin/run")
		}
		if spec.Dir != "" {
			if members, md.Path, err = treeMembers(&spec); err != nil {
				return nil, err
			}
			break
		}
		m, err := executableMember(&spec)
		if err != nil {
			return nil, err
		}
		members, md.Path = []member{m}, m.name
	case metadata.Kubernetes:
		if spec.Image == "" {
			return nil, errors.New("type k8s: an image is required (NAME@sha256:DIGEST): it is what the Kubernetes builder's run starts as a pod")
		}
		if spec.Connection != "" || spec.Executable != "" || spec.Dir != "" {
			return nil, errors.New("type k8s: only the image (and indexes) are packed; hint: connection.json is for types ccaas and external, an executable for type binary")
		}
		img, f := imageref.ParseReference(spec.Image)
		if f != nil {
			return nil, fmt.Errorf("image: %w", f)
		}
		data := img.Marshal()
		members = []member{{name: imageref.File, mode: 0o644, data: data, size: int64(len(data))}}
	}
	if spec.Indexes != "" {
		ix, err := indexMembers(&spec)
		if err != nil {
			return nil, err
		}
		members = append(members, ix...)
	}
	if p.members, err = withFolders(members); err != nil {
		return nil, err
	}
	if p.metadata, err = json.Marshal(md); err != nil {
		return nil, err
	}
	var total int64
	for _, m := range p.members {
		total += m.size
	}
	if total > DefaultLimits.UnpackedBytes {
		return nil, fmt.Errorf("code.tar.gz would hold %d bytes, more than the %s that extbuilder lint reads", total, regfile.Size(DefaultLimits.UnpackedBytes))
	}
	return p, nil
}

func (p *prepared) close() {
	for _, m := range p.members {
		if m.file != nil {
			m.file.Close()
		}
	}
}

// connectionMembers validates connection.json as packaging can (templates
// parsed, not expanded) and returns it with the files it references.
func connectionMembers(spec *Spec) ([]member, bool, error) {
	file := spec.Connection
	data, err := readRegular(file, "", connection.MaxSize)
	if err != nil {
		return nil, false, err
	}
	dir := filepath.Dir(file)
	_, warnings, err := connection.Parse(data, connection.Options{
		File: file, SourceDir: dir, Templates: connection.CheckTemplates, Expander: template.Engine{}, Now: spec.Now,
	})
	for _, w := range warnings {
		spec.warn("%s", w)
	}
	if err != nil {
		return nil, false, err
	}
	members := []member{{name: ConnectionFile, mode: 0o644, data: data, size: int64(len(data))}}
	// Parse has checked every *_file reference: a local path to a readable
	// PEM file of at most connection.MaxSize bytes. Pack each one where the
	// builder will look for it, relative to connection.json. Names match as
	// Parse (and the peer) match them, ignoring case; null is absent.
	private := false
	var refErr error
	gjson.ParseBytes(data).ForEach(func(k, ref gjson.Result) bool {
		field := connection.FieldName(k.Str)
		if ref.Type == gjson.Null {
			return true
		}
		private = private || field == "client_key" || field == "client_key_file"
		if !strings.HasSuffix(field, "_file") {
			return true
		}
		if strings.Contains(ref.Str, "{{") {
			refErr = &connection.Error{File: file, Field: field,
				Problem: "a template cannot name a file to pack, found " + msg.Quote(ref.Str),
				Hint:    "name one file relative to connection.json's folder, or put the PEM text inline"}
			return false
		}
		rel := path.Clean(filepath.ToSlash(ref.Str))
		body, err := readRegular(filepath.Join(dir, filepath.FromSlash(rel)), dir, connection.MaxSize)
		if err != nil {
			refErr = fmt.Errorf("%s: %s: %w", file, field, err)
			return false
		}
		members = append(members, member{name: rel, mode: 0o644, data: body, size: int64(len(body))})
		return true
	})
	if refErr != nil {
		return nil, false, refErr
	}
	return members, private, nil
}

// readRegular reads a regular file of at most max bytes (regfile). With
// root set, file is inside root and read as build reads it; without, it is
// the operator's own argument, and links on its way are followed first.
func readRegular(file, root string, max int64) ([]byte, error) {
	var data []byte
	var err error
	if root == "" {
		data, err = regfile.Read(regfile.Resolve(file), max)
	} else {
		data, err = readIn(root, file, max)
	}
	if err != nil {
		return nil, msg.Errorf(file, "", "", "%v", err)
	}
	return data, nil
}

func readIn(root, file string, max int64) ([]byte, error) {
	rel, err := filepath.Rel(root, file)
	if err != nil {
		return nil, err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return regfile.ReadIn(r, rel, max)
}

// executableMember opens the chaincode executable of a binary package. An
// ELF file this machine cannot run is packed with a warning (the peers may
// have another architecture than the operator's machine); anything else
// that cannot be executed is refused.
func executableMember(spec *Spec) (member, error) {
	file := spec.Executable
	name := filepath.Base(file)
	if name == "." || name == ".." || name == string(filepath.Separator) {
		return member{}, msg.Errorf(file, "", "", "expected the path of an executable file")
	}
	f, size, err := regfile.Open(regfile.Resolve(file), DefaultLimits.UnpackedBytes)
	if err != nil {
		return member{}, msg.Errorf(file, "", "", "%v", err)
	}
	if err := executable.Check(file, f); err != nil {
		if !isELF(f) {
			f.Close()
			return member{}, err
		}
		// Here "this peer" is the operator's machine, which need not be one.
		text := strings.Replace(err.Error(), "(the architecture of this peer)", "(the architecture of this machine)", 1)
		spec.warn("%s; packed anyway: install it only on peers that can run it, and run extbuilder lint on such a machine", text)
	}
	return member{name: name, mode: 0o755, file: f, size: size}, nil
}

// treeMembers checks spec.Dir with build's tree checks (executable.WalkTree)
// and spec.Entry as build checks the entry point, and returns every file
// and folder to pack, with the entry point's path. As for Executable, an
// ELF entry point this machine cannot run and a #! interpreter missing here
// are warnings: the peer is another machine.
func treeMembers(spec *Spec) ([]member, string, error) {
	dir := spec.Dir
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		if err == nil || errors.Is(err, os.ErrNotExist) {
			return nil, "", fmt.Errorf("%s: expected the folder of the chaincode's program", dir)
		}
		return nil, "", fmt.Errorf("%s: cannot read: %v", dir, msg.Reason(err))
	}
	if spec.Entry == "" {
		return nil, "", fmt.Errorf("%s: the entry point is required: the file, relative to the folder, that bin/run starts", dir)
	}
	entry, err := executable.CheckEntry(dir, spec.Entry)
	if err != nil {
		var e *executable.Error
		if !errors.As(err, &e) {
			return nil, "", fmt.Errorf("%s: %w", dir, err)
		}
		if e.File == MetadataFile { // the path itself: the operator's --entry
			return nil, "", fmt.Errorf("%s: entry point: %s", dir, e.Problem)
		}
		if !errors.Is(err, executable.ErrNoInterpreter) && !fileIsELF(filepath.Join(dir, filepath.FromSlash(e.File))) {
			return nil, "", fmt.Errorf("%s: %w", dir, err)
		}
		text := strings.Replace(err.Error(), "(the architecture of this peer)", "(the architecture of this machine)", 1)
		text = strings.Replace(text, "is not installed on this peer", "is not installed on this machine", 1)
		spec.warn("%s/%s; packed anyway: install it only on peers that can run it, and run extbuilder lint on such a machine", dir, text)
		entry = e.File
	}
	var members []member
	err = executable.WalkTree(dir, func(rel string, f *os.File, info fs.FileInfo) error {
		if f == nil {
			members = append(members, member{name: rel, dir: true, mode: 0o755})
			return nil
		}
		mode := int64(0o644)
		if executable.Mode(info.Mode().Perm(), rel == entry)&0o100 != 0 {
			mode = 0o755
		}
		members = append(members, member{name: rel, mode: mode, path: filepath.Join(dir, filepath.FromSlash(rel)), size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", dir, err)
	}
	if _, err := couchdb.Collect(dir, spec.warn); err != nil {
		return nil, "", fmt.Errorf("%s: %w", dir, err)
	}
	return members, entry, nil
}

func fileIsELF(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	return isELF(f)
}

func isELF(r io.ReaderAt) bool {
	var magic [4]byte
	n, _ := r.ReadAt(magic[:], 0)
	return n == 4 && string(magic[:]) == "\x7fELF"
}

// indexMembers validates the index definitions in spec.Indexes with
// internal/couchdb, which reads them from a package's META-INF: the folder is
// staged under a temporary META-INF/statedb/couchdb first. Messages name
// the operator's files.
func indexMembers(spec *Spec) ([]member, error) {
	dir := spec.Indexes
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, msg.Errorf(dir, "", "", "folder not found")
	case err != nil:
		return nil, msg.Errorf(dir, "", "", "cannot read: %v", msg.Reason(err))
	case !st.IsDir():
		return nil, msg.Errorf(dir, "", "", "expected a folder of CouchDB index definitions, found a file")
	}
	if !isDir(filepath.Join(dir, "indexes")) && !isDir(filepath.Join(dir, "collections")) {
		hint := "it holds indexes/ and collections/<name>/indexes/"
		if nested := filepath.Join(dir, filepath.FromSlash(IndexesDir)); isDir(nested) {
			hint = "pass " + nested
		}
		return nil, msg.Errorf(dir, "", hint, "expected a folder holding indexes/ or collections/ (like Fabric's META-INF/statedb/couchdb), found neither")
	}
	src, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, msg.Errorf(dir, "", "", "cannot read: %v", msg.Reason(err))
	}
	shown := func(p string) string { // a path under src, as the operator names it
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return p
		}
		return filepath.Join(dir, rel)
	}
	stage, err := os.MkdirTemp("", "extbuilder-indexes-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	staged := filepath.Join(stage, filepath.FromSlash(IndexesDir))
	if err := os.MkdirAll(filepath.Dir(staged), 0o700); err != nil {
		return nil, err
	}
	err = copy.Copy(src, staged, copy.Options{
		Skip: func(info os.FileInfo, p, _ string) (bool, error) {
			if !info.IsDir() && !info.Mode().IsRegular() {
				return false, fmt.Errorf("%s: expected a regular file or folder, found %s; hint: a package can only carry regular files",
					shown(p), msg.FileKind(info.Mode()))
			}
			return false, nil
		},
		OnSymlink:         func(string) copy.SymlinkAction { return copy.Skip },
		PermissionControl: copy.AddPermission(0o700),
	})
	if err != nil {
		return nil, err
	}
	// couchdb names files as they are in the package; show the operator's.
	fromStage := func(s string) string {
		if rest, ok := strings.CutPrefix(s, IndexesDir+"/"); ok {
			return filepath.Join(dir, filepath.FromSlash(rest))
		}
		return s
	}
	indexes, err := couchdb.Collect(stage, func(format string, a ...any) {
		spec.warn("%s", fromStage(fmt.Sprintf(format, a...)))
	})
	if err != nil {
		var ce *couchdb.Error
		if errors.As(err, &ce) {
			ce.File = fromStage(ce.File)
		}
		return nil, err
	}
	if len(indexes) == 0 {
		spec.warn("%s: holds no index definitions: nothing packed from it", dir)
	}
	members := make([]member, 0, len(indexes))
	for _, ix := range indexes {
		members = append(members, member{name: IndexesDir + "/" + ix.Dest, mode: 0o644, data: ix.Data, size: int64(len(ix.Data))})
	}
	return members, nil
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// withFolders adds a folder entry for every parent, refuses two members at
// one place, and sorts: the order is part of what is reproducible.
func withFolders(files []member) ([]member, error) {
	byName := map[string]bool{}
	folders := map[string]bool{}
	for _, m := range files {
		if m.dir {
			folders[m.name] = true
			continue
		}
		if byName[m.name] {
			return nil, fmt.Errorf("code.tar.gz: two files would be packed as %s; hint: rename one of them", m.name)
		}
		byName[m.name] = true
	}
	for d := range folders {
		if byName[d] {
			return nil, fmt.Errorf("code.tar.gz: %s would be both a file and a folder; hint: rename one of them", d)
		}
	}
	all := append([]member(nil), files...)
	for _, m := range files {
		for d := path.Dir(m.name); d != "."; d = path.Dir(d) {
			if byName[d] {
				return nil, fmt.Errorf("code.tar.gz: %s would be both a file and the folder holding %s; hint: rename one of them", d, m.name)
			}
			if !folders[d] {
				folders[d] = true
				all = append(all, member{name: d, dir: true, mode: 0o755})
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].name < all[j].name })
	return all, nil
}

// copyFile writes the size bytes of the file at p, which must not have
// changed size since it was checked.
func copyFile(w io.Writer, p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("%s: cannot open: %v", p, msg.Reason(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || st.Size() != size || !st.Mode().IsRegular() {
		return fmt.Errorf("%s: changed while it was packed", p)
	}
	if _, err := io.CopyN(w, f, size); err != nil {
		return fmt.Errorf("%s: %v (did the file change while it was packed?)", p, err)
	}
	return nil
}

// write writes the outer archive to w and returns the package ID.
func (p *prepared) write(w io.Writer) (string, error) {
	var code bytes.Buffer
	if err := writeTarGz(&code, p.members); err != nil {
		return "", err
	}
	h := sha256.New()
	err := writeTarGz(io.MultiWriter(w, h), []member{
		{name: MetadataFile, mode: 0o644, data: p.metadata, size: int64(len(p.metadata))},
		{name: CodeFile, mode: 0o644, data: code.Bytes(), size: int64(code.Len())},
	})
	if err != nil {
		return "", err
	}
	return idFromSum(p.label, h.Sum(nil)), nil
}

// writeTarGz writes members as a reproducible gzip tar: fixed time, owner 0
// with no names, the members' fixed modes, and a gzip header with no name,
// no time and the "unknown" OS byte.
func writeTarGz(w io.Writer, members []member) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	zw.Header = gzip.Header{OS: 255}
	tw := tar.NewWriter(zw)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Mode: m.mode, ModTime: archiveTime, Typeflag: tar.TypeReg, Size: m.size}
		if m.dir {
			h.Name, h.Typeflag, h.Size = m.name+"/", tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		switch {
		case m.file != nil:
			if _, err := m.file.Seek(0, io.SeekStart); err != nil {
				return err
			}
			if _, err := io.CopyN(tw, m.file, m.size); err != nil {
				return fmt.Errorf("%s: %v (did the file change while it was packed?)", m.file.Name(), err)
			}
		case m.path != "":
			if err := copyFile(tw, m.path, m.size); err != nil {
				return err
			}
		case !m.dir:
			if _, err := tw.Write(m.data); err != nil {
				return err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}
