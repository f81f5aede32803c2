// Package template expands the Go templates in connection.json's string
// values, as Fabric's ccaas_builder does, for connection.Options.Expander.
// It is a package of its own so that a program that takes connection.json's
// values literally (release) does not link text/template.
package template

import (
	"errors"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/extbuilder/extbuilder/internal/msg"
)

// Engine is the Expander of package connection.
type Engine struct{}

// Expand executes text (the value of the field name) against config (nil when the variable is unset);
// with checkOnly, text is only parsed. templated reports whether text is
// more than plain text; a checked template comes back as it is. Output is
// bounded by max bytes. Errors carry what connection words them with:
// MissingKey, NeedsConfig, TooLong, or a Hint.
func (Engine) Expand(name, text string, config map[string]any, checkOnly bool, max int) (out string, templated bool, err error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", false, &problem{"malformed template: " + msg.Safe(strings.TrimPrefix(err.Error(), "template: ")),
			"templates use Go text/template syntax, e.g. \"{{.peername}}-cc:9999\""}
	}
	if n := unbounded(t.Tree.Root); n != "" {
		return "", false, &problem{"template uses " + n + ", which is not allowed: a package must not be able to stall the peer's install",
			"use value lookups such as {{.peername}}, with if/with and functions if needed"}
	}
	// Plain text is executed too (comments and trim markers change it), and
	// needs no variable.
	templated = !literal(t)
	if templated && checkOnly {
		return text, true, nil
	}
	if templated && config == nil {
		return "", true, needsConfig{}
	}
	out2 := &boundedBuilder{max: max}
	if err := t.Execute(out2, config); err != nil {
		if errors.Is(err, errTooLong) {
			return "", templated, tooLong{}
		}
		if key := missingKey(err); key != "" {
			return "", templated, missing(key)
		}
		return "", templated, &problem{"template failed: " + msg.Safe(strings.TrimPrefix(err.Error(), "template: ")), ""}
	}
	return out2.String(), templated, nil
}

// problem is a template that cannot be used, with a hint.
type problem struct{ text, hint string }

func (p *problem) Error() string { return p.text }
func (p *problem) Hint() string  { return p.hint }

type needsConfig struct{}

func (needsConfig) Error() string {
	return "template needs the configuration variable, which is not set"
}
func (needsConfig) NeedsConfig() bool { return true }

type tooLong struct{}

func (tooLong) Error() string { return "template output too long" }
func (tooLong) TooLong() bool { return true }

type missing string

func (m missing) Error() string      { return "template key " + string(m) + " is missing" }
func (m missing) MissingKey() string { return string(m) }

var errTooLong = errors.New("template output too long")

// boundedBuilder stops a template whose output outgrows any real value (a
// printf width or a range can otherwise make gigabytes from a short line).
type boundedBuilder struct {
	strings.Builder
	max int
}

func (b *boundedBuilder) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
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
