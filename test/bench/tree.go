//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// Binary packages carry their whole program: build installs the package's
// tree, and should do it close to cp's speed. Two trees, each laid out as
// the peer unpacks it (no peersim install: packing 500 MiB in memory would
// cost more than the figure), built again into fresh folders, alternating
// with cp -r of the same source folder.
const (
	treeFiles     = 10000     // files and folders of the small-file package (build's limit)
	treeFileSize  = 1 << 10   // bytes of each small file
	treeFolders   = 100       // folders the small files are spread over
	treeBigFile   = 500 << 20 // the single file of the other package
	treeCopyRatio = 0.8       // budget: build's throughput over cp's
)

type treeLoad struct {
	name, what  string
	src, meta   string
	bytes       int64
	entries     int
	buildOutput string
	cpOutput    string
}

// treeLoads writes the two packages' source folders under scratch. The
// entry point is the no-op ELF (the 500 MiB file is the no-op padded), so
// build's checks pass as they would for a real chaincode.
func treeLoads(scratch, noop string) ([]treeLoad, error) {
	exe, err := os.ReadFile(noop)
	if err != nil {
		return nil, err
	}
	small := treeLoad{name: "tree-10000-files", src: filepath.Join(scratch, "tree-small", "src"), entries: treeFiles}
	// bin/ and bin/chaincode, the folders, and files up to the limit.
	nFiles := treeFiles - 2 - treeFolders
	small.what = fmt.Sprintf("binary package: %d files of %d bytes in %d folders, and the entry point", nFiles, treeFileSize, treeFolders)
	body := make([]byte, treeFileSize)
	for i := 0; i < nFiles; i++ {
		dir := filepath.Join(small.src, fmt.Sprintf("lib%03d", i%treeFolders))
		if i < treeFolders {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%05d.js", i)), body, 0o644); err != nil {
			return nil, err
		}
		small.bytes += treeFileSize
	}
	big := treeLoad{name: "tree-500MiB-file", src: filepath.Join(scratch, "tree-big", "src"),
		what: "binary package: one 500 MiB file, the entry point", bytes: treeBigFile, entries: 2}
	loads := []*treeLoad{&small, &big}
	for _, l := range loads {
		if err := os.MkdirAll(filepath.Join(l.src, "bin"), 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(small.src, "bin", "chaincode"), exe, 0o755); err != nil {
		return nil, err
	}
	small.bytes += int64(len(exe))
	f, err := os.OpenFile(filepath.Join(big.src, "bin", "chaincode"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return nil, err
	}
	// Written in full, not sparse: a copy of holes would measure nothing.
	chunk := make([]byte, 8<<20)
	copy(chunk, exe)
	for n := 0; n < treeBigFile; n += len(chunk) {
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return nil, err
		}
		clear(chunk[:len(exe)])
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	for _, l := range loads {
		dir := filepath.Dir(l.src)
		l.meta = filepath.Join(dir, "metadata")
		l.buildOutput, l.cpOutput = filepath.Join(dir, "bld-timed"), filepath.Join(dir, "cp-timed")
		if err := os.Mkdir(l.meta, 0o700); err != nil {
			return nil, err
		}
		md := `{"type":"binary","label":"` + l.name + `","path":"bin/chaincode"}`
		if err := os.WriteFile(filepath.Join(l.meta, "metadata.json"), []byte(md), 0o600); err != nil {
			return nil, err
		}
	}
	return []treeLoad{small, big}, nil
}

// benchTrees times build against cp -r on both packages and prints the
// figures; runs is kept small and there is no warm-up run (the sources are
// in the page cache from being written), as each run writes the whole tree.
func benchTrees(scratch, noop, build, cp string, env []string, runs int) error {
	if runs <= 0 {
		return nil
	}
	loads, err := treeLoads(scratch, noop)
	if err != nil {
		return err
	}
	fmt.Println("Installing a binary package's tree (whole process, fresh output folder, files in the page cache), against cp -r:")
	for _, l := range loads {
		got, err := compare([]invocation{
			{path: build, args: []string{l.src, l.meta, l.buildOutput}, env: env, fresh: []string{l.buildOutput}},
			{path: cp, args: []string{"-r", l.src + "/.", l.cpOutput}, env: env, fresh: []string{l.cpOutput}},
		}, 0, runs)
		if err != nil {
			return err
		}
		mib := float64(l.bytes) / (1 << 20)
		tb, tc := mib/got[0].median().Seconds(), mib/got[1].median().Seconds()
		fmt.Printf("  %s (%s)\n", l.name, l.what)
		per := func(d float64) string { return fmt.Sprintf("%7.0f entries/s", float64(l.entries)/d) }
		fmt.Printf("    build  median %9s  %7.1f MiB/s %s\n", ms(got[0].median()), tb, per(got[0].median().Seconds()))
		fmt.Printf("    cp -r  median %9s  %7.1f MiB/s %s\n", ms(got[1].median()), tc, per(got[1].median().Seconds()))
		fmt.Printf("    build/cp throughput %.2fx   budget >=%.1fx  %s\n", tb/tc, treeCopyRatio, verdict(tb/tc >= treeCopyRatio))
		os.RemoveAll(filepath.Dir(l.src)) // 500 MiB less on the disk for what follows
	}
	fmt.Println()
	return nil
}
