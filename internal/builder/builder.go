// Package builder is what bin/build and bin/release do, for both of
// extbuilder's modes. bin/detect does not use it: metadata.Claim is all
// detect needs, and detect must stay as cheap as a static no-op.
package builder

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/extbuilder/extbuilder/internal/couchdb"
	"github.com/extbuilder/extbuilder/internal/executable"
	"github.com/extbuilder/extbuilder/internal/metadata"
	"github.com/extbuilder/extbuilder/internal/stage"
	"github.com/extbuilder/extbuilder/pkg/connection"
)

// ConnectionFile is connection.json's name in the package and in BUILD_OUTPUT_DIR.
const ConnectionFile = "connection.json"

// ReleasedConnection is where the peer looks for connection.json in RELEASE_OUTPUT_DIR.
const ReleasedConnection = "chaincode/server/connection.json"

// Builder holds what build and release take from their environment.
type Builder struct {
	Config string                        // value of CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG
	Now    time.Time                     // when certificates must be valid; zero means now
	Warn   func(format string, a ...any) // one warning line
}

// Build turns the package in sourceDir into outputDir, or leaves outputDir
// as it was and returns why not.
func (b *Builder) Build(sourceDir, metadataDir, outputDir string) error {
	m, err := metadata.Claim(metadataDir)
	if err != nil {
		return err
	}
	if w := m.Warning(); w != "" {
		b.Warn("%s", w)
	}
	var conn []byte
	switch m.Mode() {
	case metadata.Service:
		info, err := b.Connection(sourceDir, connection.ExpandTemplates)
		if err != nil {
			return err
		}
		conn = info.Marshal()
	}
	indexes, err := couchdb.Collect(sourceDir, b.Warn)
	if err != nil {
		return err
	}
	out, err := stage.New(outputDir)
	if err != nil {
		return fmt.Errorf("BUILD_OUTPUT_DIR: %w", err)
	}
	defer out.Discard()
	if err := couchdb.Write(indexes, out.Path("")); err != nil {
		return fmt.Errorf("BUILD_OUTPUT_DIR: %w", err)
	}
	if conn != nil {
		if err := out.WriteFile(ConnectionFile, conn, 0o600); err != nil {
			return fmt.Errorf("BUILD_OUTPUT_DIR: %w", err)
		}
	}
	if m.Mode() == metadata.Binary {
		if err := executable.InstallTree(sourceDir, ExecutablePath(m), out.Path(""), b.Warn); err != nil {
			return err
		}
	}
	// connection.json or the entry point last: its presence means the
	// build is complete.
	if err := out.Commit(ConnectionFile, executable.EntryFile); err != nil {
		return fmt.Errorf("BUILD_OUTPUT_DIR: %w", err)
	}
	return nil
}

// Connection loads and validates sourceDir/connection.json as build does,
// warnings through b.Warn; templates says what to do with its templates
// (build expands them; extbuilder lint, which calls this too, may only
// parse them).
func (b *Builder) Connection(sourceDir string, templates connection.TemplateMode) (*connection.Info, error) {
	return b.loadConnection(filepath.Join(sourceDir, ConnectionFile), connection.Options{
		SourceDir: sourceDir, Templates: templates, Config: b.Config,
	})
}

// ExecutablePath is the executable of a binary package inside its source:
// metadata.json's path, or executable.File when that is empty.
func ExecutablePath(m metadata.Metadata) string {
	if m.Path == "" {
		return executable.File
	}
	return m.Path
}

// Release places what the peer reads into releaseDir.
func (b *Builder) Release(buildDir, releaseDir string) error {
	out, err := stage.New(releaseDir)
	if err != nil {
		return fmt.Errorf("RELEASE_OUTPUT_DIR: %w", err)
	}
	defer out.Discard()
	if err := couchdb.Release(buildDir, out.Path("")); err != nil {
		return err
	}
	built := filepath.Join(buildDir, ConnectionFile)
	switch _, err := os.Lstat(built); {
	case err == nil:
		// Validated again: this file is what the peer will dial with, and the
		// build cache may outlive the build that wrote it.
		info, err := b.loadConnection(built, connection.Options{
			File: "BUILD_OUTPUT_DIR/" + ConnectionFile, Templates: connection.LiteralValues,
		})
		if err != nil {
			return err
		}
		if err := out.WriteFile(ReleasedConnection, info.Marshal(), 0o600); err != nil {
			return fmt.Errorf("RELEASE_OUTPUT_DIR: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("BUILD_OUTPUT_DIR/%s: cannot read: %w", ConnectionFile, err)
	case isFile(filepath.Join(buildDir, executable.EntryFile)), isFile(filepath.Join(buildDir, executable.File)):
		// A binary package: bin/run starts it from the build cache, and
		// release has only the indexes to place.
	default:
		return errors.New("BUILD_OUTPUT_DIR: holds neither connection.json nor " + executable.EntryFile + "; hint: it must be the output of extbuilder's build")
	}
	if err := out.Commit("chaincode"); err != nil {
		return fmt.Errorf("RELEASE_OUTPUT_DIR: %w", err)
	}
	return nil
}

func isFile(path string) bool {
	st, err := os.Lstat(path)
	return err == nil && st.Mode().IsRegular()
}

func (b *Builder) loadConnection(path string, opts connection.Options) (*connection.Info, error) {
	opts.Now = b.Now
	info, warnings, err := connection.Load(path, opts)
	// build has already reported the warnings; release repeating them
	// would only double every line in the peer log.
	if opts.Templates != connection.LiteralValues {
		for _, w := range warnings {
			b.Warn("%s", w)
		}
	}
	var e *connection.Error
	if errors.As(err, &e) && e.Field == "" && e.Problem == "file not found" && opts.SourceDir != "" {
		e.Hint = "a package of type ccaas or external carries connection.json at the top of code.tar.gz"
	}
	return info, err
}
