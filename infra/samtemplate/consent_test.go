package samtemplate_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/daifuku/daifuku/infra/samtemplate"
)

// The retention rule of docs/consent.md: consent records are kept as long
// as the shop runs (特定電子メール法 asks for at least a month after the
// last mail sent on them, a year in some cases). So nothing may expire or
// delete them: the table has no TTL and is retained when the stack is
// deleted, no function may update or delete its items, and the only code
// that touches it adds and reads.
func TestConsentRecordsAreNeverExpiredOrDeleted(t *testing.T) {
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	table, ok := tpl.Resources["ConsentTable"]
	if !ok {
		t.Fatal("no ConsentTable")
	}
	var props map[string]yaml.Node
	if err := table.Properties.Decode(&props); err != nil {
		t.Fatal(err)
	}
	if _, ttl := props["TimeToLiveSpecification"]; ttl {
		t.Error("ConsentTable has a TTL: DynamoDB would delete consent records")
	}
	if table.DeletionPolicy != "Retain" {
		t.Errorf("ConsentTable DeletionPolicy %q, want Retain", table.DeletionPolicy)
	}
	writers := 0
	for _, fn := range tpl.OfType("AWS::Serverless::Function") {
		var fp struct {
			Policies []map[string]yaml.Node `yaml:"Policies"`
		}
		node := tpl.Resources[fn].Properties
		if err := node.Decode(&fp); err != nil {
			t.Fatal(err)
		}
		for _, p := range fp.Policies {
			for name, node := range p {
				if name != "Statement" {
					var v struct {
						TableName yaml.Node `yaml:"TableName"`
					}
					if node.Decode(&v) == nil && v.TableName.Value == "ConsentTable" {
						t.Errorf("%s: %s on ConsentTable: it may update or delete consent records", fn, name)
					}
					continue
				}
				var stmts []struct {
					Action   yaml.Node `yaml:"Action"`
					Resource yaml.Node `yaml:"Resource"`
				}
				if err := node.Decode(&stmts); err != nil {
					t.Fatal(err)
				}
				for _, st := range stmts {
					if !strings.HasPrefix(st.Resource.Value, "ConsentTable") {
						continue
					}
					var actions []string
					if st.Action.Decode(&actions) != nil {
						actions = []string{st.Action.Value}
					}
					if slices.Contains(actions, "dynamodb:PutItem") {
						writers++
					}
					for _, a := range actions {
						if !slices.Contains([]string{"dynamodb:PutItem", "dynamodb:Query"}, a) {
							t.Errorf("%s may %s consent records; only PutItem and Query", fn, a)
						}
					}
				}
			}
		}
	}
	// Every function that writes customers writes their consent records with them.
	if writers != 4 {
		t.Errorf("%d functions may add consent records, want 4 (api, order, webhook, schedule)", writers)
	}
	// The store names the table in one file, which neither deletes nor expires.
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "shared", "adapters", "dynamo", "*.go"))
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		uses := strings.Contains(string(src), "tables.Consent")
		switch base := filepath.Base(f); {
		case uses && base != "consent.go" && !strings.HasSuffix(base, "_test.go"):
			t.Errorf("%s touches the consent records; keep it to consent.go", base)
		case base == "consent.go" && (strings.Contains(string(src), "Delete") || strings.Contains(string(src), "expires_at")):
			t.Errorf("consent.go deletes or expires consent records")
		}
	}
}
