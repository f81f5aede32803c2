// Package peersim does with an external builder what a Hyperledger Fabric
// peer does with it (see the spec in peer-contract.md): it packs chaincode
// packages the way `peer lifecycle chaincode install` receives them, unpacks
// them by the peer's rules, runs bin/detect, bin/build and bin/release with
// the peer's arguments, folders and environment, copies the results into a
// build cache, and decodes the released connection.json as the peer does.
//
// It is test support: end-to-end tests, benchmarks and `make demo` use it so
// that every one of them calls the builders exactly like a peer.
package peersim

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"time"
)

// Package is a chaincode package as `peer lifecycle chaincode install` takes it.
type Package struct {
	Label    string // from metadata.json
	Type     string // from metadata.json
	Metadata []byte // metadata.json, byte for byte
	Code     []byte // code.tar.gz, byte for byte
	Tgz      []byte // the package file: a gzip tar of metadata.json and code.tar.gz
	ID       string // Label + ":" + hex(sha256(Tgz))
}

// The peer refuses labels that do not match this.
var labelPattern = regexp.MustCompile(`^[[:alnum:]][[:alnum:]_.+-]*$`)

// Entry is one member of a tar archive written by TarGz.
type Entry struct {
	Name     string
	Type     byte  // tar type flag; tar.TypeReg when zero
	Mode     int64 // permission bits; 0644 for files and 0755 for folders when zero
	Linkname string
	Body     []byte
}

// archiveTime is the modification time of every archive member: a package
// built twice from the same files must get the same package ID.
var archiveTime = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// TarGz writes entries, in the given order, as a reproducible gzip tar:
// fixed times, owner root, no user or group names, no gzip name or time.
func TarGz(entries []Entry) ([]byte, error) {
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{
			Name:     e.Name,
			Typeflag: e.Type,
			Mode:     e.Mode,
			Linkname: e.Linkname,
			ModTime:  archiveTime,
			Format:   tar.FormatUSTAR,
		}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.Body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("tar %s: %w", e.Name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Body); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// NewPackage packs metadata.json and code.tar.gz into a package file, in
// that order, and computes the package ID as the peer does.
func NewPackage(metadata, code []byte) (*Package, error) {
	var md struct {
		Type  string `json:"type"`
		Label string `json:"label"`
	}
	if err := json.Unmarshal(metadata, &md); err != nil {
		return nil, fmt.Errorf("metadata.json: %w", err)
	}
	if !labelPattern.MatchString(md.Label) {
		return nil, fmt.Errorf("metadata.json: label %q does not match %s, the peer would refuse the package", md.Label, labelPattern)
	}
	tgz, err := TarGz([]Entry{
		{Name: "metadata.json", Body: metadata},
		{Name: "code.tar.gz", Body: code},
	})
	if err != nil {
		return nil, err
	}
	return &Package{Label: md.Label, Type: md.Type, Metadata: metadata, Code: code, Tgz: tgz, ID: PackageID(md.Label, tgz)}, nil
}

// PackageID is the ID the peer gives the package file tgz.
func PackageID(label string, tgz []byte) string {
	sum := sha256.Sum256(tgz)
	return label + ":" + hex.EncodeToString(sum[:])
}

// ParsePackage reads a package file as `peer lifecycle chaincode install`
// would: a gzip tar of exactly the regular files metadata.json and
// code.tar.gz. The ID is computed from tgz as given.
func ParsePackage(tgz []byte) (*Package, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, fmt.Errorf("package is not gzip compressed: %w", err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("package is not a valid tar: %w", err)
		}
		if h.Name != "metadata.json" && h.Name != "code.tar.gz" {
			return nil, fmt.Errorf("package holds %q; a package holds exactly metadata.json and code.tar.gz", h.Name)
		}
		if h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("package member %s is not a regular file", h.Name)
		}
		if _, dup := files[h.Name]; dup {
			return nil, fmt.Errorf("package holds %s twice", h.Name)
		}
		if files[h.Name], err = io.ReadAll(tr); err != nil {
			return nil, err
		}
	}
	for _, name := range []string{"metadata.json", "code.tar.gz"} {
		if _, ok := files[name]; !ok {
			return nil, fmt.Errorf("package has no %s", name)
		}
	}
	p, err := NewPackage(files["metadata.json"], files["code.tar.gz"])
	if err != nil {
		return nil, err
	}
	p.Tgz, p.ID = tgz, PackageID(p.Label, tgz)
	return p, nil
}

// CodeFromFS packs the tree of fsys (rooted at ".") as a reproducible
// code.tar.gz: entries in lexical order, folders as 0755 entries, files 0755
// when executable and 0644 otherwise. transform, when not nil, may rewrite
// each file's contents (tests use it to fill in generated certificates).
func CodeFromFS(fsys fs.FS, transform func(name string, data []byte) ([]byte, error)) ([]byte, error) {
	var entries []Entry
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			entries = append(entries, Entry{Name: name + "/", Type: tar.TypeDir, Mode: 0o755})
		case info.Mode().IsRegular():
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				return err
			}
			if transform != nil {
				if data, err = transform(name, data); err != nil {
					return fmt.Errorf("%s: %w", path.Clean(name), err)
				}
			}
			mode := int64(0o644)
			if info.Mode()&0o111 != 0 {
				mode = 0o755
			}
			entries = append(entries, Entry{Name: name, Mode: mode, Body: data})
		default:
			return fmt.Errorf("%s: only folders and regular files can be packed, found %s", name, info.Mode().Type())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return TarGz(entries)
}
