// Package ccpackage makes and checks chaincode package files: the .tgz that
// `peer lifecycle chaincode install` takes. It writes them byte for byte
// reproducibly, so that the package ID (label:sha256 of the file) is known
// before install, and reads them with the peer's rules and size limits, so
// that a hostile package cannot exhaust memory or disk.
package ccpackage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/extbuilder/extbuilder/internal/couchdb"
	"github.com/extbuilder/extbuilder/internal/executable"
	"github.com/extbuilder/extbuilder/internal/layout"
	"github.com/extbuilder/extbuilder/internal/metadata"
	"github.com/extbuilder/extbuilder/pkg/connection"
)

// Names inside a package. Each is defined by the package that reads it;
// these are the same names, for Go callers.
const (
	MetadataFile   = metadata.File   // outer archive: the package's metadata
	CodeFile       = "code.tar.gz"   // outer archive: the source the peer unpacks
	ConnectionFile = connection.File // code.tar.gz: service packages
	// IndexesDir is where code.tar.gz keeps CouchDB index definitions, as
	// internal/couchdb expects them.
	IndexesDir = couchdb.BuildDir
	// DefaultExecutable is the executable of a binary package whose
	// metadata.json has no path.
	DefaultExecutable = layout.Executable
)

// maxMetadataBytes bounds metadata.json, as internal/metadata does.
const maxMetadataBytes = metadata.MaxSize

// Limits bound what reading a package may cost.
type Limits struct {
	PackageBytes  int64 // the package file, and its outer tar once decompressed
	UnpackedBytes int64 // code.tar.gz's tar stream once decompressed
	Entries       int   // entries in code.tar.gz
}

// DefaultLimits are far above any real package (the peer's own gRPC limit
// on an install request is 100 MiB) and far below what would hurt a laptop.
// code.tar.gz is read as far as build's limits on a binary package's tree
// (executable.MaxEntries, executable.MaxBytes of files, plus room for the
// tar headers), so that lint refuses exactly what build refuses.
var DefaultLimits = Limits{
	PackageBytes:  512 << 20,
	UnpackedBytes: executable.MaxBytes + 64<<20,
	Entries:       executable.MaxEntries,
}

func (l Limits) orDefault() Limits {
	if l.PackageBytes <= 0 {
		l.PackageBytes = DefaultLimits.PackageBytes
	}
	if l.UnpackedBytes <= 0 {
		l.UnpackedBytes = DefaultLimits.UnpackedBytes
	}
	if l.Entries <= 0 {
		l.Entries = DefaultLimits.Entries
	}
	return l
}

// ID is the package ID the peer gives the package file whose bytes are tgz.
func ID(label string, tgz []byte) string {
	sum := sha256.Sum256(tgz)
	return label + ":" + hex.EncodeToString(sum[:])
}

func idFromSum(label string, sum []byte) string {
	return label + ":" + hex.EncodeToString(sum)
}

// archiveTime is the modification time of every member of a package written
// here: the Unix epoch, as SOURCE_DATE_EPOCH=0 tools use.
var archiveTime = time.Unix(0, 0)

// validPath is the peer's rule for a name in code.tar.gz: once cleaned it
// must be relative and must not climb out of the source folder.
func validPath(name string) bool {
	clean := path.Clean(filepath.ToSlash(name))
	return !path.IsAbs(clean) && clean != ".." && !strings.HasPrefix(clean, "../")
}

// limitedReader fails with errLimit, and remembers it did, once more than
// n bytes have been read.
type limitedReader struct {
	r   io.Reader
	n   int64
	hit bool
}

var errLimit = errors.New("size limit reached")

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		l.hit = true
		return 0, errLimit
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
