package ccpackage

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/extbuilder/extbuilder/internal/metadata"
	"github.com/extbuilder/extbuilder/internal/msg"
	"github.com/extbuilder/extbuilder/internal/regfile"
)

// outerEntry is one member of the outer archive.
type outerEntry struct {
	name string
	typ  byte
}

// outerArchive is what reading the outer archive found.
type outerArchive struct {
	entries []outerEntry
	// metadata is the last regular metadata.json, as the peer reads it;
	// nil when there is none or it is over maxMetadataBytes.
	metadata        []byte
	metadataTooLong bool
}

// readOuter reads the package stream r with the limits in lim. code, when
// not nil, is given the first regular code.tar.gz member to read. The error
// is about the archive as a whole: not gzip, not tar, too large.
func readOuter(r io.Reader, lim Limits, code func(io.Reader)) (*outerArchive, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(512) // before gzip consumes it, to say what it is instead
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("expected a gzip-compressed tar, found %s", identify(head))
	}
	defer zr.Close()
	lr := &limitedReader{r: zr, n: lim.PackageBytes}
	tr := tar.NewReader(lr)
	out := &outerArchive{}
	codeRead := false
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			if lr.hit {
				return out, fmt.Errorf("decompresses to more than %s, the most extbuilder reads", regfile.Size(lim.PackageBytes))
			}
			return out, fmt.Errorf("expected a tar archive inside the gzip stream, found a damaged one (after %d entries): %v", len(out.entries), err)
		}
		out.entries = append(out.entries, outerEntry{name: h.Name, typ: h.Typeflag})
		if h.Typeflag != tar.TypeReg {
			continue
		}
		switch {
		case h.Name == MetadataFile:
			data, err := io.ReadAll(io.LimitReader(tr, maxMetadataBytes+1))
			if err != nil {
				return out, msg.Errorf(MetadataFile, "", "", "cannot read: %v", err)
			}
			out.metadataTooLong = len(data) > maxMetadataBytes
			out.metadata = data
			if out.metadataTooLong {
				out.metadata = nil
			}
		case h.Name == CodeFile && !codeRead && code != nil:
			codeRead = true
			code(tr)
		}
	}
}

// identify names what a file that should be gzip holds instead.
func identify(head []byte) string {
	switch {
	case len(head) == 0:
		return "an empty file"
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return "an uncompressed tar; hint: compress it with gzip (tar -czf)"
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "a zip archive"
	case bytes.HasPrefix(head, []byte("BZh")):
		return "a bzip2 stream"
	case bytes.HasPrefix(head, []byte("\xfd7zXZ")):
		return "an xz stream"
	case bytes.HasPrefix(head, []byte("\x28\xb5\x2f\xfd")):
		return "a zstd stream"
	}
	return "something else"
}

// outerFinding is a problem with the outer archive. peerRefuses marks the
// ones that fail `peer lifecycle chaincode install`; the others the peer
// tolerates, but a package made right does not have them.
type outerFinding struct {
	message     string
	peerRefuses bool
}

// check applies the rules for the outer archive: exactly the regular
// files metadata.json and code.tar.gz, once each, with no ./ prefix and no
// folder entries.
func (o *outerArchive) check() []outerFinding {
	var found []outerFinding
	add := func(refuses bool, format string, a ...any) {
		found = append(found, outerFinding{fmt.Sprintf(format, a...), refuses})
	}
	seen := map[string]int{}
	for _, e := range o.entries {
		clean := strings.TrimLeft(path.Clean(e.name), "/")
		known := clean == MetadataFile || clean == CodeFile
		switch {
		case e.typ == tar.TypeDir:
			add(true, "holds the folder entry %s: expected only the two files metadata.json and code.tar.gz, and the peer refuses any entry that is not a regular file; hint: pack the files, not their folder: tar -czf PACKAGE.tgz metadata.json code.tar.gz", msg.Quote(e.name))
		case e.typ != tar.TypeReg:
			add(true, "holds %s, %s: the peer refuses any entry that is not a regular file", msg.Quote(e.name), entryKind(e.typ))
		case e.name == MetadataFile || e.name == CodeFile:
			seen[e.name]++
			if seen[e.name] == 2 {
				add(false, "holds %s more than once: the peer reads the last one; hint: pack it once", e.name)
			}
		case known:
			add(true, "holds %s: expected the name %s, exactly: the peer looks for that name and does not find %s; hint: pack the files without a ./ prefix: tar -czf PACKAGE.tgz metadata.json code.tar.gz", msg.Quote(e.name), clean, clean)
		default:
			add(false, "holds the extra file %s: expected exactly metadata.json and code.tar.gz; hint: leave it out (the peer ignores it with a warning)", msg.Quote(e.name))
		}
	}
	for _, name := range []string{MetadataFile, CodeFile} {
		if seen[name] == 0 {
			add(true, "has no %s at its top: the peer refuses the package", name)
		}
	}
	if o.metadataTooLong {
		add(true, "%s: expected at most %s, found more", MetadataFile, regfile.Size(maxMetadataBytes))
	}
	return found
}

// entryKind names a tar entry type for people.
func entryKind(t byte) string {
	switch t {
	case tar.TypeDir:
		return "a folder"
	case tar.TypeSymlink:
		return "a symbolic link"
	case tar.TypeLink:
		return "a hard link"
	case tar.TypeChar, tar.TypeBlock:
		return "a device"
	case tar.TypeFifo:
		return "a named pipe"
	case tar.TypeGNUSparse:
		return "a sparse file"
	}
	return fmt.Sprintf("an entry of type %q", t)
}

// openPackage opens a package file, refusing anything but a regular file of
// at most lim.PackageBytes, and returns it with a reader that hashes what is
// read through it. The file is the operator's argument, which may be a link.
func openPackage(file string, lim Limits) (*os.File, io.Reader, hash.Hash, error) {
	f, _, err := regfile.Open(regfile.Resolve(file), lim.PackageBytes)
	if err != nil {
		return nil, nil, nil, msg.Errorf(file, "", "", "%v", err)
	}
	h := sha256.New()
	return f, io.TeeReader(f, h), h, nil
}

// FileID returns the package ID the peer gives the package file, label from
// its metadata.json. It fails where `peer lifecycle chaincode install` would
// refuse the package before computing an ID; warnings are what the peer
// tolerates but extbuilder lint reports. The whole file is read, within
// DefaultLimits.
func FileID(file string) (id string, warnings []string, err error) {
	f, r, h, err := openPackage(file, DefaultLimits)
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	name := filepath.Base(file)
	out, err := readOuter(r, DefaultLimits, nil)
	if err != nil {
		return "", nil, msg.Errorf(name, "", "", "%v", err)
	}
	for _, fnd := range out.check() {
		if fnd.peerRefuses {
			return "", nil, msg.Errorf(name, "", "", "%s", fnd.message)
		}
		warnings = append(warnings, name+": "+fnd.message)
	}
	md, err := metadata.Parse(out.metadata)
	if err != nil {
		return "", nil, err
	}
	if err := metadata.CheckLabel(md.Label); err != nil {
		return "", nil, err
	}
	if _, err := io.Copy(h, f); err != nil {
		return "", nil, msg.Errorf(file, "", "", "cannot read: %v", msg.Reason(err))
	}
	return idFromSum(md.Label, h.Sum(nil)), warnings, nil
}
