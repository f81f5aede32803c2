// Package builder is what bin/build does, for both of extbuilder's modes.
// bin/release is package release, which links neither the executable
// checks nor text/template; bin/detect needs only metadata.Claim, and must
// stay as cheap as a static no-op.
package builder

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/extbuilder/extbuilder/internal/couchdb"
	"github.com/extbuilder/extbuilder/internal/executable"
	"github.com/extbuilder/extbuilder/internal/layout"
	"github.com/extbuilder/extbuilder/internal/metadata"
	"github.com/extbuilder/extbuilder/pkg/connection"
	"github.com/extbuilder/extbuilder/pkg/connection/template"
)

// Builder holds what build takes from its environment.
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
	out, err := couchdb.StageBuild(sourceDir, outputDir, b.Warn)
	if err != nil {
		return err
	}
	defer out.Discard()
	if conn != nil {
		if err := out.WriteFile(connection.File, conn, 0o600); err != nil {
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
	if err := out.Commit(connection.File, layout.EntryFile); err != nil {
		return fmt.Errorf("BUILD_OUTPUT_DIR: %w", err)
	}
	return nil
}

// Connection loads and validates sourceDir/connection.json as build does,
// warnings through b.Warn; templates says what to do with its templates
// (build expands them; extbuilder lint, which calls this too, may only
// parse them).
func (b *Builder) Connection(sourceDir string, templates connection.TemplateMode) (*connection.Info, error) {
	return b.loadConnection(filepath.Join(sourceDir, connection.File), connection.Options{
		SourceDir: sourceDir, Templates: templates, Config: b.Config, Expander: template.Engine{},
	})
}

// ExecutablePath is the executable of a binary package inside its source:
// metadata.json's path, or layout.Executable when that is empty.
func ExecutablePath(m metadata.Metadata) string {
	if m.Path == "" {
		return layout.Executable
	}
	return m.Path
}

func (b *Builder) loadConnection(path string, opts connection.Options) (*connection.Info, error) {
	opts.Now = b.Now
	info, warnings, err := connection.Load(path, opts)
	for _, w := range warnings {
		b.Warn("%s", w)
	}
	var e *connection.Error
	if errors.As(err, &e) && e.Field == "" && e.Problem == "file not found" {
		e.Hint = "a package of type ccaas or external carries connection.json at the top of code.tar.gz"
	}
	return info, err
}
