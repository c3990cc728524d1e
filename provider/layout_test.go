package provider_test

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/backupflow/backupflow/provider"
)

// notDrivers are the directories under provider/ that the layout rules do
// not apply to, each with the reason. Every other directory holding a
// provider.Driver implementation is a driver package and is checked, so a
// new driver is held to the layout without being listed anywhere.
var notDrivers = map[string]string{
	// The conformance harness every driver's conformance_test.go runs.
	"providertest": "not a driver",
	// Plumbing the Huawei-family drivers (taurusdb, otcrds) share; it keeps
	// their file names where the roles exist, but has no Driver of its own.
	"huaweicloud": "shared plumbing",
	// The in-process provider for tests: a fake cloud and its driver in one
	// file, with no cloud behind it and so no provider docs.
	"memory": "in-process test provider",
	// The typed view of docs/providers/taurusdb.md for tests.
	"taurusdb/doctables": "test helper",
}

// layoutFiles are the files every driver package has, each with one role.
var layoutFiles = []string{"driver.go", "config.go", "errors.go", "rules.go", "conformance_test.go"}

// docHeadings are the sections of every driver's package doc, in driver.go.
var docHeadings = []string{"API calls", "Idempotency and ownership", "Cancel", "Errors", "Limits"}

// providerDocSections are the second-level headings every
// docs/providers/<name>.md has: the calls and their public documents, the
// request constraints, the states read, the error codes, how ownership is
// proven, and the guesses gathered in one place.
var providerDocSections = []string{
	"APIs used",
	"Request constraints the driver enforces",
	"States",
	"Error codes",
	"Ownership",
	"Guesses",
}

// parsedDir is the non-test Go files of one directory.
type parsedDir map[string]*ast.File

func parseDir(t *testing.T, dir string) parsedDir {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := parsedDir{}
	fset := token.NewFileSet()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = f
	}
	return out
}

// implementsDriver reports whether a type declared in the files has a
// method of every name provider.Driver has.
func (p parsedDir) implementsDriver() bool {
	methods := map[string]map[string]bool{}
	for _, f := range p {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || len(fn.Recv.List) == 0 {
				continue
			}
			recv := receiverName(fn.Recv.List[0].Type)
			if methods[recv] == nil {
				methods[recv] = map[string]bool{}
			}
			methods[recv][fn.Name.Name] = true
		}
	}
	iface := reflect.TypeFor[provider.Driver]()
	for _, have := range methods {
		all := true
		for i := range iface.NumMethod() {
			all = all && have[iface.Method(i).Name]
		}
		if all {
			return true
		}
	}
	return false
}

func receiverName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return receiverName(e.X)
	case *ast.IndexExpr:
		return receiverName(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// declares reports whether file declares a type, function, variable or
// method name (recv "" for all but a method).
func (p parsedDir) declares(file, recv, name string) bool {
	f := p[file]
	if f == nil {
		return false
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			got := ""
			if d.Recv != nil && len(d.Recv.List) > 0 {
				got = receiverName(d.Recv.List[0].Type)
			}
			if d.Name.Name == name && got == recv {
				return true
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					if recv == "" && s.Name.Name == name {
						return true
					}
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if recv == "" && n.Name == name {
							return true
						}
					}
				}
			}
		}
	}
	return false
}

// driverDirs lists the directories under provider/ (this directory) that
// implement provider.Driver, and every one that does, notDrivers included.
func driverDirs(t *testing.T) (drivers, implementers []string) {
	t.Helper()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || path == "." {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if !parseDir(t, path).implementsDriver() {
			return nil
		}
		rel := filepath.ToSlash(path)
		implementers = append(implementers, rel)
		if _, skip := notDrivers[rel]; !skip {
			drivers = append(drivers, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(drivers)
	return drivers, implementers
}

func TestDriverPackagesShareOneLayout(t *testing.T) {
	drivers, implementers := driverDirs(t)
	// The discovery must see the in-process driver, which it then skips, and
	// at least one cloud driver: a discovery that finds nothing checks nothing.
	if !contains(implementers, "memory") {
		t.Fatalf("driver discovery does not see provider/memory's Driver; found %v", implementers)
	}
	if len(drivers) == 0 {
		t.Fatal("no driver package found under provider/")
	}
	for _, dir := range drivers {
		t.Run(dir, func(t *testing.T) {
			for _, f := range layoutFiles {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("provider/%s has no %s (every driver package has %s)", dir, f, strings.Join(layoutFiles, ", "))
				}
			}
			p := parseDir(t, dir)
			roles := []struct{ file, recv, name, role string }{
				{"driver.go", "", "Driver", "the Driver type"},
				{"config.go", "", "Config", "the Config type"},
				{"config.go", "", "New", "New(Config)"},
				{"config.go", "Config", "check", "the config check, func (c Config) check() error"},
				{"errors.go", "", "classify", "classify, the mapping of the SDK's errors into the taxonomy"},
				{"rules.go", "", "parse", "parse, which enforces the documented request constraints"},
				{"rules.go", "", "validate", "validate, the config-free validation register.go registers and Validate runs"},
			}
			for _, r := range roles {
				if !p.declares(r.file, r.recv, r.name) {
					t.Errorf("provider/%s/%s does not declare %s", dir, r.file, r.role)
				}
			}
			for name, f := range p {
				if name != "driver.go" && f.Doc != nil {
					t.Errorf("provider/%s/%s has a package doc comment; it belongs in driver.go only", dir, name)
				}
			}
			f := p["driver.go"]
			if f == nil || f.Doc == nil {
				t.Errorf("provider/%s/driver.go has no package doc comment", dir)
				return
			}
			lines := map[string]bool{}
			for _, l := range strings.Split(f.Doc.Text(), "\n") {
				lines[strings.TrimSpace(l)] = true
			}
			for _, h := range docHeadings {
				if !lines["# "+h] {
					t.Errorf("the package doc of provider/%s lacks the heading %q (sections: %s)", dir, "# "+h, strings.Join(docHeadings, ", "))
				}
			}
		})
	}
}

func TestEveryDriverHasItsProviderDoc(t *testing.T) {
	drivers, _ := driverDirs(t)
	for _, dir := range drivers {
		t.Run(dir, func(t *testing.T) {
			name := filepath.Base(dir)
			page := filepath.Join("..", "docs", "providers", name+".md")
			headings, links, guessItems, err := readProviderDoc(page)
			if err != nil {
				t.Fatalf("docs/providers/%s.md: %v (every driver has one)", name, err)
			}
			for _, s := range providerDocSections {
				if !contains(headings, s) {
					t.Errorf("docs/providers/%s.md has no section %q (## %s); sections: %s", name, s, s, strings.Join(providerDocSections, ", "))
				}
			}
			if links == 0 {
				t.Errorf("docs/providers/%s.md links to no public document (https://...)", name)
			}
			if guessItems == 0 {
				t.Errorf("docs/providers/%s.md: the Guesses section lists no guess", name)
			}
		})
	}
}

// readProviderDoc returns the second-level headings of a provider page, how
// many https links it has and how many list items its Guesses section holds.
func readProviderDoc(path string) (headings []string, links, guessItems int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	section, fenced := "", false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		links += strings.Count(line, "https://")
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = strings.TrimSpace(h)
			headings = append(headings, section)
			continue
		}
		if strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "###") {
			section = "" // a first-level heading ends any section
			continue
		}
		if section == "Guesses" && strings.HasPrefix(strings.TrimSpace(line), "- ") {
			guessItems++
		}
	}
	return headings, links, guessItems, sc.Err()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
