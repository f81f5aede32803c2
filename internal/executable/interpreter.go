package executable

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/extbuilder/extbuilder/internal/msg"
)

// ErrNoInterpreter marks the error of a script whose interpreter is not
// installed on this machine: lint, which runs on the operator's machine
// rather than a peer, reports it as a warning.
var ErrNoInterpreter = errors.New("interpreter not installed")

// maxShebang is how much of a #! line Linux reads (BINPRM_BUF_SIZE).
const maxShebang = 256

// CheckInterpreter checks that the interpreter a "#!" script names is
// installed here: an executable file at the absolute path the line names,
// and for "#!/usr/bin/env NAME" (or env -S NAME ...) a NAME found in PATH,
// which run passes on to the chaincode. Without it the peer's first launch
// fails with exit status 127 and a message only in the peer's log. A file
// that does not start with "#!" passes.
func CheckInterpreter(name string, r io.ReaderAt) error {
	var buf [maxShebang]byte
	n, _ := r.ReadAt(buf[:], 0)
	line := buf[:n]
	if !bytes.HasPrefix(line, []byte("#!")) {
		return nil
	}
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	text := strings.Trim(string(line[2:]), " \t\r")
	interp, arg, _ := strings.Cut(strings.ReplaceAll(text, "\t", " "), " ")
	arg = strings.TrimSpace(arg)
	hint := "install it in the peer's image (see docs/binary-packages.md), or package a static executable"
	switch {
	case interp == "":
		return &Error{File: name, Problem: "starts with #! but names no interpreter", Hint: "e.g. #!/bin/sh"}
	case !filepath.IsAbs(interp):
		return &Error{File: name, Problem: "expected an absolute interpreter path after #!, found " + msg.Quote(interp),
			Hint: "name it in full (#!/bin/sh), or through #!/usr/bin/env NAME"}
	case !isExecutable(interp):
		return &Error{File: name, Problem: fmt.Sprintf("starts with #!%s, which is not installed on this peer", msg.Shorten(interp, 100)), Hint: hint, Err: ErrNoInterpreter}
	case filepath.Base(interp) != "env" || arg == "":
		return nil
	}
	prog := envProgram(arg)
	switch {
	case prog == "" || strings.Contains(prog, "/") && !filepath.IsAbs(prog):
		return nil // env runs something we cannot predict; leave it to the launch
	case filepath.IsAbs(prog):
		if !isExecutable(prog) {
			return &Error{File: name, Problem: fmt.Sprintf("starts with #!%s, and %s is not installed on this peer", msg.Shorten(text, 100), msg.Shorten(prog, 100)), Hint: hint, Err: ErrNoInterpreter}
		}
		return nil
	}
	pathEnv := os.Getenv("PATH")
	for _, dir := range filepath.SplitList(pathEnv) {
		if filepath.IsAbs(dir) && isExecutable(filepath.Join(dir, prog)) {
			return nil
		}
	}
	return &Error{File: name,
		Problem: fmt.Sprintf("starts with #!%s, but %s is not installed on this peer (not in PATH=%s)", msg.Shorten(text, 100), msg.Shorten(prog, 100), msg.Shorten(pathEnv, 200)),
		Hint:    hint, Err: ErrNoInterpreter}
}

// envProgram returns the program env runs for the argument the kernel
// passes it: the whole rest of the #! line, split only after -S.
func envProgram(arg string) string {
	words := []string{arg}
	if rest, ok := strings.CutPrefix(arg, "-S"); ok {
		words = strings.Fields(rest)
	}
	for _, w := range words {
		if !strings.HasPrefix(w, "-") && !strings.Contains(w, "=") {
			return w
		}
	}
	return ""
}

// isExecutable reports whether p (symbolic links followed) is a regular
// file with an execute bit.
func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}
