package couchdb

import (
	"fmt"

	"github.com/extbuilder/extbuilder/internal/stage"
)

// StageBuild collects sourceDir's indexes and stages them for outputDir
// (BUILD_OUTPUT_DIR). The caller adds its own files, then commits; it
// discards the staging folder whatever happens.
func StageBuild(sourceDir, outputDir string, warn func(format string, a ...any)) (*stage.Dir, error) {
	indexes, err := Collect(sourceDir, warn)
	if err != nil {
		return nil, err
	}
	out, err := stage.New(outputDir)
	if err != nil {
		return nil, fmt.Errorf("BUILD_OUTPUT_DIR: %w", err)
	}
	if err := Write(indexes, out.Path("")); err != nil {
		out.Discard()
		return nil, fmt.Errorf("BUILD_OUTPUT_DIR: %w", err)
	}
	return out, nil
}

// StageRelease stages the indexes build left in buildDir for releaseDir
// (RELEASE_OUTPUT_DIR). The caller adds its own files, then commits; it
// discards the staging folder whatever happens.
func StageRelease(buildDir, releaseDir string) (*stage.Dir, error) {
	out, err := stage.New(releaseDir)
	if err != nil {
		return nil, fmt.Errorf("RELEASE_OUTPUT_DIR: %w", err)
	}
	if err := Release(buildDir, out.Path("")); err != nil {
		out.Discard()
		return nil, err
	}
	return out, nil
}
