package executable

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/extbuilder/extbuilder/internal/layout"
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

// readTree lists dir: every file and folder with its mode and contents.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	got := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		require.NoError(t, err)
		desc := info.Mode().String()
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			desc += " " + string(data)
		}
		got[filepath.ToSlash(rel)] = desc
		return nil
	}))
	return got
}

func TestInstallTreeInstallsEveryFileAndFolder(t *testing.T) {
	host := hostTarget(t)
	binary := string(elfFile(host, elf.ELFOSABI_NONE, elf.ET_EXEC))
	cases := []struct{ name, rel, entry string }{
		{"default name", "chaincode", "chaincode"},
		{"in a folder", "bin/start", "bin/start"},
		{"with ./", "./bin/start", "bin/start"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := pkg(t, map[string][]byte{
				"chaincode":              []byte(binary),
				"bin/start":              []byte("#!/bin/sh\nexec ./lib/server\n"),
				"lib/server":             []byte(binary),
				"data/config.json":       []byte(`{"a":1}`),
				"META-INF/statedb/x.txt": []byte("x"),
				"connection.json":        []byte("{}"),
			})
			// The peer keeps each file's mode from the tar header.
			require.NoError(t, os.Chmod(filepath.Join(src, "lib/server"), 0o700))
			require.NoError(t, os.Chmod(filepath.Join(src, "data/config.json"), 0o666))
			require.NoError(t, os.Chmod(filepath.Join(src, "chaincode"), 0o775))
			require.NoError(t, os.Mkdir(filepath.Join(src, "empty"), 0o777))
			out := t.TempDir()
			require.NoError(t, InstallTree(src, c.rel, out, nil))

			entry, err := os.ReadFile(filepath.Join(out, layout.EntryFile))
			require.NoError(t, err)
			assert.Equal(t, c.entry+"\n", string(entry))
			want := map[string]string{
				".":                      "drwxr-xr-x",
				"META-INF":               "drwxr-xr-x",
				"META-INF/statedb":       "drwxr-xr-x",
				"META-INF/statedb/x.txt": "-rw-r--r-- x",
				"bin":                    "drwxr-xr-x",
				"bin/start":              "-rw-r--r-- #!/bin/sh\nexec ./lib/server\n",
				"chaincode":              "-rwxr-xr-x " + binary,
				"connection.json":        "-rw-r--r-- {}",
				"data":                   "drwxr-xr-x",
				"data/config.json":       `-rw-r--r-- {"a":1}`, // no longer writable by group and others
				"empty":                  "drwxr-xr-x",
				"lib":                    "drwxr-xr-x",
				"lib/server":             "-rwx------ " + binary, // the owner's execute bit kept
			}
			if c.entry == "bin/start" {
				want["bin/start"] = "-rwxr-xr-x #!/bin/sh\nexec ./lib/server\n" // the entry point is made executable
			}
			assert.Equal(t, want, readTree(t, filepath.Join(out, layout.TreeDir)))
			assertOnly(t, out, layout.EntryFile, layout.TreeDir)
		})
	}
}

func TestModeKeepsTheOwnersExecuteBitAndNoWriteForOthers(t *testing.T) {
	for perm, want := range map[fs.FileMode][2]fs.FileMode{
		0o644: {0o644, 0o755}, 0o755: {0o755, 0o755}, 0o777: {0o755, 0o755}, 0o700: {0o700, 0o700},
		0o600: {0o600, 0o700}, 0o000: {0o600, 0o700}, 0o666: {0o644, 0o755}, 0o444: {0o644, 0o755},
	} {
		assert.Equal(t, want[0], Mode(perm, false), "%04o", perm)
		assert.Equal(t, want[1], Mode(perm, true), "%04o as the entry point", perm)
	}
}

func TestInstallTreeRefusesTheEntryPoint(t *testing.T) {
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
		{name: "missing interpreter", rel: "start", is: ErrNoInterpreter,
			setup: func(t *testing.T, src string) {
				require.NoError(t, os.WriteFile(filepath.Join(src, "start"), []byte("#!/nonexistent/node\n"), 0o755))
			},
			want: "start: starts with #!/nonexistent/node, which is not installed on this peer; hint: install it in the peer's image"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := pkg(t, map[string][]byte{"bin/server": script})
			if c.setup != nil {
				c.setup(t, src)
			}
			out := t.TempDir()
			err := InstallTree(src, c.rel, out, nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), src, "errors name files relative to the package")
			assert.NotContains(t, err.Error(), "\n")
			assert.NotContains(t, err.Error(), "\x00")
			assert.Less(t, len(err.Error()), 400, "a long path is shortened, not echoed")
			if c.is != nil {
				assert.ErrorIs(t, err, c.is)
			}
			assertOnly(t, out) // a bad entry point is refused before anything is written
		})
	}
}

func TestInstallTreeRefusesWhatThePeerNeverUnpacks(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, src string)
		want  string
	}{
		{"symbolic link to a file", func(t *testing.T, src string) {
			require.NoError(t, os.Symlink("chaincode", filepath.Join(src, "lib/alias")))
		}, "lib/alias: expected a regular file or folder, found a symbolic link; hint: pack the file itself, not a link to it (tar --dereference)"},
		{"symbolic link leading out", func(t *testing.T, src string) {
			require.NoError(t, os.Symlink("/etc", filepath.Join(src, "lib/etc")))
		}, "lib/etc: expected a regular file or folder, found a symbolic link"},
		{"named pipe", func(t *testing.T, src string) {
			if err := mkfifo(filepath.Join(src, "lib/pipe")); err != nil {
				t.Skipf("cannot make a FIFO here: %v", err)
			}
		}, "lib/pipe: expected a regular file or folder, found a named pipe; hint: a binary package carries only regular files and folders"},
		{"device", func(t *testing.T, src string) {
			if err := mknodNull(filepath.Join(src, "lib/null")); err != nil {
				t.Skipf("cannot make a device here (needs root): %v", err)
			}
		}, "lib/null: expected a regular file or folder, found a device"},
		{"socket", func(t *testing.T, src string) {
			if err := mksocket(filepath.Join(src, "lib/sock")); err != nil {
				t.Skipf("cannot make a socket here: %v", err)
			}
		}, "lib/sock: expected a regular file or folder, found a socket"},
		{"name with a newline", func(t *testing.T, src string) {
			require.NoError(t, os.Symlink("x", filepath.Join(src, "lib/a\nb")))
		}, `"lib/a\nb": expected a regular file or folder, found a symbolic link`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := pkg(t, map[string][]byte{"chaincode": []byte("#!/bin/sh\n"), "lib/z": []byte("z")})
			c.setup(t, src)
			for _, install := range []func() error{
				func() error { return InstallTree(src, "chaincode", t.TempDir(), nil) },
				func() error { return CheckTree(src, "chaincode", nil) },
			} {
				err := install()
				require.Error(t, err)
				assert.Equal(t, c.want, err.Error()[:min(len(err.Error()), len(c.want))])
				assert.NotContains(t, err.Error(), "\n")
			}
		})
	}
}

func TestInstallTreeLimits(t *testing.T) {
	t.Run("entries", func(t *testing.T) {
		src := fastTempDir(t)
		require.NoError(t, os.WriteFile(filepath.Join(src, "chaincode"), []byte("#!/bin/sh\n"), 0o755))
		// MaxEntries in all, chaincode included: accepted.
		for i := 0; i < MaxEntries-2; i++ {
			require.NoError(t, os.WriteFile(filepath.Join(src, fmt.Sprintf("f%05d", i)), nil, 0o644))
		}
		require.NoError(t, os.Mkdir(filepath.Join(src, "d"), 0o755))
		require.NoError(t, CheckTree(src, "chaincode", nil))
		// One more folder: refused, by build and lint alike.
		require.NoError(t, os.Mkdir(filepath.Join(src, "e"), 0o755))
		want := "code.tar.gz: holds more than 10000 files and folders, the most a binary package may install; hint: leave out what the chaincode does not need at run time (tests, sources, caches)"
		err := CheckTree(src, "chaincode", nil)
		require.Error(t, err)
		assert.Equal(t, want, err.Error())
		out := t.TempDir()
		err = InstallTree(src, "chaincode", out, nil)
		require.Error(t, err)
		assert.Equal(t, want, err.Error())
		assertOnly(t, out) // refused before anything is written
	})
	t.Run("bytes", func(t *testing.T) {
		src := pkg(t, map[string][]byte{"chaincode": []byte("#!/bin/sh\n")}) // 10 bytes
		// A sparse file: the limit is on sizes, which cost no disk here.
		big := filepath.Join(src, "big")
		require.NoError(t, os.WriteFile(big, nil, 0o644))
		require.NoError(t, os.Truncate(big, MaxBytes-10))
		require.NoError(t, CheckTree(src, "chaincode", nil))
		require.NoError(t, os.WriteFile(filepath.Join(src, "one-more"), []byte("x"), 0o644))
		want := "code.tar.gz: holds more than 1 GiB of files, the most a binary package may install"
		err := CheckTree(src, "chaincode", nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), want)
		out := t.TempDir()
		err = InstallTree(src, "chaincode", out, nil)
		require.Error(t, err)
		assert.Contains(t, err.Error(), want)
		assertOnly(t, out) // refused before anything is written
	})
}

// fastTempDir is a temporary folder on tmpfs when /dev/shm offers one:
// creating 10,000 files on a busy shared disk takes seconds.
func fastTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "extbuilder-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestInstallTreeWarnsOfForeignELFFiles(t *testing.T) {
	host := hostTarget(t)
	other := goarchTargets[otherArch()]
	files := map[string][]byte{
		"chaincode":     elfFile(host, elf.ELFOSABI_NONE, elf.ET_EXEC),
		"lib/native.so": elfFile(host, elf.ELFOSABI_NONE, elf.ET_DYN),
		"README":        []byte("not ELF at all, but long enough to be read"),
	}
	for i := 0; i < 7; i++ {
		files[fmt.Sprintf("node_modules/m%d/addon.node", i)] = elfFile(other, elf.ELFOSABI_NONE, elf.ET_DYN)
	}
	src := pkg(t, files)
	var warnings []string
	warn := func(format string, a ...any) { warnings = append(warnings, fmt.Sprintf(format, a...)) }
	require.NoError(t, InstallTree(src, "chaincode", t.TempDir(), warn))
	require.Len(t, warnings, 6)
	assert.Equal(t, "node_modules/m0/addon.node: is an ELF file for "+otherArch()+", not "+runtime.GOARCH+
		" (the architecture of this peer): the chaincode cannot run or load it here", warnings[0])
	assert.Equal(t, "2 more ELF files in the package are for another architecture than "+runtime.GOARCH, warnings[5])
}

func TestInstallTreeWriteErrorNamesTheOutputFolder(t *testing.T) {
	src := pkg(t, map[string][]byte{"chaincode": []byte("#!/bin/sh\n")})
	out := filepath.Join(t.TempDir(), "gone") // the output folder vanished
	err := InstallTree(src, "chaincode", out, nil)
	require.Error(t, err)
	assert.Equal(t, "BUILD_OUTPUT_DIR: cannot write tree: no such file or directory", err.Error())
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestInstallTreeRefusesAFIFOEntryPointWithoutHanging(t *testing.T) {
	src := pkg(t, nil)
	if err := mkfifo(filepath.Join(src, "chaincode")); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	err := InstallTree(src, "chaincode", t.TempDir(), nil)
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
