package peersim

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// unpackCode extracts code.tar.gz into dst by the peer's rules: gzip is
// required; only folders and regular files are accepted (anything else fails
// with "invalid file type"); absolute and escaping paths fail; folders are
// created 0700 whatever the archive says; files get the mode in their
// header (less the umask, as for any file the peer creates).
func unpackCode(code []byte, dst string) error {
	zr, err := gzip.NewReader(bytes.NewReader(code))
	if err != nil {
		return fmt.Errorf("code.tar.gz is not gzip compressed: %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("code.tar.gz: reading the next entry: %w", err)
		}
		if !insideRoot(h.Name) {
			return fmt.Errorf("code.tar.gz holds the absolute or escaping path %q", h.Name)
		}
		target := filepath.Join(dst, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
				return err
			}
			if err := writeFrom(target, tr, os.FileMode(h.Mode).Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("invalid file type %q in code.tar.gz for %q", h.Typeflag, h.Name)
		}
	}
}

// writeFrom creates (or overwrites in place, as the peer does for a
// duplicate entry) the file at target with mode and copies r into it.
func writeFrom(target string, r io.Reader, mode os.FileMode) error {
	f, err := os.OpenFile(target, os.O_CREATE|os.O_RDWR, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// insideRoot reports whether an archive path stays inside the folder it is
// extracted to once cleaned.
func insideRoot(name string) bool {
	clean := filepath.Clean(name)
	if filepath.IsAbs(clean) {
		return false
	}
	return clean != ".." && !strings.HasPrefix(clean, ".."+string(filepath.Separator))
}
