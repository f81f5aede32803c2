package executable

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// elfFile builds a minimal, well-formed 64-bit ELF file (32-bit headers are
// laid out differently, but the fields Check reads sit at the same offsets).
// sections are extra section names; debug/elf can parse the result.
func elfFile(t target, abi elf.OSABI, typ elf.Type, sections ...string) []byte {
	var order binary.ByteOrder = binary.LittleEndian
	if t.data == elf.ELFDATA2MSB {
		order = binary.BigEndian
	}
	strtab := []byte{0}
	nameOffsets := []uint32{0}
	for _, s := range append(sections, ".shstrtab") {
		nameOffsets = append(nameOffsets, uint32(len(strtab)))
		strtab = append(strtab, s...)
		strtab = append(strtab, 0)
	}
	const hdrSize, shSize = 64, 64
	nsec := len(nameOffsets)
	strtabOff := uint64(hdrSize + nsec*shSize)

	hdr := elf.Header64{
		Type: uint16(typ), Machine: uint16(t.machine), Version: uint32(elf.EV_CURRENT),
		Shoff: hdrSize, Ehsize: hdrSize, Shentsize: shSize,
		Shnum: uint16(nsec), Shstrndx: uint16(nsec - 1),
	}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS] = byte(t.class)
	hdr.Ident[elf.EI_DATA] = byte(t.data)
	hdr.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	hdr.Ident[elf.EI_OSABI] = byte(abi)

	var b bytes.Buffer
	must(binary.Write(&b, order, hdr))
	must(binary.Write(&b, order, elf.Section64{})) // the null section
	for i := 1; i < nsec; i++ {
		sec := elf.Section64{Name: nameOffsets[i], Type: uint32(elf.SHT_NOTE)}
		if i == nsec-1 {
			sec = elf.Section64{Name: nameOffsets[i], Type: uint32(elf.SHT_STRTAB), Off: strtabOff, Size: uint64(len(strtab))}
		}
		must(binary.Write(&b, order, sec))
	}
	b.Write(strtab)
	return b.Bytes()
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func hostTarget(t *testing.T) target {
	want, ok := goarchTargets[runtime.GOARCH]
	if !ok {
		t.Skipf("no ELF target known for GOARCH=%s", runtime.GOARCH)
	}
	return want
}

// otherArch returns a GOARCH that is not this machine's.
func otherArch() string {
	if runtime.GOARCH == "arm64" {
		return "amd64"
	}
	return "arm64"
}

func TestCheckAcceptsWhatThisMachineRuns(t *testing.T) {
	host := hostTarget(t)
	cases := map[string][]byte{
		"static executable":  elfFile(host, elf.ELFOSABI_NONE, elf.ET_EXEC),
		"PIE executable":     elfFile(host, elf.ELFOSABI_NONE, elf.ET_DYN),
		"GNU/Linux OS/ABI":   elfFile(host, elf.ELFOSABI_LINUX, elf.ET_EXEC),
		"shell script":       []byte("#!/bin/sh\nexec ./server\n"),
		"env script":         []byte("#!/usr/bin/env node\n"),
		"script, no newline": []byte("#!"),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			assert.NoError(t, Check("chaincode", bytes.NewReader(data)))
		})
	}
}

func TestCheckAcceptsTheRunningTestBinary(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the test binary is ELF only on Linux")
	}
	self, err := os.Executable()
	require.NoError(t, err)
	f, err := os.Open(self)
	require.NoError(t, err)
	defer f.Close()
	assert.NoError(t, Check("chaincode", f))
}

func TestCheckRefusesOtherArchitectures(t *testing.T) {
	cases := []struct {
		name, host, file string
		want             string
	}{
		{"arm64 on amd64", "amd64", "arm64", "bin/cc: is an ELF executable for arm64, expected amd64 (the architecture of this peer); hint: build it with GOOS=linux GOARCH=amd64 CGO_ENABLED=0"},
		{"amd64 on arm64", "arm64", "amd64", "is an ELF executable for amd64, expected arm64"},
		{"386 on amd64", "amd64", "386", "is an ELF executable for 386, expected amd64"},
		{"ppc64 on ppc64le", "ppc64le", "ppc64", "is an ELF executable for ppc64, expected ppc64le"},
		{"s390x on amd64", "amd64", "s390x", "GOARCH=amd64"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := elfFile(goarchTargets[c.file], elf.ELFOSABI_NONE, elf.ET_EXEC)
			err := checkTarget("bin/cc", bytes.NewReader(data), "linux", c.host)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			var e *Error
			require.True(t, errors.As(err, &e))
			assert.Equal(t, "bin/cc", e.File)
		})
	}
}

func TestCheckNamesUnknownMachines(t *testing.T) {
	sparc := target{elf.EM_SPARCV9, elf.ELFCLASS64, elf.ELFDATA2MSB}
	err := checkTarget("cc", bytes.NewReader(elfFile(sparc, elf.ELFOSABI_NONE, elf.ET_EXEC)), "linux", "amd64")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is an ELF executable for EM_SPARCV9 (64-bit big-endian), expected amd64")
}

func TestCheckRefusesOtherOperatingSystems(t *testing.T) {
	amd64 := goarchTargets["amd64"]
	cases := map[string]struct {
		data []byte
		want string
	}{
		"FreeBSD OS/ABI": {elfFile(amd64, elf.ELFOSABI_FREEBSD, elf.ET_EXEC), "is an ELF executable for freebsd, expected linux; hint: build it with GOOS=linux GOARCH=amd64"},
		"Solaris OS/ABI": {elfFile(amd64, elf.ELFOSABI_SOLARIS, elf.ET_EXEC), "for solaris, expected linux"},
		"NetBSD note":    {elfFile(amd64, elf.ELFOSABI_NONE, elf.ET_EXEC, ".note.netbsd.ident"), "for netbsd, expected linux"},
		"OpenBSD note":   {elfFile(amd64, elf.ELFOSABI_NONE, elf.ET_EXEC, ".note.openbsd.ident"), "for openbsd, expected linux"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := checkTarget("cc", bytes.NewReader(c.data), "linux", "amd64")
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	// A Linux file with ordinary note sections is not mistaken for a BSD one.
	linux := elfFile(amd64, elf.ELFOSABI_NONE, elf.ET_EXEC, ".note.go.buildid", ".note.gnu.build-id")
	assert.NoError(t, checkTarget("cc", bytes.NewReader(linux), "linux", "amd64"))
}

func TestCheckRefusesWhatIsNotAnExecutable(t *testing.T) {
	amd64 := goarchTargets["amd64"]
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":        {nil, "cc: is empty; expected an executable"},
		"text":         {[]byte("echo hello\n"), "expected an ELF executable for linux/amd64 or a script starting with #!, found a file with neither (add a #! line to a script)"},
		"Mach-O":       {[]byte("\xcf\xfa\xed\xfe\x07\x00\x00\x01"), "found a macOS (Mach-O) executable; hint: build it with GOOS=linux"},
		"PE":           {[]byte("MZ\x90\x00"), "found a Windows (PE) executable"},
		"jar":          {[]byte("PK\x03\x04\x14\x00"), "found a zip archive (a .jar?)"},
		"gzip":         {[]byte("\x1f\x8b\x08\x00"), "found a gzip archive"},
		"object file":  {elfFile(amd64, elf.ELFOSABI_NONE, elf.ET_REL), "is an ELF object file (.o), not an executable"},
		"core dump":    {elfFile(amd64, elf.ELFOSABI_NONE, elf.ET_CORE), "is a core dump"},
		"truncated":    {[]byte("\x7fELF\x02\x01\x01"), "is a truncated ELF file"},
		"bad encoding": {[]byte("\x7fELF\x02\x07\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00"), "invalid byte order"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := checkTarget("cc", bytes.NewReader(c.data), "linux", "amd64")
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// pkg is a package source folder for Install tests.
func pkg(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, data, 0o644))
	}
	return dir
}

func TestInstallCopiesWithMode0755(t *testing.T) {
	host := hostTarget(t)
	binary := elfFile(host, elf.ELFOSABI_NONE, elf.ET_EXEC)
	script := []byte("#!/bin/sh\necho hi\n")
	cases := []struct{ name, rel string }{
		{"default name", "chaincode"},
		{"in a folder", "bin/server"},
		{"with ./", "./bin/server"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := pkg(t, map[string][]byte{"chaincode": binary, "bin/server": script})
			out := t.TempDir()
			dest := filepath.Join(out, "chaincode")
			require.NoError(t, Install(src, c.rel, dest))

			info, err := os.Stat(dest)
			require.NoError(t, err)
			assert.Equal(t, fs.FileMode(0o755), info.Mode())
			got, err := os.ReadFile(dest)
			require.NoError(t, err)
			want, _ := os.ReadFile(filepath.Join(src, filepath.FromSlash(c.rel)))
			assert.Equal(t, want, got)
			assertOnly(t, out, "chaincode")
		})
	}
}

func TestInstallReplacesAnExistingDestination(t *testing.T) {
	src := pkg(t, map[string][]byte{"chaincode": []byte("#!/bin/sh\nnew\n")})
	out := t.TempDir()
	dest := filepath.Join(out, "chaincode")
	require.NoError(t, os.WriteFile(dest, []byte("old"), 0o600))
	require.NoError(t, Install(src, "chaincode", dest))
	got, _ := os.ReadFile(dest)
	assert.Equal(t, "#!/bin/sh\nnew\n", string(got))
	info, _ := os.Stat(dest)
	assert.Equal(t, fs.FileMode(0o755), info.Mode())
}

func TestInstallRefuses(t *testing.T) {
	script := []byte("#!/bin/sh\n")
	wrongArch := elfFile(goarchTargets[otherArch()], elf.ELFOSABI_NONE, elf.ET_EXEC)
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "chaincode"), script, 0o755))

	cases := []struct {
		name  string
		rel   string
		setup func(t *testing.T, src string)
		want  string
		is    error
	}{
		{name: "absolute path", rel: "/bin/sh",
			want: `metadata.json: path: expected a path inside the package, found "/bin/sh"`},
		{name: "escaping path", rel: "../chaincode",
			want: `metadata.json: path: expected a path inside the package, found "../chaincode"`},
		{name: "empty path", rel: "",
			want: `metadata.json: path: expected a path inside the package, found ""`},
		{name: "NUL in path", rel: "chain\x00code",
			want: `metadata.json: path: expected a path without control characters, found "chain\x00code"`},
		{name: "newline in path", rel: "bin/\nserver",
			want: `metadata.json: path: expected a path without control characters, found "bin/\nserver"`},
		{name: "path longer than PATH_MAX", rel: strings.Repeat("a/", 30000),
			want: `metadata.json: path: expected a path of at most 4096 bytes, found "a/a/a/`},
		{name: "missing", rel: "bin/missing", is: fs.ErrNotExist,
			want: `bin/missing: no such file in the package; hint: metadata.json "path" names the executable inside code.tar.gz`},
		{name: "folder", rel: "bin",
			want: "bin: expected a regular file, found a folder"},
		{name: "symlink inside", rel: "link",
			setup: func(t *testing.T, src string) {
				require.NoError(t, os.Symlink("bin/server", filepath.Join(src, "link")))
			},
			want: "link: expected a regular file, found a symbolic link"},
		{name: "symlinked folder leading out", rel: "out/chaincode",
			setup: func(t *testing.T, src string) { require.NoError(t, os.Symlink(outside, filepath.Join(src, "out"))) },
			want:  "out/chaincode: resolves to a location outside the package"},
		{name: "wrong architecture", rel: "arm",
			setup: func(t *testing.T, src string) {
				require.NoError(t, os.WriteFile(filepath.Join(src, "arm"), wrongArch, 0o755))
			},
			want: "arm: is an ELF executable for " + otherArch() + ", expected " + runtime.GOARCH},
		{name: "not an executable", rel: "notes.txt",
			setup: func(t *testing.T, src string) {
				require.NoError(t, os.WriteFile(filepath.Join(src, "notes.txt"), []byte("hello"), 0o644))
			},
			want: "notes.txt: expected an ELF executable for"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := pkg(t, map[string][]byte{"bin/server": script})
			if c.setup != nil {
				c.setup(t, src)
			}
			out := t.TempDir()
			err := Install(src, c.rel, filepath.Join(out, "chaincode"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), src, "errors name files relative to the package")
			assert.NotContains(t, err.Error(), "\n")
			assert.NotContains(t, err.Error(), "\x00")
			assert.Less(t, len(err.Error()), 400, "a long path is shortened, not echoed")
			if c.is != nil {
				assert.ErrorIs(t, err, c.is)
			}
			assertOnly(t, out) // nothing written, not even a temporary file
		})
	}
}

func TestInstallWriteErrorNamesTheOutputFile(t *testing.T) {
	src := pkg(t, map[string][]byte{"chaincode": []byte("#!/bin/sh\n")})
	out := filepath.Join(t.TempDir(), "gone") // the output folder vanished
	err := Install(src, "chaincode", filepath.Join(out, "chaincode"))
	require.Error(t, err)
	assert.Equal(t, "BUILD_OUTPUT_DIR: cannot write chaincode: no such file or directory", err.Error())
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestInstallRefusesAFIFOWithoutHanging(t *testing.T) {
	src := pkg(t, nil)
	if err := mkfifo(filepath.Join(src, "chaincode")); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	err := Install(src, "chaincode", filepath.Join(t.TempDir(), "chaincode"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "chaincode: expected a regular file, found a named pipe")
}

// assertOnly checks that dir holds exactly the named entries.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if len(names) == 0 {
		assert.Empty(t, got)
		return
	}
	assert.Equal(t, names, got, "entries of %s: %s", dir, strings.Join(got, ", "))
}
