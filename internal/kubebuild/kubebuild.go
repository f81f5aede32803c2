// Package kubebuild is what the Kubernetes builder's bin/build and
// bin/release do with a package of type k8s. It is apart from
// internal/builder so that the main builder's programs do not link the
// image reference parser (and its regular expressions) they never use.
package kubebuild

import (
	"fmt"

	"github.com/extbuilder/extbuilder/internal/couchdb"
	"github.com/extbuilder/extbuilder/internal/imageref"
	"github.com/extbuilder/extbuilder/internal/metadata"
)

// Builder holds what build and release take from their environment.
type Builder struct {
	Warn func(format string, a ...any) // one warning line
}

// Build is the Kubernetes builder's build: it checks image.json
// (an image repository pinned by digest) and the CouchDB indexes of a
// package of type k8s, and writes both to outputDir for release and run.
func (b *Builder) Build(sourceDir, metadataDir, outputDir string) error {
	if _, err := metadata.ClaimKubernetes(metadataDir); err != nil {
		return err
	}
	img, warnings, err := imageref.Read(sourceDir, imageref.File)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		b.Warn("%s", w)
	}
	out, err := couchdb.StageBuild(sourceDir, outputDir, b.Warn)
	if err != nil {
		return err
	}
	defer out.Discard()
	// Rewritten with the two fields only: run reads nothing else.
	if err := out.WriteFile(imageref.File, img.Marshal(), 0o644); err != nil {
		return fmt.Errorf("BUILD_OUTPUT_DIR: %w", err)
	}
	// image.json last: its presence means the build is complete.
	if err := out.Commit(imageref.File); err != nil {
		return fmt.Errorf("BUILD_OUTPUT_DIR: %w", err)
	}
	return nil
}

// Release is the Kubernetes builder's release: the indexes, as
// for the other types, and no connection.json, so the peer calls run. The
// build's image.json is checked again: the build cache may outlive the
// build that wrote it, and a bad one should fail the install, not the
// launch.
func (b *Builder) Release(buildDir, releaseDir string) error {
	if _, _, err := imageref.Read(buildDir, "BUILD_OUTPUT_DIR/"+imageref.File); err != nil {
		return err
	}
	out, err := couchdb.StageRelease(buildDir, releaseDir)
	if err != nil {
		return err
	}
	defer out.Discard()
	if err := out.Commit(); err != nil {
		return fmt.Errorf("RELEASE_OUTPUT_DIR: %w", err)
	}
	return nil
}
