// Package stage assembles a program's output in a hidden folder inside the
// output folder and moves it into place only when all of it was written, so
// a failure never leaves half an output for the peer to cache.
package stage

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/extbuilder/extbuilder/internal/msg"
)

// Dir is a staging folder for one output folder.
type Dir struct {
	final string
	tmp   string
}

// New creates the staging folder inside final.
func New(final string) (*Dir, error) {
	tmp, err := os.MkdirTemp(final, ".extbuilder-stage-")
	if err != nil {
		return nil, fmt.Errorf("cannot write to the output folder: %w", msg.Reason(err))
	}
	return &Dir{final: final, tmp: tmp}, nil
}

// Path returns the staged path of rel.
func (d *Dir) Path(rel string) string { return filepath.Join(d.tmp, rel) }

// WriteFile writes a staged file, creating its folders.
func (d *Dir) WriteFile(rel string, data []byte, mode os.FileMode) error {
	p := d.Path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("cannot create the folder for %s: %w", rel, msg.Reason(err))
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", rel, msg.Reason(err))
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("cannot write %s: %w", rel, msg.Reason(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", rel, msg.Reason(err))
	}
	return nil
}

// Commit moves every staged top-level entry into the output folder, the
// entries named in last after all others and in that order, then removes
// the staging folder. A peer that sees the last entry sees all the others.
func (d *Dir) Commit(last ...string) error {
	entries, err := os.ReadDir(d.tmp)
	if err != nil {
		return fmt.Errorf("cannot read the staging folder: %w", msg.Reason(err))
	}
	isLast := map[string]bool{}
	for _, n := range last {
		isLast[n] = true
	}
	var order []string
	for _, e := range entries {
		if !isLast[e.Name()] {
			order = append(order, e.Name())
		}
	}
	for _, n := range last {
		if _, err := os.Lstat(d.Path(n)); err == nil {
			order = append(order, n)
		}
	}
	for _, n := range order {
		dst := filepath.Join(d.final, n)
		if _, err := os.Lstat(dst); err == nil {
			return fmt.Errorf("output folder already holds %s", n)
		}
		if err := os.Rename(d.Path(n), dst); err != nil {
			return fmt.Errorf("cannot move %s into the output folder: %w", n, msg.Reason(err))
		}
	}
	return os.Remove(d.tmp)
}

// Discard removes whatever is still staged. It is safe after Commit.
func (d *Dir) Discard() { os.RemoveAll(d.tmp) }
