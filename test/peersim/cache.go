package peersim

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// buildInfo is build-info.json in a build cache folder: it names the
// builder, which must still be configured when the chaincode is launched.
type buildInfo struct {
	BuilderName string `json:"builder_name"`
}

// cacheBuild stores the outputs of a successful build as the peer does:
// <FileSystemPath>/externalbuilder/builds/<sanitized id>/ holding
// build-info.json, release/ and bld/.
//
// The peer first tries a rename and copies only when that fails (another
// file system). peersim always copies, so a tree that the peer's copy would
// refuse (absolute or escaping symlinks, special files) fails here too.
func cacheBuild(buildsDir, packageID, builderName, bldDir, releaseDir string) (string, error) {
	dir := filepath.Join(buildsDir, SanitizePackageID(packageID))
	if err := os.MkdirAll(buildsDir, 0o750); err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("could not create the build cache folder: %w", err)
	}
	info, err := json.Marshal(buildInfo{BuilderName: builderName})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "build-info.json"), info, 0o600); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	if err := copyTree(releaseDir, filepath.Join(dir, "release")); err != nil {
		return "", fmt.Errorf("could not copy the release folder to the build cache: %w", err)
	}
	if err := copyTree(bldDir, filepath.Join(dir, "bld")); err != nil {
		return "", fmt.Errorf("could not copy the build output folder to the build cache: %w", err)
	}
	return dir, nil
}

// cachedBuilder returns the builder named by an existing cache folder, or ""
// when the package was never built.
func cachedBuilder(cacheDir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(cacheDir, "build-info.json"))
	if os.IsNotExist(err) {
		if _, statErr := os.Stat(cacheDir); os.IsNotExist(statErr) {
			return "", nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("existing build could not be restored: %w", err)
	}
	var info buildInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return "", fmt.Errorf("existing build could not be restored: malformed build-info.json: %w", err)
	}
	return info.BuilderName, nil
}

// copyTree copies src to dst keeping modes, like the peer's cache copy:
// folders and regular files, and relative symlinks that stay inside src.
// Anything else fails the copy, and dst is removed.
func copyTree(src, dst string) (err error) {
	defer func() {
		if err != nil {
			os.RemoveAll(dst)
		}
	}()
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch mode := info.Mode(); {
		case mode.IsDir():
			return os.MkdirAll(target, mode.Perm())
		case mode&fs.ModeSymlink != 0:
			return copySymlink(src, p, target)
		case mode.IsRegular():
			return copyFile(p, target, mode.Perm())
		default:
			return fmt.Errorf("refusing to copy %s: unsupported file type %s", rel, mode.Type())
		}
	})
}

func copySymlink(root, p, target string) error {
	link, err := os.Readlink(p)
	if err != nil {
		return err
	}
	if filepath.IsAbs(link) {
		return fmt.Errorf("refusing to copy the absolute symlink %s -> %s", p, link)
	}
	rel, err := filepath.Rel(root, filepath.Join(filepath.Dir(p), link))
	if err != nil {
		return err
	}
	if rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("refusing to copy the symlink %s -> %s pointing outside its tree", p, link)
	}
	return os.Symlink(link, target)
}

func copyFile(p, target string, mode fs.FileMode) error {
	in, err := os.Open(p)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(target)
	if err != nil {
		return err
	}
	// Chmod, not the create mode: the copy keeps the mode exactly, umask or not.
	if err := out.Chmod(mode); err != nil {
		out.Close()
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
