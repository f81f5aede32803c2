//go:build !linux

package launch

import "errors"

// run needs Linux: the parent-death signal that keeps the chaincode from
// outliving run exists only there, and peers run on Linux.
func (s *supervisor) run() (Exit, error) {
	return Exit{}, errors.New("run supports Linux only")
}
