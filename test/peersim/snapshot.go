package peersim

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// File is one entry of a tree snapshot.
type File struct {
	Path string      // slash separated, relative to the root; "." is the root
	Mode fs.FileMode // type and permission bits
	Data []byte      // contents of a regular file
	Link string      // target of a symlink
}

// Snapshot lists root and everything under it in lexical order, with modes
// and the contents of regular files. Symlinks are recorded, not followed.
func Snapshot(root string) ([]File, error) {
	var files []File
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := File{Path: filepath.ToSlash(rel), Mode: info.Mode()}
		switch {
		case info.Mode().IsRegular():
			if f.Data, err = os.ReadFile(p); err != nil {
				return err
			}
		case info.Mode()&fs.ModeSymlink != 0:
			if f.Link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		files = append(files, f)
		return nil
	})
	return files, err
}

// Lookup returns the file at path, or nil.
func Lookup(files []File, path string) *File {
	for i := range files {
		if files[i].Path == path {
			return &files[i]
		}
	}
	return nil
}

// FormatTree renders a snapshot for a golden file: one line per entry with
// its mode and path, then text contents indented by four spaces (binary
// contents as size and digest). redact, when not nil, rewrites each file's
// contents first.
func FormatTree(files []File, redact func([]byte) []byte) string {
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "%s %s", f.Mode, f.Path)
		if f.Mode&fs.ModeSymlink != 0 {
			fmt.Fprintf(&b, " -> %s", f.Link)
		}
		b.WriteString("\n")
		if !f.Mode.IsRegular() {
			continue
		}
		data := f.Data
		if redact != nil {
			data = redact(data)
		}
		switch {
		case len(data) == 0:
			b.WriteString("    (empty)\n")
		case !utf8.Valid(data) || strings.ContainsRune(string(data), 0):
			fmt.Fprintf(&b, "    (binary, %d bytes, sha256 %x)\n", len(data), sha256.Sum256(data))
		default:
			text := string(data)
			trailing := strings.HasSuffix(text, "\n")
			for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
				if line != "" {
					b.WriteString("    " + line)
				}
				b.WriteString("\n")
			}
			if !trailing {
				b.WriteString("    (no newline at end of file)\n")
			}
		}
	}
	return b.String()
}
