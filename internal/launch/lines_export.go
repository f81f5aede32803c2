package launch

import "io"

// Lines passes what it is written on to out with the line rules run applies
// to a binary chaincode's output: whole lines, one Write each, cut at
// MaxLine. The Kubernetes run (internal/kubelaunch) streams a container's
// log through it, so both kinds of chaincode read the same in the peer log.
type Lines struct{ w *lineWriter }

// NewLines returns a Lines writing to out.
func NewLines(out io.Writer) *Lines { return &Lines{w: newLineWriter(out, MaxLine)} }

func (l *Lines) Write(p []byte) (int, error) { return l.w.Write(p) }

// Flush passes on a last line that has no newline.
func (l *Lines) Flush() { l.w.Flush() }
