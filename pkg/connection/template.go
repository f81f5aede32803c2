package connection

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/extbuilder/extbuilder/internal/msg"
)

// parseConfig decodes CHAINCODE_AS_A_SERVICE_BUILDER_CONFIG. An unset
// variable is not an error: only a template that needs it is.
func parseConfig(config string, r *report) (map[string]any, error) {
	if strings.TrimSpace(config) == "" {
		return nil, nil
	}
	if !utf8.ValidString(config) {
		return nil, &Error{File: ConfigVariable, Problem: fmt.Sprintf("expected UTF-8 JSON, found invalid UTF-8 at byte %d", msg.InvalidUTF8At([]byte(config))), Hint: configHint}
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(config), &m); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		problem := err.Error()
		switch {
		case errors.As(err, &se):
			problem = fmt.Sprintf("malformed JSON at %s: %s", position([]byte(config), syntaxOffset(se)), strings.TrimPrefix(se.Error(), "json: "))
		case errors.As(err, &te):
			problem = fmt.Sprintf("expected a JSON object, found %s", te.Value)
		}
		return nil, &Error{File: ConfigVariable, Problem: problem, Hint: configHint}
	}
	if m == nil { // the JSON null decodes without error
		return nil, &Error{File: ConfigVariable, Problem: "expected a JSON object, found null", Hint: configHint}
	}
	return m, nil
}

// Expander runs the Go templates in connection.json's string values, as
// Fabric's ccaas_builder does, so packages written for it keep working.
// template.Engine (package connection/template) is the implementation;
// connection does not link text/template itself, so that a program that
// takes values literally (release) stays small. ExpandTemplates and
// CheckTemplates use Options.Expander on any value holding "{{".
type Expander interface {
	// Expand executes text, the value of the field name, against config
	// (nil when the variable is unset), its output bounded by max bytes;
	// with checkOnly it only parses it. templated reports whether text is
	// more than plain text (a checked template comes back as it is). An
	// error may say more through the methods NeedsConfig() bool,
	// TooLong() bool, MissingKey() string or Hint() string.
	Expand(name, text string, config map[string]any, checkOnly bool, max int) (out string, templated bool, err error)
}

// expand runs one string value through the Expander.
func (d *decoder) expand(name, value string) (string, error) {
	if d.opts.Templates == LiteralValues || !strings.Contains(value, "{{") {
		return value, nil
	}
	if d.opts.Expander == nil {
		return "", d.fail(name, "", "holds a template, which this program cannot expand (connection.Options.Expander is not set)")
	}
	checkOnly := d.opts.Templates == CheckTemplates
	out, templated, err := d.opts.Expander.Expand(name, value, d.config, checkOnly, MaxSize)
	var (
		needs   interface{ NeedsConfig() bool }
		long    interface{ TooLong() bool }
		missing interface{ MissingKey() string }
		hinted  interface{ Hint() string }
	)
	switch {
	case err == nil && templated && checkOnly:
		d.templated[name] = true
		return value, nil
	case err == nil:
		return out, nil
	case errors.As(err, &needs) && needs.NeedsConfig():
		return "", d.fail(name, propagateHint, "uses a template but %s is not set", ConfigVariable)
	case errors.As(err, &long) && long.TooLong():
		return "", d.fail(name, "", "template output is over %d bytes (1 MiB)", MaxSize)
	case errors.As(err, &missing) && missing.MissingKey() != "":
		return "", d.fail(name, propagateHint, "template key %s is not in %s (it has: %s)",
			msg.Quote(missing.MissingKey()), ConfigVariable, keys(d.config))
	case errors.As(err, &hinted):
		return "", d.fail(name, hinted.Hint(), "%s", err.Error())
	}
	return "", d.fail(name, "", "%s", err.Error())
}

const configHint = `set it to a JSON object such as {"peername":"peer0org1"}`

const propagateHint = "set " + ConfigVariable + " on the peer and list it in the builder's propagateEnvironment in core.yaml"

// keys lists the variable's top-level keys for a message, quoted and bounded.
func keys(m map[string]any) string {
	const max = 20
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	if len(ks) == 0 {
		return "no keys"
	}
	more := ""
	if len(ks) > max {
		more = fmt.Sprintf(" and %d more", len(ks)-max)
		ks = ks[:max]
	}
	for i, k := range ks {
		ks[i] = msg.Quote(k)
	}
	return strings.Join(ks, ", ") + more
}
