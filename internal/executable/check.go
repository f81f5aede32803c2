package executable

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/extbuilder/extbuilder/internal/msg"
)

// target is what an ELF header says about the machine a file runs on.
type target struct {
	machine elf.Machine
	class   elf.Class
	data    elf.Data
}

// goarchTargets maps each GOARCH Go can build for Linux to its ELF header values.
var goarchTargets = map[string]target{
	"386":      {elf.EM_386, elf.ELFCLASS32, elf.ELFDATA2LSB},
	"amd64":    {elf.EM_X86_64, elf.ELFCLASS64, elf.ELFDATA2LSB},
	"arm":      {elf.EM_ARM, elf.ELFCLASS32, elf.ELFDATA2LSB},
	"arm64":    {elf.EM_AARCH64, elf.ELFCLASS64, elf.ELFDATA2LSB},
	"loong64":  {elf.EM_LOONGARCH, elf.ELFCLASS64, elf.ELFDATA2LSB},
	"mips":     {elf.EM_MIPS, elf.ELFCLASS32, elf.ELFDATA2MSB},
	"mipsle":   {elf.EM_MIPS, elf.ELFCLASS32, elf.ELFDATA2LSB},
	"mips64":   {elf.EM_MIPS, elf.ELFCLASS64, elf.ELFDATA2MSB},
	"mips64le": {elf.EM_MIPS, elf.ELFCLASS64, elf.ELFDATA2LSB},
	"ppc64":    {elf.EM_PPC64, elf.ELFCLASS64, elf.ELFDATA2MSB},
	"ppc64le":  {elf.EM_PPC64, elf.ELFCLASS64, elf.ELFDATA2LSB},
	"riscv64":  {elf.EM_RISCV, elf.ELFCLASS64, elf.ELFDATA2LSB},
	"s390x":    {elf.EM_S390, elf.ELFCLASS64, elf.ELFDATA2MSB},
}

// osabiGOOS names the GOOS of the ELF OS/ABI values that mark a file as
// built for a system other than Linux.
var osabiGOOS = map[elf.OSABI]string{
	elf.ELFOSABI_FREEBSD: "freebsd",
	elf.ELFOSABI_NETBSD:  "netbsd",
	elf.ELFOSABI_OPENBSD: "openbsd",
	elf.ELFOSABI_SOLARIS: "solaris",
	elf.ELFOSABI_AIX:     "aix",
}

// noteGOOS names the GOOS of the note sections that NetBSD and OpenBSD
// executables carry: their OS/ABI byte is 0, as it is on Linux.
var noteGOOS = map[string]string{
	".note.netbsd.ident":  "netbsd",
	".note.openbsd.ident": "openbsd",
}

// Check reports whether the file r holds can be executed on this machine
// (runtime.GOOS, runtime.GOARCH): an ELF executable for this architecture and
// operating system, or a script starting with "#!". name is the file's path
// inside the package, used in the error. r should give access to the whole
// file (a bytes.Reader over a tar entry will do); the architecture check
// needs only the first 20 bytes, the BSD note check reads section headers
// when it can.
func Check(name string, r io.ReaderAt) error {
	return checkTarget(name, r, runtime.GOOS, runtime.GOARCH)
}

func checkTarget(name string, r io.ReaderAt, goos, goarch string) error {
	var head [64]byte
	n, err := r.ReadAt(head[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return &Error{File: name, Problem: "cannot be read: " + msg.Reason(err).Error(), Err: err}
	}
	h := head[:n]
	switch {
	case n == 0:
		return &Error{File: name, Problem: "is empty; expected an executable",
			Hint: `metadata.json "path" must name the chaincode executable`}
	case bytes.HasPrefix(h, []byte("#!")):
		return nil // the kernel runs the interpreter the script names
	case bytes.HasPrefix(h, []byte(elf.ELFMAG)):
		return checkELF(name, r, h, goos, goarch)
	}
	kind, hint := identify(h)
	return &Error{File: name,
		Problem: fmt.Sprintf("expected an ELF executable for %s/%s or a script starting with #!, found %s", goos, goarch, kind),
		Hint:    hint}
}

func checkELF(name string, r io.ReaderAt, h []byte, goos, goarch string) error {
	if len(h) < 20 {
		return &Error{File: name, Problem: "is a truncated ELF file (shorter than its header)"}
	}
	found := target{
		class: elf.Class(h[elf.EI_CLASS]),
		data:  elf.Data(h[elf.EI_DATA]),
	}
	var order binary.ByteOrder
	switch found.data {
	case elf.ELFDATA2LSB:
		order = binary.LittleEndian
	case elf.ELFDATA2MSB:
		order = binary.BigEndian
	default:
		return &Error{File: name, Problem: fmt.Sprintf("is an ELF file with an invalid byte order (%d)", h[elf.EI_DATA])}
	}
	fileType := elf.Type(order.Uint16(h[16:18]))
	found.machine = elf.Machine(order.Uint16(h[18:20]))
	hint := fmt.Sprintf("build it with GOOS=%s GOARCH=%s CGO_ENABLED=0 (or the equivalent for your language)", goos, goarch)

	if want, known := goarchTargets[goarch]; known && found != want {
		return &Error{File: name,
			Problem: fmt.Sprintf("is an ELF executable for %s, expected %s (the architecture of this peer)", describeTarget(found), goarch),
			Hint:    hint}
	}
	if goos == "linux" {
		if other := foreignOS(r, elf.OSABI(h[elf.EI_OSABI])); other != "" {
			return &Error{File: name,
				Problem: fmt.Sprintf("is an ELF executable for %s, expected linux", other),
				Hint:    hint}
		}
	}
	switch fileType {
	case elf.ET_EXEC, elf.ET_DYN: // ET_DYN: position-independent executables
		return nil
	case elf.ET_REL:
		return &Error{File: name, Problem: "is an ELF object file (.o), not an executable", Hint: "link it into an executable"}
	case elf.ET_CORE:
		return &Error{File: name, Problem: "is a core dump, not an executable"}
	default:
		return &Error{File: name, Problem: fmt.Sprintf("is an ELF file of type %v, not an executable", fileType)}
	}
}

// foreignOS returns the GOOS of a non-Linux ELF file, or "" when nothing
// says it is not for Linux.
func foreignOS(r io.ReaderAt, abi elf.OSABI) string {
	if goos, ok := osabiGOOS[abi]; ok {
		return goos
	}
	f, err := elf.NewFile(r)
	if err != nil {
		return "" // headers beyond the first are unreadable: judge by the first alone
	}
	defer f.Close()
	for _, s := range f.Sections {
		if goos, ok := noteGOOS[s.Name]; ok {
			return goos
		}
	}
	return ""
}

// describeTarget names a machine by its GOARCH when Go knows it, and by its
// ELF values otherwise.
func describeTarget(t target) string {
	for goarch, want := range goarchTargets {
		if t == want {
			return goarch
		}
	}
	bits := "32-bit"
	if t.class == elf.ELFCLASS64 {
		bits = "64-bit"
	}
	order := "little-endian"
	if t.data == elf.ELFDATA2MSB {
		order = "big-endian"
	}
	return fmt.Sprintf("%v (%s %s)", t.machine, bits, order)
}

// identify names the common files that are mistaken for executables.
func identify(h []byte) (kind, hint string) {
	linux := "build it with GOOS=linux (and the GOARCH of the peer), CGO_ENABLED=0"
	switch {
	case hasAnyPrefix(h, "\xfe\xed\xfa\xce", "\xfe\xed\xfa\xcf", "\xce\xfa\xed\xfe", "\xcf\xfa\xed\xfe"):
		return "a macOS (Mach-O) executable", linux
	case hasAnyPrefix(h, "\xca\xfe\xba\xbe"):
		return "a macOS universal binary or a Java class file", linux
	case hasAnyPrefix(h, "MZ"):
		return "a Windows (PE) executable", linux
	case hasAnyPrefix(h, "PK\x03\x04"):
		return "a zip archive (a .jar?)", "package an executable, or a #! script that starts your program"
	case hasAnyPrefix(h, "\x1f\x8b"):
		return "a gzip archive", "put the executable itself in code.tar.gz, not an archive of it"
	case hasAnyPrefix(h, "\x00asm"):
		return "a WebAssembly module", linux
	}
	return "a file with neither (add a #! line to a script)", `metadata.json "path" must name the chaincode executable`
}

func hasAnyPrefix(h []byte, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(string(h), p) {
			return true
		}
	}
	return false
}
