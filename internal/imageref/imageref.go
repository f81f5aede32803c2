// Package imageref reads and checks image.json, the file a package of type
// k8s carries at the top of code.tar.gz in place of source code. The format
// is fabric-builder-k8s's, so its packages install unchanged:
//
//	{"name": "ghcr.io/org/asset", "digest": "sha256:<64 hex digits>"}
//
// The digest is required: a tag can be moved to another image after the
// package ID was approved, a digest cannot. This package does not link
// client-go: build and the operator tool use it.
package imageref

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/distribution/reference"

	"github.com/extbuilder/extbuilder/internal/check"
	"github.com/extbuilder/extbuilder/internal/msg"
)

// File is image.json's name at the top of the package's code and in BUILD_OUTPUT_DIR.
const File = "image.json"

// maxSize bounds what is read: a real image.json is under 200 bytes.
const maxSize = 64 << 10

// Image is an image named by an immutable digest.
type Image struct {
	Name   string `json:"name"`   // repository, e.g. "ghcr.io/org/asset", no tag or digest
	Digest string `json:"digest"` // "sha256:" and 64 lower-case hexadecimal digits
}

// Reference is what a pod runs: name@digest.
func (i *Image) Reference() string { return i.Name + "@" + i.Digest }

// Marshal is image.json as build writes it: the two fields, nothing else.
func (i *Image) Marshal() []byte {
	data, _ := json.Marshal(i) // two strings cannot fail
	return append(data, '\n')
}

// Error is a problem with image.json.
type Error = msg.Error

const digestHint = `pin the image by digest, e.g. "digest": "sha256:" followed by the 64 hex digits that "docker buildx imagetools inspect NAME:TAG" or "crane digest NAME:TAG" prints`

// Read reads and checks dir/image.json; label names the file in messages
// (e.g. "image.json" or "BUILD_OUTPUT_DIR/image.json"). The warnings name
// fields that are ignored.
func Read(dir, label string) (*Image, []string, error) {
	path := filepath.Join(dir, File)
	info, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, &Error{File: label, Problem: "file not found",
				Hint: `a package of type k8s carries image.json at the top of code.tar.gz: {"name": "registry/repo", "digest": "sha256:..."}`, Err: err}
		}
		return nil, nil, &Error{File: label, Problem: "cannot be read: " + msg.Reason(err).Error(), Err: err}
	}
	if !info.Mode().IsRegular() {
		return nil, nil, &Error{File: label, Problem: "expected a regular file, found " + msg.FileKind(info.Mode())}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, &Error{File: label, Problem: "cannot be read: " + msg.Reason(err).Error(), Err: err}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, nil, &Error{File: label, Problem: "cannot be read: " + msg.Reason(err).Error(), Err: err}
	}
	if len(data) > maxSize {
		return nil, nil, &Error{File: label, Problem: fmt.Sprintf("expected at most %d bytes, found more", maxSize)}
	}
	return Parse(data, label)
}

// Parse checks the contents of image.json.
func Parse(data []byte, label string) (*Image, []string, error) {
	fail := func(field, hint, format string, a ...any) error {
		return &Error{File: label, Field: field, Problem: fmt.Sprintf(format, a...), Hint: hint}
	}
	if at := msg.InvalidUTF8At(data); at >= 0 {
		return nil, nil, fail("", "", "expected UTF-8 JSON, found invalid UTF-8 at byte %d", at)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		var syn *json.SyntaxError
		switch {
		case errors.As(err, &syn):
			return nil, nil, fail("", "", "malformed JSON at byte %d: %s", syn.Offset, syn.Error())
		default:
			return nil, nil, fail("", "", "expected a JSON object, found %s", msg.JSONKind(data))
		}
	}
	str := func(field string) (string, bool, error) {
		v, ok := raw[field]
		if !ok {
			return "", false, nil
		}
		var s string
		if msg.JSONKind(v) != "a string" || json.Unmarshal(v, &s) != nil {
			return "", true, fail(field, "", "expected a JSON string, found %s", msg.JSONKind(v))
		}
		return s, true, nil
	}
	name, hasName, err := str("name")
	if err != nil {
		return nil, nil, err
	}
	digest, hasDigest, err := str("digest")
	if err != nil {
		return nil, nil, err
	}
	tag, hasTag, err := str("tag")
	if err != nil {
		return nil, nil, err
	}
	if !hasName || name == "" {
		return nil, nil, fail("name", `write the image repository, e.g. "ghcr.io/org/asset"`, "required, but %s", missingOrEmpty(hasName))
	}
	if err := CheckName(name); err != nil {
		return nil, nil, fail("name", err.Hint, "%s", err.Problem)
	}
	if !hasDigest || digest == "" {
		if hasTag {
			return nil, nil, fail("digest", digestHint, "required, but %s: the tag %s alone is refused because a tag can be moved to another image",
				missingOrEmpty(hasDigest), msg.Quote(tag))
		}
		return nil, nil, fail("digest", digestHint, "required, but %s", missingOrEmpty(hasDigest))
	}
	if f := CheckDigest(digest); f != nil {
		return nil, nil, fail("digest", f.Hint, "%s", f.Problem)
	}
	var warnings []string
	var unknown []string
	for k := range raw {
		if k != "name" && k != "digest" {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		why := "is not part of the format and is ignored (known: name, digest)"
		if k == "tag" {
			why = "is ignored: the pod runs the image by its digest"
		}
		warnings = append(warnings, fmt.Sprintf("%s: field %s %s", label, msg.Quote(k), why))
	}
	return &Image{Name: name, Digest: digest}, warnings, nil
}

// CheckName checks an image repository name as container runtimes parse
// it, without a tag or digest (those are image.json's digest field).
func CheckName(name string) *check.Finding {
	const hint = `write the repository alone, e.g. "ghcr.io/org/asset", and the digest in the digest field`
	ref, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return &check.Finding{Problem: fmt.Sprintf("expected an image repository name, found %s (%s)", msg.Quote(name), msg.Safe(err.Error())), Hint: hint}
	}
	if _, ok := ref.(reference.Digested); ok {
		return &check.Finding{Problem: fmt.Sprintf("expected a repository name without a digest, found %s", msg.Quote(name)), Hint: hint}
	}
	if _, ok := ref.(reference.Tagged); ok {
		return &check.Finding{Problem: fmt.Sprintf("expected a repository name without a tag, found %s", msg.Quote(name)), Hint: hint}
	}
	return nil
}

// CheckDigest checks a sha256 digest: the algorithm every registry and
// runtime supports, written as they write it.
func CheckDigest(d string) *check.Finding {
	hexPart, ok := strings.CutPrefix(d, "sha256:")
	if !ok {
		return &check.Finding{Problem: fmt.Sprintf(`expected "sha256:" and 64 hexadecimal digits, found %s`, msg.Quote(d)), Hint: digestHint}
	}
	if len(hexPart) != 64 || strings.Trim(hexPart, "0123456789abcdef") != "" {
		return &check.Finding{Problem: fmt.Sprintf(`expected 64 lower-case hexadecimal digits after "sha256:", found %s`, msg.Quote(hexPart)), Hint: digestHint}
	}
	return nil
}

// ParseReference splits NAME@sha256:HEX, as `extbuilder package --image`
// takes it, into an Image.
func ParseReference(s string) (*Image, *check.Finding) {
	name, digest, ok := strings.Cut(s, "@")
	if !ok {
		return nil, &check.Finding{Problem: fmt.Sprintf("expected NAME@sha256:DIGEST, found %s without a digest", msg.Quote(s)),
			Hint: "a tag alone is refused because a tag can be moved to another image; " + digestHint}
	}
	if f := CheckName(name); f != nil {
		return nil, f
	}
	if f := CheckDigest(digest); f != nil {
		return nil, f
	}
	return &Image{Name: name, Digest: digest}, nil
}

func missingOrEmpty(present bool) string {
	if present {
		return "empty"
	}
	return "missing"
}
