package connection

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
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

// expand runs one string value through text/template, as Fabric's
// ccaas_builder does, so packages written for it keep working.
func (d *decoder) expand(name, value string) (string, error) {
	if d.opts.Templates == LiteralValues || !strings.Contains(value, "{{") {
		return value, nil
	}
	t, err := template.New(name).Option("missingkey=error").Parse(value)
	if err != nil {
		return "", d.fail(name, "templates use Go text/template syntax, e.g. \"{{.peername}}-cc:9999\"",
			"malformed template: %s", msg.Safe(strings.TrimPrefix(err.Error(), "template: ")))
	}
	if n := unbounded(t.Tree.Root); n != "" {
		return "", d.fail(name, "use value lookups such as {{.peername}}, with if/with and functions if needed",
			"template uses %s, which is not allowed: a package must not be able to stall the peer's install", n)
	}
	// Plain text is executed too (comments and trim markers change it), and
	// needs no variable.
	if !literal(t) {
		if d.opts.Templates == CheckTemplates {
			d.templated[name] = true
			return value, nil
		}
		if d.config == nil {
			return "", d.fail(name, propagateHint, "uses a template but %s is not set", ConfigVariable)
		}
	}
	var out boundedBuilder
	if err := t.Execute(&out, d.config); err != nil {
		if errors.Is(err, errTooLong) {
			return "", d.fail(name, "", "template output is over %d bytes (1 MiB)", MaxSize)
		}
		if key := missingKey(err); key != "" {
			return "", d.fail(name, propagateHint, "template key %s is not in %s (it has: %s)",
				msg.Quote(key), ConfigVariable, keys(d.config))
		}
		return "", d.fail(name, "", "template failed: %s", msg.Safe(strings.TrimPrefix(err.Error(), "template: ")))
	}
	return out.String(), nil
}

var errTooLong = errors.New("template output too long")

// boundedBuilder stops a template whose output outgrows any real value (a
// printf width or a range can otherwise make gigabytes from a short line).
type boundedBuilder struct{ strings.Builder }

func (b *boundedBuilder) Write(p []byte) (int, error) {
	if b.Len()+len(p) > MaxSize {
		return 0, errTooLong
	}
	return b.Builder.Write(p)
}

// unbounded names the first construct whose run time the template text does
// not bound: range loops, and template calls (which can recurse). Everything
// else runs in time linear in the template's size.
func unbounded(n parse.Node) string {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return ""
		}
		for _, c := range n.Nodes {
			if u := unbounded(c); u != "" {
				return u
			}
		}
	case *parse.IfNode:
		return firstOf(unbounded(n.List), unbounded(n.ElseList))
	case *parse.WithNode:
		return firstOf(unbounded(n.List), unbounded(n.ElseList))
	case *parse.RangeNode:
		return "{{range}}"
	case *parse.TemplateNode:
		return "{{template}}"
	}
	return ""
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

const configHint = `set it to a JSON object such as {"peername":"peer0org1"}`

const propagateHint = "set " + ConfigVariable + " on the peer and list it in the builder's propagateEnvironment in core.yaml"

// literal reports whether a parsed template is plain text.
func literal(t *template.Template) bool {
	if t.Tree == nil || t.Tree.Root == nil {
		return true
	}
	for _, n := range t.Tree.Root.Nodes {
		if n.Type() != parse.NodeText {
			return false
		}
	}
	return true
}

// missingKey finds the key in text/template's "map has no entry for key"
// error. By hand, not with a regexp: regexp would add a quarter of a MiB
// to build and release for this one line.
func missingKey(err error) string {
	const marker = `map has no entry for key "`
	msg := err.Error()
	i := strings.Index(msg, marker)
	if i < 0 {
		return ""
	}
	key, _, ok := strings.Cut(msg[i+len(marker):], `"`)
	if !ok {
		return ""
	}
	return key
}

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
