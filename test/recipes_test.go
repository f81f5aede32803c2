//go:build linux

package test

import (
	"archive/zip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/extbuilder/extbuilder/internal/bindir"
	"github.com/extbuilder/extbuilder/test/peersim"
)

// The recipes of docs/binary-packages.md, each packed with `extbuilder
// package --type binary --dir DIR --entry PATH`, installed through peersim
// and launched from the build cache through bin/run as the peer launches
// it, where this machine has the runtime. Each program records what it saw
// in the file RECIPE_RECORD names.

// recipe is one packed and installed recipe.
type recipe struct {
	in *installed
}

// packRecipe packs dir with the operator tool and installs the package.
// packRecipe packs dir and installs it; env are settings of the peer's
// environment, each propagated to the builder (the sandbox's, for a
// runtime outside the system folders).
func packRecipe(t *testing.T, label, dir, entry string, env ...string) *recipe {
	t.Helper()
	out := filepath.Join(t.TempDir(), label+".tgz")
	cmd := exec.Command(toolPath(), "package", "--type", "binary", "--label", label, "--dir", dir, "--entry", entry, "-o", out)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("extbuilder package: %v: %s", err, msg)
	}
	tgz, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := peersim.ParsePackage(tgz)
	if err != nil {
		t.Fatal(err)
	}
	var propagate []string
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		propagate = append(propagate, name)
	}
	in := installPackage(t, pkg, propagate, env...)
	checkSteps(t, installCase{name: label}, in)
	if in.res.CachedBld == "" {
		t.Fatalf("nothing in the build cache: %v", in.err)
	}
	return &recipe{in: in}
}

// launch starts the recipe through bin/run with a mutual TLS endpoint in
// the peer's role, waits for its record, stops it with SIGTERM as the peer
// does and returns the record, whether the peer endpoint saw the package
// ID, and run's exit status.
func (r *recipe) launch(t *testing.T, startup time.Duration) (rec map[string]string, sawID bool, exit int) {
	t.Helper()
	run, _, seen := launchTLS(t, r.in)
	end := time.Now().Add(startup)
	for rec == nil {
		for _, line := range run.Stderr() {
			if data, ok := strings.CutPrefix(line, "recipe-record "); ok && json.Unmarshal([]byte(data), &rec) != nil {
				t.Fatalf("malformed record %q", data)
			}
		}
		if rec != nil {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the chaincode recorded nothing within %s; run's stderr: %q", startup, run.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case id := <-seen:
		sawID = id == r.in.pkg.ID
	default:
	}
	if killed := run.Stop(peersim.StopGrace); killed {
		t.Errorf("run did not stop within the peer's grace period; stderr %q", run.Stderr())
	}
	return rec, sawID, run.ExitCode()
}

func (r *recipe) tree() string { return filepath.Join(r.in.res.CachedBld, "tree") }

// copyTree copies the regular files of src into dst, modes kept.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func needProgram(t *testing.T, name string) {
	t.Helper()
	for _, dir := range []string{"/usr/local/bin", "/usr/bin", "/bin"} { // the peer's PATH in these tests
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return
		}
	}
	t.Skipf("%s is not installed on this machine (not in /usr/local/bin:/usr/bin:/bin); its recipe needs it on the peer", name)
}

func TestRecipeNodeJS(t *testing.T) {
	needProgram(t, "node")
	t.Parallel()
	r := packRecipe(t, "node-recipe_1.0", filepath.Join("testdata", "recipes", "node"), "index.js")
	rec, sawID, exit := r.launch(t, 30*time.Second)
	if rec["cwd"] != r.tree() || rec["greeting"] != "hello from node_modules" || rec["dial"] != "ok" || !sawID {
		t.Errorf("the Node.js chaincode saw %q (peer endpoint saw the package ID: %v); want it in %s, with its module, connected", rec, sawID, r.tree())
	}
	if exit != 0 {
		t.Errorf("run exited %d, want the chaincode's 0 (it exits on SIGTERM)", exit)
	}
}

func TestRecipeJava(t *testing.T) {
	needProgram(t, "java")
	needProgram(t, "javac")
	t.Parallel()
	app := filepath.Join(t.TempDir(), "app")
	src := filepath.Join("testdata", "recipes", "java")
	copyTree(t, filepath.Join(src, "conf"), filepath.Join(app, "conf"))
	copyTree(t, filepath.Join(src, "start"), filepath.Join(app, "start"))
	classes := t.TempDir()
	if msg, err := exec.Command("javac", "-d", classes, filepath.Join(src, "src", "App.java")).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v: %s", err, msg)
	}
	writeJar(t, filepath.Join(app, "app.jar"), "App", filepath.Join(classes, "App.class"))

	r := packRecipe(t, "java-recipe_1.0", app, "start")
	rec, _, exit := r.launch(t, 60*time.Second)
	if rec["cwd"] != r.tree() || rec["greeting"] != "hello from conf/" || rec["id"] != r.in.pkg.ID || !strings.HasPrefix(rec["args"], "-peer.address=") {
		t.Errorf("the Java chaincode saw %q; want it in %s, with its conf/ file, the package ID and run's flag", rec, r.tree())
	}
	if exit != 128+int(syscall.SIGTERM) {
		t.Errorf("run exited %d, want 143: the JVM ends on the SIGTERM run passes on", exit)
	}
}

// writeJar writes an executable jar holding one class.
func writeJar(t *testing.T, jar, mainClass, class string) {
	t.Helper()
	f, err := os.Create(jar)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range map[string]string{
		"META-INF/MANIFEST.MF": "Manifest-Version: 1.0\r\nMain-Class: " + mainClass + "\r\n\r\n",
	} {
		w, err := zw.Create(name)
		if err == nil {
			_, err = w.Write([]byte(body))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(class)
	if err != nil {
		t.Fatal(err)
	}
	w, err := zw.Create(filepath.Base(class))
	if err == nil {
		_, err = w.Write(data)
	}
	if err != nil || zw.Close() != nil || f.Close() != nil {
		t.Fatal("writing the jar", err)
	}
}

func TestRecipeGoWithAConfigFile(t *testing.T) {
	t.Parallel()
	app := filepath.Join(t.TempDir(), "app")
	copyTree(t, filepath.Join("testdata", "recipes", "go"), app)
	if err := bindir.GoBuild("..", filepath.Join(app, "mycc"), []string{"./test/testdata/recipes/gocc"}); err != nil {
		t.Fatal(err)
	}
	r := packRecipe(t, "go-recipe_1.0", app, "mycc")
	rec, sawID, exit := r.launch(t, 30*time.Second)
	if rec["cwd"] != r.tree() || rec["greeting"] != "hello from config/settings.json" || rec["dial"] != "ok" || !sawID {
		t.Errorf("the Go chaincode saw %q (peer endpoint saw the package ID: %v); want it in %s, with its configuration, connected", rec, sawID, r.tree())
	}
	if exit != 0 {
		t.Errorf("run exited %d, want the chaincode's 0", exit)
	}
}
