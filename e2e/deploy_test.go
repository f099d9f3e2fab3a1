package e2e

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// No Docker engine runs on our machines: the compose file and the
// devcontainer are checked by parsing and validating them, and the make
// targets that need no Docker are run.

const root = ".."

type composeFile struct {
	Services map[string]struct {
		Image       string   `yaml:"image"`
		Build       any      `yaml:"build"`
		Command     []string `yaml:"command"`
		Ports       []string `yaml:"ports"`
		NetworkMode string   `yaml:"network_mode"`
		Volumes     []string `yaml:"volumes"`
		Environment map[string]string
		EnvFile     []struct {
			Path     string `yaml:"path"`
			Required bool   `yaml:"required"`
		} `yaml:"env_file"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		DependsOn map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

var servicePorts = map[string]string{"idp": "4000", "wiki-as": "5000", "todo-as": "5001", "todo": "3001", "wiki": "3000"}

func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	dockerfile, _ := os.ReadFile(filepath.Join(root, "Dockerfile"))
	buildScript, _ := os.ReadFile(filepath.Join(root, "scripts/build.sh"))
	// The image's binaries are those scripts/build.sh builds, into /out.
	imageBuilds := func(name string) bool {
		return strings.Contains(string(dockerfile), "./scripts/build.sh /out\n") &&
			regexp.MustCompile(`(?m)^  "`+regexp.QuoteMeta(name)+` +[a-z/]+"$`).Match(buildScript)
	}
	initSQL, _ := os.ReadFile(filepath.Join(root, "deploy/mariadb/init.sql"))

	db, ok := c.Services["mariadb"]
	if !ok || len(db.Healthcheck.Test) == 0 {
		t.Fatal("no mariadb service with a health check")
	}
	for name, port := range servicePorts {
		s, ok := c.Services[name]
		if !ok {
			t.Errorf("service %s is missing", name)
			continue
		}
		if len(s.Command) != 1 || s.Command[0] != name || !imageBuilds(name) {
			t.Errorf("%s: command %v is not a binary the Dockerfile builds", name, s.Command)
		}
		if hc := strings.Join(s.Healthcheck.Test, " "); !strings.Contains(hc, "localhost:"+port+"/healthz") {
			t.Errorf("%s: health check %q does not probe port %s", name, hc, port)
		}
		if !slices.Contains(s.Volumes, "debug-key:/var/lib/xaa-debug") || !strings.Contains(string(dockerfile), "DEBUG_TRACE_KEY_FILE=/var/lib/xaa-debug/") {
			t.Errorf("%s does not share the debug console's key file (volume debug-key)", name)
		}
		if s.DependsOn["mariadb"].Condition != "service_healthy" {
			t.Errorf("%s does not wait for a healthy MariaDB", name)
		}
		m := regexp.MustCompile(`@mariadb:3306/(\w+)$`).FindStringSubmatch(s.Environment["DATABASE_URL"])
		if m == nil || !strings.Contains(string(initSQL), "CREATE DATABASE IF NOT EXISTS "+m[1]+" ") {
			t.Errorf("%s: DATABASE_URL %q names no schema that init.sql creates", name, s.Environment["DATABASE_URL"])
		}
		for _, f := range s.EnvFile {
			if _, err := os.Stat(filepath.Join(root, f.Path)); err != nil && f.Required {
				t.Errorf("%s: required env file %s is missing", name, f.Path)
			}
			if _, err := os.Stat(filepath.Join(root, f.Path+".example")); err != nil {
				t.Errorf("%s: env file %s has no template %s.example", name, f.Path, f.Path)
			}
		}
		if name == "idp" {
			for _, p := range servicePorts {
				if !slices.Contains(s.Ports, p+":"+p) {
					t.Errorf("idp does not publish port %s", p)
				}
			}
			if s.Build == nil {
				t.Error("idp does not build the image")
			}
		} else if s.NetworkMode != "service:idp" {
			t.Errorf("%s: network_mode %q, want service:idp (issuers must be the same URL inside and out)", name, s.NetworkMode)
		}
	}
}

func TestDevcontainer(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, ".devcontainer/devcontainer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Image             string                       `json:"image"`
		ForwardPorts      []int                        `json:"forwardPorts"`
		PortsAttributes   map[string]map[string]string `json:"portsAttributes"`
		PostCreateCommand string                       `json:"postCreateCommand"`
		PostStartCommand  string                       `json:"postStartCommand"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("devcontainer.json does not parse: %v", err)
	}
	if !strings.HasPrefix(d.Image, "golang:1.26") {
		t.Errorf("image %q is not a Go 1.26 image", d.Image)
	}
	for _, port := range servicePorts {
		if !slices.ContainsFunc(d.ForwardPorts, func(p int) bool { return strconv.Itoa(p) == port }) || d.PortsAttributes[port]["label"] == "" {
			t.Errorf("port %s is not forwarded with a label", port)
		}
	}
	makefile, _ := os.ReadFile(filepath.Join(root, "Makefile"))
	if target := strings.TrimPrefix(d.PostCreateCommand, "make "); !strings.Contains(string(makefile), "\n"+target+":") {
		t.Errorf("postCreateCommand %q is not a make target", d.PostCreateCommand)
	}
	if script := strings.TrimPrefix(d.PostStartCommand, "bash "); script == d.PostStartCommand || !exists(filepath.Join(root, script)) {
		t.Errorf("postStartCommand %q does not run a script of the repository", d.PostStartCommand)
	}
}

// TestEveryVariableDocumented: each variable a service reads appears in an
// env template.
func TestEveryVariableDocumented(t *testing.T) {
	var templates strings.Builder
	files, _ := filepath.Glob(filepath.Join(root, "env", "*.env.example"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		templates.Write(b)
	}
	read := regexp.MustCompile(`env\.(?:String|URL|Bool|Duration|List|Set|OneOf|Renamed)\("([A-Z0-9_]+)"`)
	found := 0
	_ = filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return nil
		}
		if info.IsDir() && (info.Name() == ".git" || info.Name() == "e2e" || info.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, _ := os.ReadFile(path)
		for _, m := range read.FindAllStringSubmatch(string(src), -1) {
			found++
			if !strings.Contains(templates.String(), m[1]) {
				t.Errorf("%s reads %s, which no env/*.env.example documents", path, m[1])
			}
		}
		return nil
	})
	if found < 20 {
		t.Fatalf("found only %d variables read: the pattern is stale", found)
	}
	for _, prefixed := range []string{"TRUSTED_ISSUER_1", "TRUSTED_ISSUER_1_ALGORITHMS", "TRUSTED_ISSUER_1_JIT_DOMAINS"} {
		if !strings.Contains(templates.String(), prefixed) {
			t.Errorf("%s is not documented", prefixed)
		}
	}
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// makeIn runs a make target in dir (a scratch copy of the repository's
// Makefile, scripts and env templates), with extra environment.
func makeIn(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"--no-print-directory"}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func scratchRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cp := exec.Command("cp", "-r", filepath.Join(root, "Makefile"), filepath.Join(root, "scripts"), filepath.Join(root, "env"), dir)
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("copy: %v %s", err, out)
	}
	// Only the templates: a developer's own env files stay out of the test.
	local, _ := filepath.Glob(filepath.Join(dir, "env", "*.env"))
	for _, f := range local {
		os.Remove(f)
	}
	return dir
}

// TestBuildScript: scripts/build.sh builds the services named into the
// folder given and writes nothing else, alone or together. (Built alone, a
// service was once linked into the repository's root as well, and idp not
// at all: a folder of that name is there.) Run in a scratch copy whose
// services are empty programs.
func TestBuildScript(t *testing.T) {
	dir := scratchRepo(t)
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module scratch\n\ngo 1.24\n")
	folders := map[string]string{"idp": "idp", "wiki-as": "authservers/wiki", "todo-as": "authservers/todo", "todo": "apps/todo", "wiki": "apps/wiki"}
	for _, folder := range folders {
		write(folder+"/main.go", "package main\n\nfunc main() {}\n")
	}
	entries := func() []string {
		var names []string
		des, _ := os.ReadDir(dir)
		for _, de := range des {
			names = append(names, de.Name())
		}
		return names
	}
	before := entries()
	for _, names := range [][]string{{"idp"}, {"todo-as"}, {"wiki", "todo"}, nil} {
		out := t.TempDir()
		cmd := exec.Command(filepath.Join(dir, "scripts", "build.sh"), append([]string{out}, names...)...)
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build.sh %v: %v\n%s", names, err, b)
		}
		want := names
		if want == nil {
			want = slices.Sorted(maps.Keys(folders))
		}
		var got []string
		des, _ := os.ReadDir(out)
		for _, de := range des {
			got = append(got, de.Name())
		}
		if slices.Sort(want); !slices.Equal(got, want) {
			t.Errorf("build.sh %v built %v", names, got)
		}
		if after := entries(); !slices.Equal(after, before) {
			t.Fatalf("build.sh %v left files beside the repository's own: %v, was %v", names, after, before)
		}
	}
}

func TestMakeTargets(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed")
	}
	dir := scratchRepo(t)

	t.Run("help lists every target", func(t *testing.T) {
		out, err := makeIn(t, dir, nil, "help")
		if err != nil {
			t.Fatal(err, out)
		}
		for _, target := range []string{"setup-env", "bootstrap", "resetdb", "dev-all", "dev-okta", "dev-mariadb", "run-idp", "run-wiki-as", "run-todo-as", "run-todo", "run-wiki", "open-apps", "test", "bench", "lint", "help", "rotate-keys"} {
			if !strings.Contains(out, "make "+target+" ") {
				t.Errorf("make help does not list %s", target)
			}
		}
	})
	t.Run("setup-env copies templates without overwriting", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "env", "okta.env"), []byte("MINE=1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := makeIn(t, dir, nil, "setup-env")
		if err != nil {
			t.Fatal(err, out)
		}
		for _, f := range []string{"common.env", "mariadb.env", "compose.env"} {
			if !exists(filepath.Join(dir, "env", f)) {
				t.Errorf("setup-env did not create env/%s", f)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "env", "okta.env")); string(b) != "MINE=1\n" {
			t.Error("setup-env overwrote env/okta.env")
		}
		if !strings.Contains(out, "kept    env/okta.env") {
			t.Errorf("setup-env did not say it kept env/okta.env:\n%s", out)
		}
	})
	t.Run("resetdb asks, and YES=1 erases", func(t *testing.T) {
		data := filepath.Join(dir, "data")
		os.MkdirAll(data, 0o755)
		os.WriteFile(filepath.Join(data, "wiki.db"), []byte("x"), 0o644)
		out, err := makeIn(t, dir, []string{"DATA_DIR=" + data}, "resetdb")
		if err == nil || !exists(filepath.Join(data, "wiki.db")) || !strings.Contains(out, "YES=1") {
			t.Fatalf("without a terminal or YES=1, resetdb erased or did not explain (%v):\n%s", err, out)
		}
		out, err = makeIn(t, dir, []string{"DATA_DIR=" + data, "YES=1"}, "resetdb")
		if err != nil || exists(data) {
			t.Fatalf("YES=1 resetdb: %v, %s", err, out)
		}
	})
	t.Run("open-apps", func(t *testing.T) {
		out, err := makeIn(t, dir, []string{"OPEN=echo"}, "open-apps")
		if err != nil || !strings.Contains(out, "http://localhost:3000/debug") || !strings.Contains(out, "http://localhost:3001") {
			t.Fatalf("open-apps: %v\n%s", err, out)
		}
	})
	t.Run("rotate-keys needs a service", func(t *testing.T) {
		out, err := makeIn(t, dir, nil, "rotate-keys")
		if err == nil || !strings.Contains(out, "name the service") {
			t.Fatalf("rotate-keys without SERVICE: %v\n%s", err, out)
		}
	})
	t.Run("dev-okta refuses example values", func(t *testing.T) {
		os.WriteFile(filepath.Join(dir, "env", "okta.env"), []byte("IDP_ISSUER=https://your-org.oktapreview.com\nWIKI_AS_IDP_CLIENT_ID=\n"), 0o644)
		out, err := makeIn(t, dir, nil, "dev-okta")
		if err == nil || !strings.Contains(out, "example values") {
			t.Fatalf("dev-okta with example values: %v\n%s", err, out)
		}
	})
}
