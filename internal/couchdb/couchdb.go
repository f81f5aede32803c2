// Package couchdb carries a package's CouchDB index definitions to where the
// peer reads them. For a package built by an external builder the release
// folder replaces the package's own META-INF, so an index left behind here is
// an index the channel silently never gets.
package couchdb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/otiai10/copy"
	"github.com/tidwall/gjson"

	"github.com/extbuilder/extbuilder/internal/msg"
	"github.com/extbuilder/extbuilder/internal/regfile"
)

// Where packages keep indexes: Fabric's META-INF layout, and the metadata/
// layout the external builder docs show.
var sourceRoots = []string{"META-INF/statedb", "metadata/statedb"}

// BuildDir is where build leaves the indexes, relative to BUILD_OUTPUT_DIR.
const BuildDir = "META-INF/statedb/couchdb"

// ReleaseDir is where the peer reads them, relative to RELEASE_OUTPUT_DIR.
const ReleaseDir = "statedb/couchdb"

// maxIndexSize bounds one index definition; real ones are a few hundred bytes.
const maxIndexSize = 1 << 20

// Index is one validated index definition.
type Index struct {
	Source string // package-relative path, for messages
	Dest   string // path relative to the couchdb folder, e.g. indexes/byOwner.json
	Data   []byte
}

// Error names the package file at fault (File, with no Field).
type Error = msg.Error

// Collect finds and validates the index definitions under sourceDir,
// selected as the peer selects them (see indexDest). Files under statedb/
// that the peer would not deploy, or that are not index definitions, are
// reported through warn and left out.
func Collect(sourceDir string, warn func(format string, a ...any)) ([]Index, error) {
	var found []Index
	byDest := map[string]string{}
	for _, root := range sourceRoots {
		if _, err := os.Lstat(filepath.Join(sourceDir, root)); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		err := filepath.WalkDir(filepath.Join(sourceDir, root), func(p string, e fs.DirEntry, err error) error {
			rel := relative(sourceDir, p)
			if err != nil {
				return &Error{File: rel, Problem: "cannot read: " + msg.Reason(err).Error()}
			}
			below := strings.TrimPrefix(rel, root+"/")
			dest, isIndex := indexDest(below)
			if err := checkType(rel, e, isIndex); err != nil || e.IsDir() {
				return err
			}
			if err := checkDeployable(rel, below, isIndex); err != nil {
				return err
			}
			if !isIndex {
				warn("%s: not copied: the peer deploys only files below couchdb/indexes/ and couchdb/collections/<name>/indexes/", rel)
				return nil
			}
			data, err := readIndex(p, rel)
			if err != nil && path.Ext(rel) != ".json" {
				// The peer hands every file of an index folder to CouchDB,
				// whatever its name; one that is no index definition (a
				// README, .gitkeep) is refused there, so nothing is lost.
				warn("%s: not copied: not a CouchDB index definition (the peer would pass it to CouchDB, which would refuse it)", rel)
				return nil
			}
			if err != nil {
				return err
			}
			if other, dup := byDest[dest]; dup {
				return &Error{File: rel, Problem: fmt.Sprintf("same index as %s", other)}
			}
			byDest[dest] = rel
			found = append(found, Index{Source: rel, Dest: dest, Data: data})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return found, nil
}

// indexDest maps a file below statedb/ to its place below couchdb/ when the
// peer would deploy it. That is the peer's rule (Fabric's getIndexInfo in
// core/ledger/kvledger/txmgmt/privacyenabledstate, fed by
// ccprovider.ExtractFileEntries): any file in couchdb/indexes/ or in
// couchdb/collections/<name>/indexes/, subfolders included, whatever its name.
func indexDest(rel string) (string, bool) {
	parts := strings.Split(rel, "/")
	if len(parts) < 3 || parts[0] != "couchdb" {
		return "", false
	}
	parts = parts[1:]
	switch {
	case parts[0] == "indexes":
	case len(parts) >= 4 && parts[0] == "collections" && parts[2] == "indexes":
	default:
		return "", false
	}
	return path.Join(parts...), true
}

// collectionName is the form Fabric allows for collection names (its
// AllowedCharsCollectionName); an index for any other name is never created.
func collectionName(name string) bool {
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return name != ""
}

// checkDeployable refuses index files that the peer would mishandle: an
// index for a collection name no collection can have (the peer logs an
// error and creates nothing), and indexes in a folder such as couchdb2/,
// which the peer deploys too because it matches the folder name by prefix.
func checkDeployable(rel, below string, isIndex bool) error {
	parts := strings.Split(below, "/")
	if isIndex && parts[1] == "collections" && !collectionName(parts[2]) {
		return &Error{File: rel, Problem: fmt.Sprintf("expected a collection name of letters, digits, '_' and '-', found %s; the peer would create no index for it", msg.Quote(parts[2]))}
	}
	if parts[0] != "couchdb" && strings.HasPrefix(parts[0], "couchdb") {
		if _, deployed := indexDest("couchdb/" + strings.Join(parts[1:], "/")); deployed {
			return &Error{File: rel, Problem: fmt.Sprintf("expected index definitions in statedb/couchdb/, found them in the folder %s, which the peer would deploy as well because it matches the name by prefix; hint: move them to statedb/couchdb/ or remove them", msg.Quote(parts[0]))}
		}
	}
	return nil
}

// checkType refuses links and special files, and a file standing where an
// index folder belongs.
func checkType(rel string, e fs.DirEntry, isIndex bool) error {
	t := e.Type()
	switch {
	case t&fs.ModeSymlink != 0:
		return &Error{File: rel, Problem: "expected a regular file or folder, found a symbolic link"}
	case t.IsDir():
		return nil
	case !t.IsRegular():
		return &Error{File: rel, Problem: "expected a regular file or folder, found a special file"}
	}
	base := path.Base(rel)
	if !isIndex && (base == "couchdb" || base == "indexes" || base == "collections" || path.Base(path.Dir(rel)) == "collections") {
		return &Error{File: rel, Problem: "expected a folder of index definitions, found a file"}
	}
	return nil
}

// readIndex reads one definition and checks the shape CouchDB needs.
func readIndex(p, rel string) ([]byte, error) {
	data, err := regfile.Read(p, maxIndexSize)
	switch {
	case err != nil:
		return nil, &Error{File: rel, Problem: err.Error()}
	case msg.InvalidUTF8At(data) >= 0:
		// gjson takes any bytes inside strings; CouchDB refuses the index.
		return nil, &Error{File: rel, Problem: fmt.Sprintf("expected UTF-8 JSON, found invalid UTF-8 at byte %d", msg.InvalidUTF8At(data))}
	case !gjson.ValidBytes(data):
		return nil, &Error{File: rel, Problem: "expected a JSON index definition, found malformed JSON"}
	}
	doc := gjson.ParseBytes(data)
	if !doc.IsObject() || !doc.Get("index").IsObject() || !doc.Get("index.fields").IsArray() {
		return nil, &Error{File: rel, Problem: `expected a JSON object with "index": {"fields": [...]}, found another shape`}
	}
	if problem := checkFields(doc.Get("index.fields")); problem != "" {
		return nil, &Error{File: rel, Problem: problem}
	}
	return data, nil
}

// checkFields checks each entry of index.fields against CouchDB's sort
// syntax: "field" or {"field": "asc"|"desc"}. Anything else CouchDB refuses
// when the peer creates the index, long after the build said it was fine.
func checkFields(fields gjson.Result) string {
	const want = `expected a field name or {"<field>": "asc" or "desc"}`
	problem := ""
	i := 0
	fields.ForEach(func(_, entry gjson.Result) bool {
		switch {
		case entry.Type == gjson.String:
		case !entry.IsObject():
			problem = fmt.Sprintf("index.fields[%d]: %s, found %s", i, want, msg.JSONKind(entry.Raw))
		default:
			keys := 0
			var order gjson.Result
			entry.ForEach(func(_, v gjson.Result) bool { keys++; order = v; return true })
			switch {
			case keys != 1:
				problem = fmt.Sprintf("index.fields[%d]: %s, found an object with %d keys", i, want, keys)
			case order.Type != gjson.String:
				problem = fmt.Sprintf("index.fields[%d]: %s, found %s as the sort order", i, want, msg.JSONKind(order.Raw))
			case order.Str != "asc" && order.Str != "desc":
				problem = fmt.Sprintf("index.fields[%d]: %s, found the sort order %s", i, want, msg.Quote(order.Str))
			}
		}
		i++
		return problem == ""
	})
	return problem
}

// Write stores the collected indexes under dir (a staging folder).
func Write(indexes []Index, dir string) error {
	for _, ix := range indexes {
		p := filepath.Join(dir, BuildDir, filepath.FromSlash(ix.Dest))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("cannot create the index folder: %w", msg.Reason(err))
		}
		if err := os.WriteFile(p, ix.Data, 0o644); err != nil {
			return fmt.Errorf("cannot write %s: %w", path.Join(BuildDir, ix.Dest), msg.Reason(err))
		}
	}
	return nil
}

// Release copies the indexes build left in buildDir to releaseDir (a
// staging folder inside RELEASE_OUTPUT_DIR), where the peer reads them. A
// build without indexes releases none. Errors name files relative to the
// folders the peer gave, prefixed BUILD_OUTPUT_DIR or RELEASE_OUTPUT_DIR.
func Release(buildDir, releaseDir string) error {
	src := filepath.Join(buildDir, BuildDir)
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	err := copy.Copy(src, filepath.Join(releaseDir, ReleaseDir), copy.Options{
		Skip: func(info os.FileInfo, p, _ string) (bool, error) {
			if !info.IsDir() && !info.Mode().IsRegular() {
				return false, &Error{File: "BUILD_OUTPUT_DIR/" + relative(buildDir, p), Problem: "expected a regular file or folder, found " + msg.FileKind(info.Mode())}
			}
			return false, nil
		},
		OnSymlink: func(string) copy.SymlinkAction { return copy.Skip },
	})
	var own *Error
	var pe *fs.PathError
	switch {
	case err == nil || errors.As(err, &own):
		return err
	case errors.As(err, &pe) && within(releaseDir, pe.Path):
		return &Error{File: "RELEASE_OUTPUT_DIR", Problem: fmt.Sprintf("cannot write %s: %v", relative(releaseDir, pe.Path), pe.Err)}
	case errors.As(err, &pe) && within(buildDir, pe.Path):
		return &Error{File: "BUILD_OUTPUT_DIR/" + relative(buildDir, pe.Path), Problem: "cannot read: " + pe.Err.Error()}
	}
	return &Error{File: "RELEASE_OUTPUT_DIR", Problem: "cannot copy the indexes: " + msg.Reason(err).Error()}
}

// within reports whether p is dir or below it.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && filepath.IsLocal(rel)
}

func relative(base, p string) string {
	rel, err := filepath.Rel(base, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(rel)
}
