// Package release is what bin/release does: it places what build left in
// BUILD_OUTPUT_DIR where the peer reads it in RELEASE_OUTPUT_DIR. It links
// no more than that needs: connection.json is read with its values taken
// literally (build expanded the templates), and a binary build is only
// recognised by its names, never checked again here (run does that).
package release

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/extbuilder/extbuilder/internal/couchdb"
	"github.com/extbuilder/extbuilder/internal/layout"
	"github.com/extbuilder/extbuilder/pkg/connection"
)

// now is when certificates must be valid; zero means the time of the call.
var now time.Time

// Release places what the peer reads into releaseDir.
func Release(buildDir, releaseDir string) error {
	out, err := couchdb.StageRelease(buildDir, releaseDir)
	if err != nil {
		return err
	}
	defer out.Discard()
	built := filepath.Join(buildDir, connection.File)
	switch _, err := os.Lstat(built); {
	case err == nil:
		// Validated again: this file is what the peer will dial with, and the
		// build cache may outlive the build that wrote it.
		// Warnings are not repeated: build has reported them, and repeating
		// them would double every line in the peer log.
		info, _, err := connection.Load(built, connection.Options{
			File: "BUILD_OUTPUT_DIR/" + connection.File, Templates: connection.LiteralValues, Now: now,
		})
		if err != nil {
			return err
		}
		if err := out.WriteFile(path.Join(layout.ServerDir, connection.File), info.Marshal(), 0o600); err != nil {
			return fmt.Errorf("RELEASE_OUTPUT_DIR: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("BUILD_OUTPUT_DIR/%s: cannot read: %w", connection.File, err)
	case isFile(filepath.Join(buildDir, layout.EntryFile)), isFile(filepath.Join(buildDir, layout.Executable)):
		// A binary package: bin/run starts it from the build cache, and
		// release has only the indexes to place.
	default:
		return errors.New("BUILD_OUTPUT_DIR: holds neither connection.json nor " + layout.EntryFile + "; hint: it must be the output of extbuilder's build")
	}
	if err := out.Commit(layout.ReleaseTop); err != nil {
		return fmt.Errorf("RELEASE_OUTPUT_DIR: %w", err)
	}
	return nil
}

func isFile(path string) bool {
	st, err := os.Lstat(path)
	return err == nil && st.Mode().IsRegular()
}
