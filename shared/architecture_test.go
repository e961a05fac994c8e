// Package shared_test keeps the tiers honest. shared/ holds four folders,
// and imports only point inwards:
//
//	domain    types and rules: no SDK, nothing from the other tiers
//	flows     what daifuku does: the domain, and interfaces they declare; no SDK at all
//	adapters  DynamoDB, SQS, LINE, SendGrid, files: the domain and SDKs, never a flow
//	edge      the HTTP API, Lambda handlers and app wiring: anything
//
// and each function's main only wires the edge to lambda.Start.
package shared_test

import (
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/daifuku/daifuku/"

// sdks are the provider and platform SDKs, which only adapters and the edge may use.
var sdks = []string{"github.com/aws/", "github.com/awslabs/", "github.com/line/", "github.com/sendgrid/"}

// forbidden lists, per tier, the import prefixes none of its packages may
// depend on, directly or not.
var forbidden = map[string][]string{
	"domain":   append([]string{module + "shared/flows", module + "shared/adapters", module + "shared/edge", module + "infra"}, sdks...),
	"flows":    append([]string{module + "shared/adapters", module + "shared/edge", module + "infra"}, sdks...),
	"adapters": {module + "shared/flows", module + "shared/edge", module + "infra"},
	"edge":     {module + "infra"},
}

func TestEveryPackageIsInATier(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if _, ok := forbidden[e.Name()]; !ok {
				t.Errorf("shared/%s is in no tier; put it under domain, flows, adapters or edge", e.Name())
			}
		}
	}
}

func TestTiersImportOnlyInwards(t *testing.T) {
	checked := 0
	for tier, bad := range forbidden {
		for _, pkg := range packagesUnder(t, "./"+tier+"/...") {
			checked++
			for _, dep := range deps(t, pkg) {
				for _, b := range bad {
					if strings.HasPrefix(dep, b) {
						t.Errorf("%s (%s) depends on %s", strings.TrimPrefix(pkg, module), tier, dep)
					}
				}
			}
		}
	}
	if checked < 25 {
		t.Errorf("only %d packages checked; the tiers hold more", checked)
	}
}

// A function's main reads its configuration through the edge and hands one
// handler to lambda.Start: no logic of its own.
func TestMainsStayThin(t *testing.T) {
	mains, err := filepath.Glob("../functions/*/main.go")
	if err != nil || len(mains) < 5 {
		t.Fatalf("%d mains found (%v)", len(mains), err)
	}
	allowed := []string{"context", "log", "os", "github.com/aws/aws-lambda-go/lambda", "github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"}
	for _, path := range mains {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if !slices.Contains(allowed, p) && !strings.HasPrefix(p, module+"shared/edge/") {
				t.Errorf("%s imports %s; a main wires the edge to lambda.Start and nothing else", path, p)
			}
		}
		src, _ := os.ReadFile(path)
		if n := strings.Count(string(src), "\n"); n > 40 {
			t.Errorf("%s has %d lines; move its logic into shared/", path, n)
		}
		if strings.Count(string(src), "func ") != 1 {
			t.Errorf("%s declares more than main", path)
		}
	}
}

func packagesUnder(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", pattern).CombinedOutput()
	if err != nil {
		t.Fatalf("go list %s: %v\n%s", pattern, err, out)
	}
	return strings.Fields(string(out))
}

func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
	}
	return strings.Fields(string(out))
}
