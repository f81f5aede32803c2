package samples

import (
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Redactor rewrites generated, run-specific text into stable placeholders.
type Redactor struct {
	byBody map[string]string // base64 body of a PEM block -> label
	paths  []pathLabel
	now    time.Time
}

type pathLabel struct{ path, label string }

// NewRedactor knows the PEM material of the given PKIs (nil entries are
// skipped). Blocks it does not know are still redacted, as "unknown".
func NewRedactor(pkis ...*PKI) *Redactor {
	r := &Redactor{byBody: map[string]string{}}
	for _, p := range pkis {
		if p == nil {
			continue
		}
		for text, label := range p.labels() {
			if b, _ := pem.Decode([]byte(text)); b != nil {
				r.byBody[base64.StdEncoding.EncodeToString(b.Bytes)] = label
			}
		}
	}
	return r
}

// Path makes r replace path (and anything below it) by label, e.g. a
// temporary folder by "$TMPDIR". Longer paths are replaced first.
func (r *Redactor) Path(path, label string) *Redactor {
	if path != "" {
		r.paths = append(r.paths, pathLabel{path, label})
		sort.SliceStable(r.paths, func(i, j int) bool { return len(r.paths[i].path) > len(r.paths[j].path) })
	}
	return r
}

// Now makes r replace RFC 3339 times within a day of now by "<now>", for
// messages that quote the current time next to a certificate's dates.
// Fixed dates (such as the sample's expired certificate's) are kept.
func (r *Redactor) Now(now time.Time) *Redactor {
	r.now = now
	return r
}

var rfc3339 = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)`)

// A PEM block, raw or inside a JSON string (where newlines are "\n").
var pemBlock = regexp.MustCompile(`-----BEGIN ([A-Z0-9 ]+)-----((?:\\[nr]|[\r\n]|[A-Za-z0-9+/=])*?)-----END ([A-Z0-9 ]+)-----`)

var pemNoise = strings.NewReplacer(`\n`, "", `\r`, "", "\n", "", "\r", "")

// Redact replaces every PEM block by <TYPE label> (any private key becomes
// <KEY label>, so that no "PRIVATE KEY" header survives), then the
// registered paths by their labels, then current times if asked.
// Newlines around a block are kept.
func (r *Redactor) Redact(data []byte) []byte {
	out := pemBlock.ReplaceAllStringFunc(string(data), func(block string) string {
		m := pemBlock.FindStringSubmatch(block)
		kind := m[1]
		if strings.Contains(kind, "PRIVATE KEY") {
			kind = "KEY"
		}
		label, ok := r.byBody[pemNoise.Replace(m[2])]
		if !ok {
			label = "unknown"
		}
		return fmt.Sprintf("<%s %s>", kind, label)
	})
	for _, p := range r.paths {
		out = strings.ReplaceAll(out, p.path, p.label)
	}
	if !r.now.IsZero() {
		out = rfc3339.ReplaceAllStringFunc(out, func(s string) string {
			ts, err := time.Parse(time.RFC3339, s)
			if err != nil || ts.Sub(r.now).Abs() > 24*time.Hour {
				return s
			}
			return "<now>"
		})
	}
	return []byte(out)
}

// RedactString is Redact for strings.
func (r *Redactor) RedactString(s string) string { return string(r.Redact([]byte(s))) }
